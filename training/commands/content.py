"""``advocacy content ...``: what advocates are given to share with a content item."""

from __future__ import annotations

from pathlib import Path

import typer

from training import console
from training.commands.data import DB_HELP

content_app = typer.Typer(help="Content items: suggested share texts.", no_args_is_help=True)


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
