"""``advocacy content ...``: what advocates are given to share with a content item, and how
an item is expected to perform in its first week (``forecast``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from training import console
from training.commands.data import DB_HELP

content_app = typer.Typer(
    help="Content items: suggested share texts, performance forecasts.", no_args_is_help=True
)
TRACKING_HELP = "MLflow tracking URI of the registry (default $MLFLOW_TRACKING_URI or embedded)."


@content_app.command("share-text")
def share_text_command(
    employee_id: str = typer.Argument(..., help="The advocate who shares."),
    content_id: str = typer.Argument(..., help="The content item shared."),
    network: str = typer.Option(..., "--network", help="linkedin, x, facebook, ..."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Screening policy (YAML); default $ADVOCACY_POLICY or the example."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the suggestion as JSON."),
) -> None:
    """A suggested post for one advocate, one content item and one network.

    Within the network's length limit, with the policy's disclosure, hashtags from the
    item's topics and a lead picked for the advocate; colleagues who shared the item
    before get other texts (features.share_text). Exit code 0: a suggestion; 1: none (the
    post would be held or blocked by screening, the content is not approved, ...: the
    reason is printed); 2: bad input (unknown advocate, content or network, bad policy).
    """
    from features.data.store import Store
    from features.screening.policy import PolicyError, resolve_policy
    from features.share_text_source import suggest
    from recsys.errors import FieldError
    from recsys.ids import UnknownIdError

    try:
        rules = resolve_policy(policy)
    except PolicyError as exc:
        raise console.fail(f"--policy {exc}") from None
    store = Store.open(db)
    try:
        found = suggest(store, rules, employee_id, content_id, network)
    except UnknownIdError as exc:
        raise console.fail(str(exc).strip("'\"")) from None
    except FieldError as exc:
        raise console.fail(f"--{exc}") from None
    finally:
        store.dispose()
    if as_json:
        console.print_json(found.to_dict())
    elif found.text is not None:
        console.console.print(found.text, soft_wrap=True, markup=False, highlight=False)
        limit = "no limit" if found.limit is None else f"limit {found.limit}"
        cut = ", lead cut" if found.truncated else ""
        console.errors.print(f"{found.network}: {found.length} characters ({limit}{cut})")
    else:
        console.errors.print(f"no suggestion: {found.reason}", soft_wrap=True, markup=False)
    if found.text is None:
        raise typer.Exit(1)


@content_app.command("forecast")
def forecast_command(
    content_ids: list[str] | None = typer.Argument(
        None, help="Content ids (default: the drafts and the items of the last --days)."
    ),
    days: float = typer.Option(7.0, "--days", min=0.01, help="Without ids: days back."),
    limit: int = typer.Option(50, "--limit", min=1, help="Without ids: items listed at most."),
    as_of: str | None = typer.Option(None, "--as-of", help="Forecast as of this time (now)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="A saved content forecast folder (default: the champion)."
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=TRACKING_HELP),
) -> None:
    """Expected first-week shares, reach and clicks of content items with the model's 80%
    interval, from what is known at their publication (a draft or a scheduled item: now).

    Exit codes: 2 usage error (an unknown content id); 4 no content forecast (train one with
    `advocacy train`, or pass --model-dir).
    """
    from features.content_forecaster import newest_items
    from features.data.store import Store

    moment = console.parse_time("--as-of", as_of) or datetime.now(UTC)
    forecaster, source = _forecaster(model_dir, tracking_uri)
    store = Store.open(db)
    try:
        ids = list(content_ids or ()) or newest_items(store, as_of=moment, days=days, limit=limit)
        try:
            outlooks = forecaster.forecast(store, ids, as_of=moment)
        except KeyError as exc:
            raise console.fail(str(exc).strip("'\"")) from None
    finally:
        store.dispose()
    if as_json:
        console.print_json(
            {
                "as_of": moment.isoformat(),
                "level": forecaster.level,
                "model": source,
                "items": [o.to_dict() for o in outlooks],
            }
        )
        return
    rows = [
        [o.content_id, o.moment.strftime("%Y-%m-%d %H:%M"), *map(_figure, _outcomes(o))]
        for o in outlooks
    ]
    title = f"First-week forecast as of {moment.isoformat()} ({forecaster.level:.0%} intervals)"
    columns = ["content", "inputs as of", "shares", "reach", "clicks"]
    console.console.print(console.table(title, columns, rows))


def _outcomes(outlook: Any) -> list[tuple[float, float, float]]:
    """(expected, lower, upper) of shares, reach and clicks."""
    targets = ("shares", "reach", "clicks")
    return [(outlook.expected[t], outlook.lower[t], outlook.upper[t]) for t in targets]


def _figure(values: tuple[float, float, float]) -> str:
    expected, lower, upper = values
    return f"{expected:.1f} ({lower:.1f}-{upper:.1f})"


def _forecaster(model_dir: Path | None, tracking_uri: str | None) -> tuple[Any, dict]:
    """The saved forecaster at ``model_dir`` or the registry's champion, and where from."""
    from features.content_forecaster import ContentForecaster
    from training.commands.saved_models import folder_or_champion
    from training.registry_reader import CONTENT_FORECAST

    return folder_or_champion(
        ContentForecaster.load,
        CONTENT_FORECAST,
        model_dir,
        tracking_uri,
        needs="a few months of content",
    )
