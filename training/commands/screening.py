"""``advocacy screening``: the content screening queue, a program manager's release or block,
the audit log, and screening what is pending now.

Content is screened when it is imported and when the service picks it up; held content waits
in the queue until a manager releases it (it then goes to feeds) or blocks it. Every decision
is appended to the audit log.
"""

from __future__ import annotations

from pathlib import Path

import typer

from training import console

screening_app = typer.Typer(
    help="Content screening: the queue of held content, release or block it, the audit log.",
    no_args_is_help=True,
)

DB_HELP = "Database URL (default $ADVOCACY_DB_URL or ./data/advocacy.db)."
BY_HELP = "Who decides (recorded in the audit log)."
REASON_HELP = "Why (recorded in the audit log)."


@screening_app.command("queue")
def queue_command(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    status: str = typer.Option("held", "--status", help="held, blocked, released or passed."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Content with this screening status (default: held, waiting for a decision), newest
    first, with the findings."""
    from features.data.store import Store
    from features.screening.records import records

    found = records(Store.open(db), status=status)
    payload = [
        {
            "content_id": r.content_id,
            "status": r.status,
            "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat(),
            "reason": r.reason,
            "findings": list(r.findings),
        }
        for r in found
    ]
    if as_json:
        console.print_json(payload)
        return
    rows = [[r["content_id"], r["decided_at"], r["reason"]] for r in payload]
    title = f"{len(rows)} {status} content item(s)"
    console.console.print(console.table(title, ["content", "since", "why"], rows))


@screening_app.command("release")
def release_command(
    content_id: str = typer.Argument(..., help="The held content item."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Release held content: it may reach feeds from the next catalogue refresh."""
    _decide(content_id, "release", by, reason, db)


@screening_app.command("block")
def block_command(
    content_id: str = typer.Argument(..., help="The content item."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Block content: it never reaches a feed (until its text changes and passes)."""
    _decide(content_id, "block", by, reason, db)


@screening_app.command("audit")
def audit_command(
    content_id: str | None = typer.Argument(None, help="One item's history (default: all)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The audit log: every decision (who, when, what, why), oldest first."""
    from features.data.store import Store
    from features.screening.records import audit_log

    entries = audit_log(Store.open(db), content_id)
    if as_json:
        console.print_json(entries)
        return
    rows = [
        [
            e["seq"],
            e["at"],
            e["actor"],
            e["content_id"],
            e["action"],
            e["status_after"],
            e["reason"],
        ]
        for e in entries
    ]
    columns = ["#", "at", "who", "content", "action", "status", "why"]
    console.console.print(console.table("Screening audit log", columns, rows))


@screening_app.command("run")
def run_command(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    policy: Path | None = typer.Option(
        None, "--policy", help="Screening policy (default $ADVOCACY_POLICY or the default)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Screen the content not screened yet, changed, or screened under another policy."""
    from features.data.store import Store
    from features.screening.policy import PolicyError, resolve_policy
    from features.screening.records import screen_pending

    try:
        rules = resolve_policy(policy)
    except PolicyError as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    done = screen_pending(Store.open(db), rules)
    payload = {"screened": done.screened, "by_status": done.by_status, "policy": rules.source}
    if as_json:
        console.print_json(payload)
        return
    counts = ", ".join(f"{n:,} {s}" for s, n in sorted(done.by_status.items())) or "nothing new"
    console.console.print(f"screened {done.screened:,} item(s): {counts}")


def _decide(content_id: str, decision: str, by: str, reason: str, db: str | None) -> None:
    from features.data.store import Store
    from features.screening.records import ScreeningDecisionError, decide
    from recsys.ids import UnknownIdError

    try:
        record = decide(Store.open(db), content_id, decision, by=by, reason=reason)
    except (ScreeningDecisionError, UnknownIdError) as exc:
        console.errors.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.console.print(f"{record.content_id}: {record.status} by {record.decided_by}")
