"""``synthetic-screening``: the content screen against violations planted in a synthetic
organisation's content.

Protocol
    The generator (``OrgConfig.violation_rate``, :mod:`features.data.synthetic.violations`)
    plants one violation in a known share of the content (default 20%), of a kind drawn
    uniformly: blocked and held terms (disguised), a pattern, a link to a domain outside the
    allowed ones, a sensitive topic, an e-mail, phone number, card or IBAN, a hostile
    sentence, a body in another language. Every item is screened with the policy (default:
    the shipped example policy, whose terms and domains the generator plants).
Metrics
    ``recall`` per kind: planted items of the kind where the expected detector has a finding.
    ``precision`` per detector: of the items it has a finding on, those planted with a kind
    it should find. ``false_holds``: the share of the items without a planted violation
    that are held or blocked. Goal (issue 17): recall >= 0.95 for every kind, false holds
    <= 2%.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pandas as pd

from features.data.synthetic import OrgConfig, generate
from features.data.synthetic.violations import KINDS
from features.screening.policy import EXAMPLE_POLICY, load_policy
from features.screening.screen import ContentText, Screening, Status, screen
from training.evaluation.report import result

BENCHMARK = "synthetic-screening"
RECALL_GOAL = 0.95
FALSE_HOLD_GOAL = 0.02


def synthetic_screening(
    *,
    employees: int = 500,
    content: int = 2000,
    days: int = 60,
    seed: int = 0,
    rate: float = 0.2,
    policy: Path | str = EXAMPLE_POLICY,
) -> dict[str, object]:
    """Screen a generated organisation's content with planted violations (module docstring)."""
    started = time.perf_counter()
    config = OrgConfig(
        employees=employees, content=content, days=days, seed=seed, violation_rate=rate
    )
    org = generate(config)
    rules = load_policy(policy)
    items = org.tables["content"]
    screened = {
        str(row["content_id"]): screen(rules, ContentText.from_row(row))
        for row in items.to_dict("records")
    }
    seconds = time.perf_counter() - started
    metrics = screening_metrics(screened, org.screening_truth)
    protocol = {
        "employees": employees,
        "content": content,
        "days": days,
        "seed": seed,
        "violation_rate": rate,
        "policy": str(policy),
        "items": len(items),
        "planted": len(org.screening_truth),
        "screen_ms_per_item": round(1000 * seconds / max(len(items), 1), 3),
    }
    return result(BENCHMARK, protocol, {"screen": metrics}, started)


def screening_metrics(screened: dict[str, Screening], truth: pd.DataFrame) -> dict[str, object]:
    """Recall per planted kind, precision per detector, false holds, and the goals' verdict."""
    planted = {str(r["content_id"]): r for r in truth.to_dict("records")}
    found, total = Counter[str](), Counter[str]()
    flagged, right = Counter[str](), Counter[str]()
    clean = held_clean = 0
    for content_id, screening in screened.items():
        detectors = {f.detector for f in screening.findings}
        row = planted.get(content_id)
        for detector in detectors:
            flagged[detector] += 1
            right[detector] += row is not None and row["detector"] == detector
        if row is None:
            clean += 1
            held_clean += screening.status != Status.PASSED
            continue
        total[row["kind"]] += 1
        found[row["kind"]] += row["detector"] in detectors
    recall = {k: round(found[k] / total[k], 4) for k in KINDS if total[k]}
    precision = {d: round(right[d] / flagged[d], 4) for d in sorted(flagged)}
    false_holds = held_clean / clean if clean else 0.0
    return {
        "recall": recall,
        "planted": {k: total[k] for k in KINDS if total[k]},
        "precision": precision,
        "false_holds": round(false_holds, 4),
        "clean_items": clean,
        "goal_met": bool(
            recall
            and min(recall.values()) >= RECALL_GOAL
            and set(recall) == {k for k in KINDS if total[k]}
            and false_holds <= FALSE_HOLD_GOAL
        ),
    }
