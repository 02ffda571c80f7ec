"""``advocacy influencers``: list micro-influencer candidates, record review decisions,
save a fitted scorer, and record the score history.

Where the scorer comes from: ``--model FOLDER`` loads a saved one (``advocacy influencers
fit --out FOLDER``, or any folder written by ``InfluenceScorer.save``); without it the scorer
is fitted on the store on the fly (``training.influence_job.fit_influence``: features as of
the last 30 days' start, labels from those 30 days, candidates scored as of ``--as-of``).
``history`` needs a versioned scorer: ``--model FOLDER`` or the registry's champion.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from training import console

if TYPE_CHECKING:
    from features.data.store import Store
    from recsys.influence import InfluenceScorer

logger = logging.getLogger(__name__)

influencers_app = typer.Typer(
    help="Micro-influencer candidates: list them, review them, their flag rates by group, save a"
    " fitted scorer, record their score history.",
    no_args_is_help=False,
)

DB_HELP = "Database URL (default $ADVOCACY_DB_URL or ./data/advocacy.db)."
MODEL_HELP = "A saved scorer folder (default: fit one on the store now)."
AS_OF_HELP = "Score as of this time (default now; naive times are UTC)."
HORIZON_HELP = "Days of the label window when fitting on the fly."
PAST = {"approve": "approved", "dismiss": "dismissed"}
CSV_FIELDS = (
    "employee_id", "department", "score", "tier", "flagged", "in_band", "followers_max",
    "confidence", "confidence_reason", "reasons", "review", "reviewer", "review_note",
    "review_at", "suppressed",
)  # fmt: skip


def _check_time(as_of: str | None) -> None:
    """A usage error (exit 2) when ``--as-of`` is not a date or time."""
    console.parse_time("--as-of", as_of)


def _scorer(
    store: Store, model: Path | None, as_of: str | None, horizon_days: float
) -> InfluenceScorer:
    """The saved scorer at ``model``, or one fitted on ``store`` as of ``as_of``."""
    from features.data.reader import StoreReader
    from features.data.times import utc
    from features.snapshot import Snapshot
    from recsys.influence import InfluenceScorer
    from training.influence_job import RECOMMENDED_LABELLED, fit_influence

    if model is not None:
        try:
            return InfluenceScorer.load(model)
        except (FileNotFoundError, ValueError) as exc:
            raise console.fail(str(exc)) from None
    snapshot = Snapshot.load(StoreReader(store), utc(as_of or datetime.now(UTC)))
    try:
        return fit_influence(snapshot, horizon_days=horizon_days, min_labelled=RECOMMENDED_LABELLED)
    except ValueError as exc:
        raise console.fail(f"cannot fit the scorer on {store.url}: {exc}", 4) from None


@influencers_app.callback(invoke_without_command=True)
def influencers(
    ctx: typer.Context,
    top: int = typer.Option(20, "--top", min=1, help="How many candidates to list."),
    department: str | None = typer.Option(None, "--department", help="Only this department."),
    network: str | None = typer.Option(
        None, "--network", help="Only advocates with an account on this network."
    ),
    flagged_only: bool = typer.Option(False, "--flagged-only", help="Only flagged candidates."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model: Path | None = typer.Option(None, "--model", help=MODEL_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    horizon_days: float = typer.Option(30.0, "--horizon-days", min=1, help=HORIZON_HELP),
    margin: float = typer.Option(
        0.10, "--margin", min=0, max=1, help="Score rise that re-flags a dismissed candidate."
    ),
) -> None:
    """List candidates: score, tier, flag, reasons, confidence and review state.

    Flagged candidates come first, then by score. Opted-out advocates never appear.
    Exit codes: 2 usage error; 4 the store has nothing to score.
    """
    if ctx.invoked_subcommand is not None:
        return
    if as_json and as_csv:
        raise console.fail("choose one of --json and --csv")
    _check_time(as_of)
    from features.data.store import Store
    from training.influence_candidates import list_candidates

    store = Store.open(db)
    try:
        scorer = _scorer(store, model, as_of, horizon_days)
        try:
            candidates = list_candidates(
                store,
                scorer,
                as_of=as_of,
                top=top,
                department=department,
                network=network,
                flagged_only=flagged_only,
                margin=margin,
            )
        except ValueError as exc:
            raise console.fail(str(exc)) from None
    finally:
        store.dispose()
    rows = [c.to_dict() for c in candidates]
    if as_json:
        moment = as_of or datetime.now(UTC).isoformat()
        console.print_json({"as_of": moment, "candidates": rows, "scorer": scorer.training_})
    elif as_csv:
        print(_csv(rows), end="")
    else:
        _print_table(rows)


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        review = row["review"] or {}
        writer.writerow(
            {
                **{k: row[k] for k in CSV_FIELDS if k in row},
                "confidence": row["confidence"]["level"],
                "confidence_reason": row["confidence"]["reason"],
                "reasons": " | ".join(r["text"] for r in row["reasons"]),
                "review": review.get("decision", ""),
                "reviewer": review.get("reviewer", ""),
                "review_note": review.get("note", ""),
                "review_at": review.get("at", ""),
                "suppressed": review.get("suppressed", ""),
            }
        )
    return out.getvalue()


def _print_table(rows: list[dict]) -> None:
    """One block per candidate: a summary line, then its reasons (readable at any width)."""
    if not rows:
        console.console.print("no candidates match")
        return
    for rank, row in enumerate(rows, start=1):
        review = row["review"]
        state = "not reviewed"
        if review is not None:
            state = f"{PAST[review['decision']]} by {review['reviewer']}: {review['note'] or '-'}"
        if review is not None and review["suppressed"]:
            state += " (not flagged again until the score rises)"
        flag = "[bold green]FLAGGED[/bold green]" if row["flagged"] else "not flagged"
        confidence = row["confidence"]
        console.console.print(
            f"{rank}. [bold]{row['employee_id']}[/bold] ({row['department'] or 'no department'})"
            f"  score {row['score']:.3f}  {row['tier']}  {flag}  {state}",
            soft_wrap=True,
        )
        console.console.print(
            f"   confidence {confidence['level']}: {confidence['reason']}", soft_wrap=True
        )
        for reason in row["reasons"]:
            console.console.print(f"   - {reason['text']}", soft_wrap=True)


@influencers_app.command("review")
def review(
    employee_id: str = typer.Argument(..., help="The advocate's employee id."),
    approve: bool = typer.Option(False, "--approve", help="Approve the candidate."),
    dismiss: bool = typer.Option(False, "--dismiss", help="Dismiss the candidate."),
    note: str = typer.Option("", "--note", help="Why (shown with the candidate)."),
    by: str = typer.Option(..., "--by", help="Who decided."),
    score: float | None = typer.Option(
        None, "--score", min=0, max=1, help="The score at review (default: score it now)."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model: Path | None = typer.Option(None, "--model", help=MODEL_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    horizon_days: float = typer.Option(30.0, "--horizon-days", min=1, help=HORIZON_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the stored decision as JSON."),
) -> None:
    """Store an approve or dismiss decision (with a note and who decided).

    A dismissed candidate is not flagged again until their score rises above the score at
    dismissal by the list's --margin. Exit code 2: bad input, unknown or opted-out advocate.
    """
    if approve == dismiss:
        raise console.fail("give exactly one of --approve and --dismiss")
    _check_time(as_of)
    from features.data.reviews import ReviewError, record_review
    from features.data.store import Store
    from recsys.errors import OptedOutError
    from recsys.ids import UnknownIdError

    store = Store.open(db)
    try:
        if score is None:
            score = _current_score(store, employee_id, model, as_of, horizon_days)
        try:
            stored = record_review(
                store,
                employee_id,
                "approve" if approve else "dismiss",
                note=note,
                reviewer=by,
                score=score,
            )
        except (ReviewError, UnknownIdError, OptedOutError) as exc:
            raise console.fail(str(exc).strip("'\"")) from None
    finally:
        store.dispose()
    payload = {
        "employee_id": stored.employee_id,
        "decision": stored.decision,
        "note": stored.note,
        "reviewer": stored.reviewer,
        "score": stored.score,
        "at": stored.at.isoformat(),
    }
    if as_json:
        console.print_json(payload)
    else:
        console.console.print(
            f"{stored.decision} {stored.employee_id} by {stored.reviewer}"
            f" (score {stored.score if stored.score is None else round(stored.score, 4)})",
            soft_wrap=True,
        )


def _current_score(
    store: Store, employee_id: str, model: Path | None, as_of: str | None, horizon_days: float
) -> float:
    """The advocate's score now, or a usage error when they cannot be scored."""
    from recsys.errors import OptedOutError
    from recsys.ids import UnknownIdError
    from training.influence_candidates import list_candidates

    known = store.key_set("advocates", "employee_id")
    if employee_id not in known:
        raise console.fail(str(UnknownIdError("advocate", [employee_id])).strip("'\""))
    scorer = _scorer(store, model, as_of, horizon_days)
    try:
        found = [
            c for c in list_candidates(store, scorer, as_of=as_of) if c.employee_id == employee_id
        ]
    except OptedOutError as exc:
        raise console.fail(str(exc)) from None
    if not found:
        raise console.fail(
            f"advocate {employee_id} opted out: opted-out advocates are never reviewed"
        )
    return found[0].score


