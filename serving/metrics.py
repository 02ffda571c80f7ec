"""Domain counters next to BentoML's own request metrics on ``/metrics`` (Prometheus).

- ``advocacy_feeds_total{cold_start}``: feeds served;
- ``advocacy_events_total{outcome}``: events stored, duplicates, rejected;
- ``advocacy_refreshes_total{kind}``: model swaps and catalogue refreshes.

Metric objects are created on first use (nothing happens at import). A metrics failure
never fails a request.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

logger = logging.getLogger(__name__)


@functools.cache
def _counters() -> dict[str, Any]:
    import prometheus_client

    return {
        "feeds": prometheus_client.Counter(
            name="advocacy_feeds", documentation="Feeds served.", labelnames=["cold_start"]
        ),
        "events": prometheus_client.Counter(
            name="advocacy_events", documentation="Events received.", labelnames=["outcome"]
        ),
        "refreshes": prometheus_client.Counter(
            name="advocacy_refreshes", documentation="State refreshes.", labelnames=["kind"]
        ),
    }


def _inc(name: str, amount: float = 1.0, **labels: str) -> None:
    if amount <= 0:
        return
    try:
        _counters()[name].labels(**labels).inc(amount)
    except Exception as exc:  # metrics are best effort
        logger.debug("metric %s not updated: %s", name, exc)


def feed_served(cold_start: bool) -> None:
    _inc("feeds", cold_start=str(bool(cold_start)).lower())


def events_recorded(stored: int, duplicates: int, rejected: int) -> None:
    _inc("events", stored, outcome="stored")
    _inc("events", duplicates, outcome="duplicate")
    _inc("events", rejected, outcome="rejected")


def refreshed(kind: str) -> None:
    _inc("refreshes", kind=kind)
