"""Flag rates by group (department, region, seniority ...), so a skew is visible.

Only the advocates that were scored are counted: opted-out advocates are never scored, so
they appear in no count. Missing group values are counted under ``"(unknown)"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

UNKNOWN = "(unknown)"


def flag_rates(
    flagged: Sequence[bool] | np.ndarray,
    groups: Mapping[str, Sequence[object]],
    *,
    min_group: int = 5,
) -> dict[str, object]:
    """Per dimension and group: advocates, flagged and the rate; plus the overall rate and
    each dimension's ratio of the lowest to the highest rate among groups of at least
    ``min_group`` advocates (1 = even; the "four-fifths rule" would flag < 0.8)."""
    flags = np.asarray(flagged, dtype=bool)
    dimensions: dict[str, object] = {}
    report: dict[str, object] = {
        "advocates": len(flags),
        "flagged": int(flags.sum()),
        "rate": _rate(int(flags.sum()), len(flags)),
        "min_group": min_group,
        "dimensions": dimensions,
    }
    for dimension, values in groups.items():
        if len(values) != len(flags):
            raise ValueError(f"groups[{dimension!r}]: {len(values)} values for {len(flags)} rows")
        labels = np.array([_label(v) for v in values], dtype=object)
        rows = {}
        for group in sorted(set(labels)):
            member = labels == group
            n, k = int(member.sum()), int(flags[member].sum())
            rows[group] = {"advocates": n, "flagged": k, "rate": _rate(k, n)}
        rates = [g["rate"] for g in rows.values() if g["advocates"] >= min_group]
        top = max(rates) if rates else 0.0
        dimensions[dimension] = {
            "groups": rows,
            "min_max_ratio": round(min(rates) / top, 4) if rates and top > 0 else None,
        }
    return report


def _label(value: object) -> str:
    if value is None or value != value or str(value).strip() == "" or str(value) == "<NA>":
        return UNKNOWN
    return str(value)


def _rate(k: int, n: int) -> float:
    return round(k / n, 6) if n else 0.0
