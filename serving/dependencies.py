"""What a :class:`~serving.runtime.Runtime` is built from, and how a configured service builds it.

:class:`Dependencies` is everything a runtime needs and can be injected whole (tests, other
hosts); :func:`dependencies_from_config` builds it from :class:`~serving.config.ServingConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from features.data.store import Store, Timeouts, data_dir
from features.encoder import TextEncoder
from features.screening.policy import Policy as ScreeningPolicy
from features.screening.policy import resolve_policy
from recsys.policy import PolicyConfig
from serving.auth import Tokens
from serving.config import DEFAULT_CANDIDATES_TTL, DEFAULT_SCORE_CACHE_MB, ServingConfig
from serving.forecasts import SERVED_FORECASTS
from serving.health import CHECK_INTERVAL
from serving.model_source import (
    FolderSource,
    ModelSource,
    ModelVersion,
    RegistrySource,
    bound_registry_waits,
)

RECOMMENDER = "advocacy-recommender"
INFLUENCERS = "advocacy-influencers"
#: How long the service waits on its store: 3 s to connect, 30 s per statement (under the
#: 60 s request timeout), 10 s for a free pooled connection (:class:`Timeouts`).
STORE_TIMEOUTS = Timeouts(connect=3.0, statement=30.0, pool=10.0)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dependencies:
    """What a :class:`~serving.runtime.Runtime` is built from."""

    store: Store
    model_source: ModelSource
    tokens: Tokens
    clock: Callable[[], datetime] = utc_now
    influencer_source: ModelSource | None = None
    encoder: TextEncoder | Callable[[], TextEncoder] | None = None
    policy: PolicyConfig | None = None
    catalogue_refresh: float = 30.0
    model_refresh: float = 60.0
    event_follow: float = 1.0
    pollers: bool = True
    score_cache_bytes: int = int(DEFAULT_SCORE_CACHE_MB) << 20
    emv_config: Path | None = None  # None: the shipped example rates
    screening_policy: ScreeningPolicy | None = None  # None: features.screening's resolution
    candidates_ttl: float = DEFAULT_CANDIDATES_TTL
    console_secret: bytes | None = None  # None: a random key per process
    console_session_hours: float = 8.0
    store_check: float = CHECK_INTERVAL  # seconds between probes of the store
    # after each model load, freeze the heap out of the garbage collector's scans
    # (:func:`serving.refresh.settle_heap`): for a process that serves and does little else
    freeze_heap: bool = False
    # the forecast models' sources by key (serving.forecasts), e.g. "lapse" for /at_risk
    forecast_sources: dict[str, ModelSource] = field(default_factory=dict)


def dependencies_from_config(config: ServingConfig) -> Dependencies:
    """The store (with :data:`STORE_TIMEOUTS`), the model sources (a folder if configured,
    else the registry, with bounded waits: :func:`bound_registry_waits`) and tokens."""
    store = Store.open(config.db_url, timeouts=STORE_TIMEOUTS)
    cache = data_dir() / "models"
    if config.model_dir is None or config.influencer_dir is None:
        bound_registry_waits()
    if config.model_dir is not None:
        model_source: ModelSource = FolderSource(config.model_dir, RECOMMENDER)
    else:
        model_source = RegistrySource(
            RECOMMENDER, tracking_uri=config.tracking_uri, cache_dir=cache
        )
    if config.influencer_dir is not None:
        influencers: ModelSource | None = FolderSource(config.influencer_dir, INFLUENCERS)
    elif config.model_dir is not None:
        influencers = None  # a folder-served recommender: influencers only from a folder too
    else:
        influencers = RegistrySource(INFLUENCERS, tracking_uri=config.tracking_uri, cache_dir=cache)
    forecasts = {
        key: forecast.source(
            config.forecast_dirs.get(key),
            recommender_from_folder=config.model_dir is not None,
            tracking_uri=config.tracking_uri,
            cache_dir=cache,
        )
        for key, forecast in SERVED_FORECASTS.items()
    }
    return Dependencies(
        store=store,
        model_source=model_source,
        tokens=config.tokens(),
        influencer_source=influencers,
        catalogue_refresh=config.catalogue_refresh,
        model_refresh=config.model_refresh,
        event_follow=config.event_follow,
        score_cache_bytes=config.score_cache_bytes,
        emv_config=config.emv_config,
        screening_policy=resolve_policy(config.screening_policy),
        candidates_ttl=config.candidates_ttl,
        console_secret=None if config.console_secret is None else config.console_secret.encode(),
        console_session_hours=config.console_session_hours,
        freeze_heap=True,  # the service's own process
        forecast_sources={k: source for k, source in forecasts.items() if source is not None},
    )


def load_influencer_scorer(version: ModelVersion) -> object:
    from recsys.influence import InfluenceScorer

    return InfluenceScorer.load(Path(version.path))
