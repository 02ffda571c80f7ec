"""Domain counters next to BentoML's own request metrics on ``/metrics`` (Prometheus).

- ``advocacy_feeds_total{cold_start}``: feeds served;
- ``advocacy_events_total{outcome}``: events stored, duplicates, rejected, and
  ``unavailable`` (received while the store did not answer: refused with 503, not stored);
- ``advocacy_refreshes_total{kind}``: model swaps and catalogue refreshes;
- ``advocacy_refresh_failures_total{kind}``: failed polls (``model``: the model sources,
  ``catalogue``: the store's content), each retried at the next interval;
- ``advocacy_store_up``: 1 while the store answers the service's probe, 0 while it does not
  (the lowest over the live workers);
- ``advocacy_model_info{version}``: 1 for the recommender version being served;
- ``advocacy_catalogue_items``: items the live model knows (the catalogue's size).

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
            name="advocacy_events",
            documentation="Events received (stored, duplicate, rejected) or read from the store's"
            " event log (followed).",
            labelnames=["outcome"],
        ),
        "refreshes": prometheus_client.Counter(
            name="advocacy_refreshes", documentation="State refreshes.", labelnames=["kind"]
        ),
        "refresh_failures": prometheus_client.Counter(
            name="advocacy_refresh_failures",
            documentation="Failed polls (retried at the next interval).",
            labelnames=["kind"],
        ),
        "store_up": prometheus_client.Gauge(
            name="advocacy_store_up",
            documentation="1 while the store answers the service's probe, else 0.",
            multiprocess_mode="livemin",
        ),
        "model": prometheus_client.Gauge(
            name="advocacy_model_info",
            documentation="1 for the recommender version being served.",
            labelnames=["version"],
            multiprocess_mode="liveall",
        ),
        "catalogue": prometheus_client.Gauge(
            name="advocacy_catalogue_items",
            documentation="Content items the live model knows.",
            multiprocess_mode="liveall",
        ),
    }


def _inc(name: str, amount: float = 1.0, **labels: str) -> None:
    if amount <= 0:
        return
    try:
        _child(name, *labels.items()).inc(amount)
    except Exception as exc:  # metrics are best effort
        logger.debug("metric %s not updated: %s", name, exc)


@functools.cache
def _child(name: str, *labels: tuple[str, str]) -> Any:
    """The counter ``name`` with these label values (found once: a feed increments one)."""
    return _counters()[name].labels(**dict(labels))


def feed_served(cold_start: bool) -> None:
    _inc("feeds", cold_start=str(bool(cold_start)).lower())


def events_recorded(stored: int, duplicates: int, rejected: int) -> None:
    _inc("events", stored, outcome="stored")
    _inc("events", duplicates, outcome="duplicate")
    _inc("events", rejected, outcome="rejected")


def events_followed(count: int) -> None:
    _inc("events", count, outcome="followed")


def events_unavailable(received: int) -> None:
    """Events refused with 503 because the store did not answer (none stored)."""
    _inc("events", received, outcome="unavailable")


def refreshed(kind: str) -> None:
    _inc("refreshes", kind=kind)


def refresh_failed(kind: str) -> None:
    _inc("refresh_failures", kind=kind)


def store_up(up: bool) -> None:
    try:
        _counters()["store_up"].set(1 if up else 0)
    except Exception as exc:  # metrics are best effort
        logger.debug("gauge store_up not updated: %s", exc)


def serving(previous: str | None, version: str, catalogue_items: int) -> None:
    """The served model version (the previous one's series drops to 0) and catalogue size."""
    try:
        gauges = _counters()
        if previous is not None and previous != version:
            gauges["model"].labels(version=previous).set(0)
        gauges["model"].labels(version=version).set(1)
        gauges["catalogue"].set(catalogue_items)
    except Exception as exc:  # metrics are best effort
        logger.debug("gauges not updated: %s", exc)
