"""Readable text for the lapse forecast's reasons and the action each one suggests.

:func:`reason_text` turns a reason (a column of :func:`recsys.forecast.feature_names` and
its value for the advocate) into a sentence with the value, e.g. ``days_since_last`` 12 ->
"no activity for 12 days". :func:`reason_action` is what a programme manager could do about
it when there is no feed to suggest content from: a falling or low activity -> check in, a
long silence -> a personal nudge, a short tenure -> onboarding help. :func:`feed_action` is
the action when their own feed has items: share something matching their interests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recsys.forecast.lapse import GAP_DAYS

_ACTIONS = {
    "falling": "check in: ask what would make sharing easier for them now",
    "quiet": "send a personal nudge with one easy post to share",
    "new": "offer onboarding help: show them how to find and share content",
    "mix": "suggest content they can share, not only read",
}
_KIND = {
    "days_since_last": "quiet",
    "gap_mean_days": "quiet",
    "gap_max_days": "quiet",
    "tenure_days": "new",
    "events_total": "new",
}


def reason_text(feature: str, values: Mapping[str, float]) -> str:
    """A sentence for reason ``feature`` with the advocate's feature ``values``."""
    v = float(values.get(feature, 0.0))
    n = f"{v:.0f}"
    texts = {
        "days_since_last": f"no activity for {n} days",
        "tenure_days": f"a short record: first activity {n} days ago",
        "events_7d": f"{_events(v)} in the last 7 days",
        "events_30d": f"{_events(v, 'only ')} in the last 30 days",
        "events_60d": f"{_events(v, 'only ')} in the last 60 days",
        "events_30_90d": f"{_events(v)} 30 to 90 days ago",
        "active_days_30d": f"active on {n} of the last 30 days",
        "active_days_60d": f"active on {n} of the last 60 days",
        "activity_trend": (
            f"activity falling: {_events(values.get('events_30d', 0.0))} in the last 30 days"
            f" against {values.get('events_30_90d', 0.0) / 2:.0f} a month in the 60 days before"
        ),
        "gap_mean_days": f"{v:.1f} days between active days on average",
        "gap_max_days": f"a gap of {n} days without activity",
        "events_total": f"{_events(v)} in all",
    }
    if feature in ("gap_mean_days", "gap_max_days") and v >= GAP_DAYS:
        return f"at most one active day in the last {GAP_DAYS:.0f} days"
    if feature in texts:
        return texts[feature]
    if feature.startswith("share_"):
        kind = feature.removeprefix("share_").replace("_", " ")
        return f"{v:.0%} of the last 60 days' events were of type {kind}"
    return f"{feature} = {v:g}"


def _events(count: float, only: str = "") -> str:
    """Event counts as words: "no events", "1 event", "only 3 events"."""
    if count <= 0:
        return "no events"
    return f"{only}{count:.0f} event{'s' if round(count) != 1 else ''}"


def reason_action(feature: str | None) -> str:
    """The action suggested for the advocate's first reason (None: no reason)."""
    if feature is None:
        return _ACTIONS["falling"]
    if feature.startswith("share_"):
        return _ACTIONS["mix"]
    return _ACTIONS[_KIND.get(feature, "falling")]


def feed_action(titles: Sequence[str]) -> str:
    """The action that suggests the first items of the advocate's own feed."""
    return "share something matching your interests: " + "; ".join(titles)
