"""``advocacy advocates at-risk``: the advocates likeliest to stop participating, why, and what
to do about it.

The lapse model is the registry's ``advocacy-lapse`` champion (``advocacy train`` registers
it) or a saved folder (``--model-dir``, written by ``LapseModel.save``). Features are read from
the store as of ``--as-of`` (:func:`features.advocate_activity.read_activity`: events before
it, opted-out advocates left out in the query); the advocates listed are those active in the
60 days before it, likeliest to lapse first. Each has its reasons as text and a suggested
action: when a recommender champion exists, the first 3 items of the advocate's own feed (the
feed the service and the ``pyfunc`` model rank, :func:`training.pyfunc_models.store_ranker`)
as "share something matching your interests: <titles>"; otherwise an action for their first
reason (:func:`recsys.forecast.reason_action`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from training import console
from training.commands.influencers import DB_HELP

if TYPE_CHECKING:
    from features.advocate_activity import LapseRisk
    from recsys.forecast import LapseModel

logger = logging.getLogger(__name__)

advocates_app = typer.Typer(help="Advocates: who is at risk of lapsing.", no_args_is_help=True)

FEED_ITEMS = 3
TRACKING_HELP = "MLflow tracking URI of the registry (default $MLFLOW_TRACKING_URI or embedded)."


@advocates_app.command("at-risk")
def at_risk_command(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Forecast as of this time (default now)."
    ),
    top: int = typer.Option(20, "--top", min=1, help="How many advocates to list."),
    min_probability: float = typer.Option(
        0.0, "--min-probability", min=0.0, max=1.0, help="Only advocates at least this likely."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="A saved lapse model folder (default: the registry champion)."
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
) -> None:
    """List the advocates likeliest to have no activity in the model's horizon, with reasons
    and a suggested action. Opted-out advocates never appear.

    Exit codes: 2 usage error; 4 no lapse model (train one, or pass --model-dir).
    """
    moment = console.parse_time("--as-of", as_of) or datetime.now(UTC)
    from features.advocate_activity import at_risk, forecast_lapse, read_activity
    from features.data.store import Store

    model, source = _lapse_model(model_dir, tracking_uri)
    store = Store.open(db)
    try:
        activity = read_activity(store, moment)
        try:
            risks = forecast_lapse(model, activity)
        except ValueError as exc:
            raise console.fail(str(exc)) from None
        eligible = len(risks)
        risks = at_risk(risks, top=top, min_probability=min_probability)
    finally:
        store.dispose()
    actions = _actions(risks, db, tracking_uri, moment)
    rows = [
        {
            "employee_id": r.employee_id,
            "probability": round(r.probability, 4),
            "reasons": r.reason_rows(),
            **actions[r.employee_id],
        }
        for r in risks
    ]
    if as_json:
        console.print_json(
            {
                "as_of": moment.isoformat(),
                "horizon_days": model.horizon_days,
                "model": source,
                "eligible": eligible,
                "advocates": rows,
            }
        )
    else:
        _print(rows, moment, model.horizon_days, eligible)


def _lapse_model(model_dir: Path | None, tracking_uri: str | None) -> tuple[LapseModel, dict]:
    """The saved model at ``model_dir`` or the registry's champion, and where it came from."""
    from recsys.forecast import LapseModel
    from training.commands.saved_models import folder_or_champion
    from training.registry_reader import LAPSE

    return folder_or_champion(
        LapseModel.load, LAPSE, model_dir, tracking_uri, needs="a few months of history"
    )


def _actions(
    risks: list[LapseRisk], db: str | None, tracking_uri: str | None, moment: datetime
) -> dict[str, dict[str, Any]]:
    """Per advocate: ``action`` text and ``suggested_content`` (their feed's first items when
    a recommender champion exists, else none and a reason-specific action)."""
    from recsys.forecast import feed_action, reason_action

    feeds = _feeds([r.employee_id for r in risks], db, tracking_uri, moment)
    out = {}
    for risk in risks:
        items = feeds.get(risk.employee_id) or []
        if items:
            action = feed_action([i["title"] or i["content_id"] for i in items])
        else:
            action = reason_action(risk.reasons[0][0] if risk.reasons else None)
        out[risk.employee_id] = {"action": action, "suggested_content": items}
    return out


def _feeds(
    ids: list[str], db: str | None, tracking_uri: str | None, moment: datetime
) -> dict[str, list[dict[str, str]]]:
    """The first :data:`FEED_ITEMS` of each advocate's feed from the recommender champion;
    empty without a champion (or a registry)."""
    if not ids:
        return {}
    from recsys.models import load_recommender
    from training.pyfunc_models import store_ranker
    from training.registry_reader import RECOMMENDER, RegistryUnavailableError, champion

    try:
        ref = champion(RECOMMENDER, tracking_uri=tracking_uri)
    except RegistryUnavailableError as exc:
        logger.warning("no feed suggestions: %s", exc)
        return {}
    if ref is None:
        return {}
    ranker = store_ranker(load_recommender(ref.path), db)
    feeds = ranker.feeds(ids, FEED_ITEMS, as_of=moment.timestamp())
    return {
        employee: [{"content_id": i.content_id, "title": i.title} for i in feed.items]
        for employee, feed in zip(ids, feeds, strict=True)
    }


def _print(rows: list[dict], moment: datetime, horizon: float, eligible: int) -> None:
    """One block per advocate: probability, reasons, action."""
    console.console.print(
        f"{len(rows)} of {eligible} active advocates, as of {moment.isoformat()}:"
        f" probability of no activity in the next {horizon:g} days",
        soft_wrap=True,
    )
    for rank, row in enumerate(rows, start=1):
        console.console.print(
            f"{rank}. [bold]{row['employee_id']}[/bold]  {row['probability']:.1%}", soft_wrap=True
        )
        for reason in row["reasons"]:
            console.console.print(f"   - {reason['text']}", soft_wrap=True)
        console.console.print(f"   action: {row['action']}", soft_wrap=True)