@influencers_app.command("fairness")
def fairness(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model: Path | None = typer.Option(None, "--model", help=MODEL_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    horizon_days: float = typer.Option(30.0, "--horizon-days", min=1, help=HORIZON_HELP),
    margin: float = typer.Option(
        0.10, "--margin", min=0, max=1, help="Score rise that re-flags a dismissed candidate."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Flag rates of the current candidates by department, region and seniority.

    Counts only advocates who did not opt out. Exit code 4: the store has nothing to score.
    """
    from features.data.store import Store
    from training.commands.evaluate import print_fairness
    from training.influence_candidates import candidate_fairness

    _check_time(as_of)
    store = Store.open(db)
    try:
        scorer = _scorer(store, model, as_of, horizon_days)
        report = candidate_fairness(store, scorer, as_of=as_of, margin=margin)
    finally:
        store.dispose()
    if as_json:
        console.print_json(report)
    else:
        print_fairness(report)


@influencers_app.command("fit")
def fit(
    out: Path = typer.Option(..., "--out", help="Folder to save the scorer in."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help="Fit as of (default: the data's end)."),
    horizon_days: float = typer.Option(30.0, "--horizon-days", min=1, help=HORIZON_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the training summary as JSON."),
) -> None:
    """Fit the scorer on the store and save it (manifest.json + arrays.npz, no pickle)."""
    from features.data.reader import StoreReader
    from features.data.store import Store
    from features.data.times import utc
    from features.snapshot import Snapshot
    from training.influence_job import RECOMMENDED_LABELLED, fit_influence

    _check_time(as_of)
    store = Store.open(db)
    try:
        snapshot = Snapshot.load(StoreReader(store), utc(datetime.now(UTC)))
        try:
            scorer = fit_influence(
                snapshot,
                as_of=as_of,
                horizon_days=horizon_days,
                min_labelled=RECOMMENDED_LABELLED,
            )
        except ValueError as exc:
            raise console.fail(f"cannot fit the scorer on {store.url}: {exc}", 4) from None
    finally:
        store.dispose()
    folder = scorer.save(out)
    summary = {"out": str(folder), "calibration": scorer.calibration_, **scorer.training_}
    if as_json:
        console.print_json(summary)
    else:
        console.console.print(
            f"saved the influence scorer to {folder}: {scorer.training_['rows']} labelled rows,"
            f" {scorer.training_['positives']} in the top decile; {scorer.calibration_}",
            soft_wrap=True,
        )


@influencers_app.command("history")
def history(
    every_days: float = typer.Option(14.0, "--every-days", min=0.01, help="Days between scores."),
    since_days: float = typer.Option(
        90.0, "--since-days", min=0, help="How far back the first score is."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The latest time scored (default now; naive times are UTC)."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    model: Path | None = typer.Option(
        None, "--model", help="A saved scorer folder (default: the registry's champion)."
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI of the champion (default as train)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record the score history: the organisation scored as of every --every-days back to
    --since-days ago, one row per advocate and day in the store.

    The scorer is --model's or the registry champion's; rows are stored under its version as
    the service names it (advocacy-influencers@3, or @dir-<digest> for a folder), and a day
    recorded again is replaced. Days before the first interaction are skipped. Exit codes:
    2 usage error; 4 no scorer (no champion in the registry) or nothing to score.
    """
    from features.data.store import Store
    from training.influence_candidates import backfill_scores, backfill_times

    end = console.parse_time("--as-of", as_of) or datetime.now(UTC)
    times = backfill_times(end, every_days=every_days, since_days=since_days)
    scorer, version = _versioned_scorer(model, tracking_uri)
    started = time.perf_counter()
    store = Store.open(db)
    try:
        points = backfill_scores(store, scorer, model_version=version, times=times)
    except ValueError as exc:
        raise console.fail(f"cannot score {store.url}: {exc}", 4) from None
    finally:
        store.dispose()
    seconds = round(time.perf_counter() - started, 3)
    if as_json:
        console.print_json({"model_version": version, "points": points, "seconds": seconds})
        return
    rows = [
        [p["as_of"][:10], p.get("advocates", "-"), p.get("flagged", "-"), p.get("skipped", "")]
        for p in points
    ]
    columns = ["day", "advocates", "flagged", "skipped"]
    console.console.print(console.table("score history", columns, rows))
    console.console.print(f"recorded the scores of {version} in {seconds:.1f} s", soft_wrap=True)


def _versioned_scorer(model: Path | None, tracking_uri: str | None) -> tuple[InfluenceScorer, str]:
    """The scorer of ``model`` or of the registry champion, and its version label as the
    service names it (``serving.model_source``)."""
    from recsys.influence import InfluenceScorer
    from serving.model_source import FolderSource, ModelSource, RegistrySource
    from training.registry import INFLUENCERS

    source: ModelSource = (
        FolderSource(model, INFLUENCERS)
        if model is not None
        else RegistrySource(INFLUENCERS, tracking_uri=tracking_uri)
    )
    version = source.fetch()
    if version is None:
        where = f"at {model}" if model is not None else "in the registry (no champion yet)"
        raise console.fail(f"no {INFLUENCERS} scorer {where}: train one or pass --model", 4)
    try:
        return InfluenceScorer.load(version.path), version.label
    except (FileNotFoundError, ValueError) as exc:
        raise console.fail(str(exc)) from None
