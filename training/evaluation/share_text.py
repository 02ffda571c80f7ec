"""Do colleagues sharing the same item get the same suggested post? (issue 17)

Protocol
    A synthetic organisation (:mod:`features.data.synthetic`, no planted violations). Items:
    approved content whose body has at least 3 sentences, that the screening policy passes
    and that is meant for the network. For each item, ``sharers`` advocates drawn at random
    (seeded) share it in turn; each gets :func:`features.share_text.share_text`:
    ``in_turn`` avoiding the texts of the colleagues before (what the CLI and the service
    do with the store's earlier shares: :func:`~features.share_text.share_texts_in_turn`),
    ``independent`` without them (each suggestion on its own).
Metric
    The share of suggestions whose text equals another suggestion's for the same item
    (pooled over items). Goal: none identical (0.0) in turn.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from features.data.synthetic import OrgConfig, generate
from features.screening.policy import EXAMPLE_POLICY, load_policy
from features.screening.screen import ContentText, Status, screen
from features.share_text import (
    ShareItem,
    Sharer,
    Suggestion,
    sentences,
    share_text,
    share_texts_in_turn,
)

MIN_SENTENCES = 3


def identical_share(
    *,
    employees: int = 500,
    content: int = 200,
    sharers: int = 50,
    seed: int = 0,
    networks: Sequence[str] = ("x", "linkedin"),
    policy: Path | str = EXAMPLE_POLICY,
) -> dict[str, object]:
    """The share of identical suggestions per network, in turn and independent (module
    docstring), with the number of items, refusals and milliseconds per suggestion."""
    org = generate(OrgConfig(employees=employees, content=content, days=30, seed=seed))
    rules = load_policy(policy)
    people = [
        Sharer(str(r["employee_id"]), tuple(r["interests"] or ()), bool(r["opted_out"]))
        for r in org.tables["advocates"].to_dict("records")
    ]
    rng = random.Random(seed)
    items = [_item(r) for r in org.tables["content"].to_dict("records") if _eligible(r)]
    items = [i for i in items if screen(rules, i.text).status == Status.PASSED]
    out: dict[str, object] = {"items": len(items), "sharers": sharers, "seed": seed}
    for network in networks:
        meant = [i for i in items if not i.networks or network in i.networks]
        in_turn: list[list[Suggestion]] = []
        independent: list[list[Suggestion]] = []
        started = time.perf_counter()
        for item in meant:
            group = rng.sample(people, min(sharers, len(people)))
            in_turn.append(share_texts_in_turn(rules, group, item, network))
            independent.append([share_text(rules, s, item, network) for s in group])
        seconds = time.perf_counter() - started
        count = sum(len(g) for g in in_turn)
        out[network] = {
            "items": len(meant),
            "in_turn": _identical(in_turn),
            "independent": _identical(independent),
            "refused": sum(s.text is None for g in in_turn for s in g),
            "ms_per_suggestion": round(1000 * seconds / max(2 * count, 1), 3),
        }
    return out


def _eligible(row: dict[str, object]) -> bool:
    return row["approval_status"] == "approved" and (
        len(sentences(str(row["body"] or ""))) >= MIN_SENTENCES
    )


def _item(row: dict[str, object]) -> ShareItem:
    networks = row["networks"] if isinstance(row["networks"], list) else []
    text = ContentText.from_row(row)
    return ShareItem(str(row["content_id"]), str(row["content_type"]), text, tuple(networks))


def _identical(groups: list[list[Suggestion]]) -> float:
    """Suggestions whose text another suggestion of the same item has, over all given."""
    repeated = total = 0
    for group in groups:
        texts = Counter(s.text for s in group if s.text is not None)
        repeated += sum(n for n in texts.values() if n > 1)
        total += sum(texts.values())
    return round(repeated / total, 4) if total else 0.0
