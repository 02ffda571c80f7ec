"""Refreshing the live state off the request path: new champions and catalogue changes.

:class:`Refresher` polls the model sources (every ``model_refresh`` seconds) and the store's
content and advocates (every ``catalogue_refresh`` seconds) on background threads. All the
slow work (downloading and loading a model, reading the store, encoding new content) runs
there; requests only ever see a finished :class:`~serving.state.LiveState`.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

from recsys.base import Recommender
from recsys.feed import FeedRanker
from recsys.models import load_recommender
from recsys.policy import PolicyConfig
from serving import metrics
from serving.catalogue_reader import CatalogueReader, StoreView
from serving.event_follower import EventFollower, ModelCut
from serving.health import describe, is_outage
from serving.model_source import ModelSource, ModelVersion
from serving.state import (
    ForecastState,
    InfluencerState,
    LiveState,
    StateHolder,
    replay_audience,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Streak:
    """A poller's run of failed attempts: the last error, how many, when last logged."""

    error: str
    logged: float
    count: int = 0


class Refresher:
    """Loads, refreshes and swaps the state held by ``holder``."""

    def __init__(
        self,
        holder: StateHolder,
        *,
        model_source: ModelSource,
        catalogue: CatalogueReader,
        follower: EventFollower,
        clock: Callable[[], datetime],
        influencer_source: ModelSource | None = None,
        influencer_loader: Callable[[ModelVersion], object] | None = None,
        policy: PolicyConfig | None = None,
        model_refresh: float = 60.0,
        catalogue_refresh: float = 30.0,
        event_follow: float = 1.0,
        score_cache_bytes: int = 0,
        freeze_heap: bool = False,
        on_influencer: Callable[[], None] | None = None,
        on_forecast: Callable[[str], None] | None = None,
        forecast_sources: Mapping[
            str, tuple[ModelSource, Callable[[ModelVersion], object]]
        ] = MappingProxyType({}),
    ) -> None:
        self.holder = holder
        self.on_influencer = on_influencer
        self.on_forecast = on_forecast  # called with the key of a forecast just loaded
        self.model_source = model_source
        self.catalogue = catalogue
        self.follower = follower
        self.clock = clock
        self.influencer_source = influencer_source
        self.influencer_loader = influencer_loader
        self.forecast_sources = dict(forecast_sources)
        self.policy = policy
        self.model_refresh = model_refresh
        self.catalogue_refresh = catalogue_refresh
        self.event_follow = event_follow
        self.score_cache_bytes = score_cache_bytes
        self.freeze_heap = freeze_heap
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._work = threading.Lock()  # one refresh at a time (model or catalogue)
        # one warm-up of score rows at a time; a request meanwhile is left to the running one
        self._warming = threading.Lock()
        self._warm_running = False
        self._warm_next: Recommender | None = None
        self._failing: dict[str, _Streak] = {}  # pollers whose last attempt failed

    # -- one-shot refreshes (also what the pollers call) -------------------------------
    def refresh_model(self) -> bool:
        """Swap in the source's current version if it is new; True if swapped."""
        # asked outside the lock: a slow or unreachable registry never holds up the catalogue
        version = self.model_source.fetch()
        if version is None:
            return False
        with self._work:
            current = self.holder.state
            if current is not None and current.model_version.version == version.version:
                self.model_source.release(version)
                return False
            try:
                model = load_recommender(version.path)
                cut = ModelCut.of(version.path)
            finally:
                self.model_source.release(version)
            view = self.catalogue.read()
            ranker = self._ranker(model, view, add_missing=True)
            ranker, through, _ = self.follower.replay(ranker, cut)
            now = self.clock()
            state = LiveState(ranker, version, now, view.digest, now, view.probe)
            self.holder.swap(state, replayed_through=through)
            metrics.refreshed("model")
            logger.info("serving %s (%d items)", version.label, len(ranker.catalogue))
        # live already, and the catalogue poller free meanwhile: feeds compute the rows not
        # kept yet themselves
        self._warm(model)
        if self.freeze_heap:
            settle_heap()
        return True

    def refresh_catalogue(self) -> bool:
        """Bring new, changed, expired or withdrawn content live; True if the state changed."""
        with self._work:
            state = self.holder.state
            if state is None:
                return False
            position = self.holder.journal.position
            probe = self.catalogue.probe()
            if probe == state.catalogue_probe:  # nothing read changed: no full read
                self._touch(state)
                return False
            view = self.catalogue.read(probe)
            model = state.ranker.model
            missing = self.catalogue.missing(view, model)
            if view.digest == state.catalogue_digest and not missing:
                self._touch(state, view.probe)
                return False
            features = self.catalogue.features(view, missing) if missing else None
            ids = [*map(str, model.items_.external), *missing]
            catalogue, titles = self.catalogue.catalogue(view, ids)
            audience = self.catalogue.audience(view)
            with self.holder.lock:
                current = self.holder.state
                if current is None or current.ranker.model is not model:
                    return False  # a new champion came in meanwhile: next round
                if missing:
                    times = self.catalogue.published(view, missing)
                    model.add_items(missing, features, times)
                audience = replay_audience(audience, self.holder.journal.since(position))
                forgotten = self.catalogue.forgotten(view, model)
                ranker = FeedRanker(
                    model, catalogue, audience, self._policy(current), titles, forgotten=forgotten
                )
                now = self.clock()
                self.holder.swap(
                    dataclasses.replace(
                        current,
                        ranker=ranker,
                        catalogue_digest=view.digest,
                        catalogue_refreshed_at=now,
                        catalogue_probe=view.probe,
                    )
                )
            logger.info(
                "catalogue refreshed: %d items, %d new to the model", len(ids), len(missing)
            )
        if missing:  # the kept score rows lack the new content: refill them (live)
            self._warm(model)
        return True

    def refresh_influencer(self) -> bool:
        """Load the influencer scorer's current version if it is new; True if loaded."""
        current = self.holder.influencer
        loaded = _load_new(
            self.influencer_source, self.influencer_loader, current.version if current else None
        )
        if loaded is None:
            return False
        scorer, version = loaded
        self.holder.set_influencer(InfluencerState(scorer, version, self.clock()))
        logger.info("influencer scorer %s loaded", version.label)
        if self.on_influencer is not None:
            self.on_influencer()
        return True

    def refresh_forecast(self, key: str) -> bool:
        """Load the current version of the forecast model ``key`` (:mod:`serving.forecasts`)
        if it is new; True if loaded. Requests read ``holder.forecast(key)`` once, so a new
        champion replaces the old between requests."""
        source, loader = self.forecast_sources.get(key, (None, None))
        current = self.holder.forecast(key)
        loaded = _load_new(source, loader, current.version if current else None)
        if loaded is None:
            return False
        model, version = loaded
        self.holder.set_forecast(key, ForecastState(model, version, self.clock()))
        logger.info("%s model %s loaded", key, version.label)
        if self.on_forecast is not None:
            self.on_forecast(key)
        return True

    def refresh_forecasts(self) -> bool:
        """:meth:`refresh_forecast` of every configured forecast; True if any was loaded."""
        loaded = [self.refresh_forecast(key) for key in self.forecast_sources]
        return any(loaded)

    # -- pollers ----------------------------------------------------------------------
    def start(self) -> None:
        """Poll in three daemon threads (models, catalogue, event log) until :meth:`stop`,
        and load the text encoder in a fourth."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=("model", self.model_refresh, self._refresh_models),
                name="advocacy-model-refresh",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop,
                args=("catalogue", self.catalogue_refresh, self.refresh_catalogue),
                name="advocacy-catalogue-refresh",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop,
                args=("events", self.event_follow, self.follower.follow),
                name="advocacy-event-follow",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        # the text encoder loads beside the pollers (seconds), so the catalogue is refreshed
        # from the start; a daemon that ends with the load, not joined by stop()
        threading.Thread(target=self._warm_encoder, name="advocacy-encoder", daemon=True).start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def _refresh_models(self) -> bool:
        swapped = self.refresh_model()
        swapped = self.refresh_influencer() or swapped
        return self.refresh_forecasts() or swapped

    @property
    def errors(self) -> dict[str, str]:
        """The error of each poller whose last attempt failed (``model``, ``catalogue``,
        ``events``)."""
        failing = dict(self._failing)  # a copy: the pollers change it meanwhile
        return {kind: streak.error for kind, streak in failing.items()}

    def _warm_encoder(self) -> None:
        try:
            self.catalogue.warm()
        except Exception:
            logger.exception("text encoder not loaded; it loads when new content needs it")

    def _loop(self, kind: str, interval: float, step: Callable[[], object]) -> None:
        """Run ``step`` every ``interval`` seconds until :meth:`stop`; a failure keeps the
        current state serving and is retried at the next interval (:meth:`_failed`)."""
        while not self._stop.wait(interval):
            try:
                step()
            except Exception as exc:
                self._failed(kind, exc)
            else:
                self._succeeded(kind)

    def _failed(self, kind: str, exc: Exception) -> None:
        """Count the failure; log the first of a run with its traceback (a store or
        registry that does not answer: one line) and then one line a minute."""
        error = describe(exc)
        self.holder.last_error = error
        metrics.refresh_failed(kind)
        streak = self._failing.setdefault(kind, _Streak(error, time.monotonic()))
        streak.error, streak.count = error, streak.count + 1
        if streak.count == 1:
            expected = is_outage(exc) or isinstance(exc, ConnectionError)
            logger.warning(
                "%s refresh failed (%s); still serving the current state, retrying",
                kind,
                error,
                exc_info=not expected,
            )
        elif time.monotonic() - streak.logged >= 60:
            streak.logged = time.monotonic()
            logger.warning("%s refresh still failing after %d tries: %s", kind, streak.count, error)

    def _succeeded(self, kind: str) -> None:
        streak = self._failing.pop(kind, None)
        if streak is not None:
            logger.info("%s refresh works again after %d failed tries", kind, streak.count)
        if not self._failing:
            self.holder.last_error = None

    # -- internals --------------------------------------------------------------------
    def _ranker(self, model: Recommender, view: StoreView, *, add_missing: bool) -> FeedRanker:
        """A ranker over ``view`` for a model that is not live yet (mutated freely)."""
        missing = self.catalogue.missing(view, model) if add_missing else []
        if missing:
            features = self.catalogue.features(view, missing)
            model.add_items(missing, features, self.catalogue.published(view, missing))
        catalogue, titles = self.catalogue.catalogue(view, [str(c) for c in model.items_.external])
        audience = self.catalogue.audience(view)
        current = self.holder.state
        forgotten = self.catalogue.forgotten(view, model)
        return FeedRanker(
            model, catalogue, audience, self._policy(current), titles, forgotten=forgotten
        )

    def _warm(self, model: Recommender) -> None:
        """Keep per-employee score rows in a model that can (the hybrid) and fill them;
        safe beside requests and events. A failure only costs speed.

        One warm-up runs at a time, and a poller never waits for another's: asked while one
        runs, this returns at once and the running warm-up goes again for ``model`` (the
        latest asked) when it is done."""
        with self._warming:
            if self._warm_running:
                self._warm_next = model
                return
            self._warm_running = True
        while True:
            self._warm_once(model)
            with self._warming:
                if self._warm_next is None:
                    self._warm_running = False
                    return
                model, self._warm_next = self._warm_next, None

    def _warm_once(self, model: Recommender) -> None:
        keep = getattr(model, "keep_user_rows", None)
        if keep is None:
            return
        try:
            started = time.perf_counter()
            keep(self.score_cache_bytes)
            added = model.warm_user_rows()  # type: ignore[attr-defined]
            logger.info(
                "kept score rows of %d employees in %.1f s", added, time.perf_counter() - started
            )
        except Exception:
            logger.exception("score rows not warmed; feeds compute them on demand")

    def _policy(self, state: LiveState | None) -> PolicyConfig | None:
        if self.policy is not None:
            return self.policy
        return None if state is None else state.ranker.policy

    def _touch(self, state: LiveState, probe: str | None = None) -> None:
        """Record a refresh that found nothing new (and the store's fingerprint)."""
        with self.holder.lock:
            current = self.holder.state
            if current is state:
                changes = {"catalogue_refreshed_at": self.clock()}
                if probe is not None:
                    changes["catalogue_probe"] = probe
                self.holder.swap(dataclasses.replace(state, **changes))


def _load_new(
    source: ModelSource | None,
    loader: Callable[[ModelVersion], object] | None,
    current: ModelVersion | None,
) -> tuple[object, ModelVersion] | None:
    """The source's current version loaded, unless there is no source or version or it is
    ``current`` (then the fetched version is released untouched)."""
    if source is None or loader is None:
        return None
    version = source.fetch()
    if version is None:
        return None
    if current is not None and current.version == version.version:
        source.release(version)
        return None
    try:
        return loader(version), version
    finally:
        source.release(version)


#: The youngest generation's collection threshold of a serving process (CPython's default
#: is 700): a request creates and frees a few hundred objects while those of the requests in
#: flight are alive, so at 700 the young generation was collected every few requests. At
#: 20,000 the benchmark server's CPU per feed fell 3% (1.59 -> 1.54 ms; 100,000 gave the
#: same); the older generations keep their thresholds.
YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Collect the garbage, then freeze what is left (the loaded model, its catalogue and
    caches) out of the cyclic garbage collector's reach, and collect the young generation
    every :data:`YOUNG_THRESHOLD` new objects.

    A loaded worker holds ~800k tracked objects; without this, a full collection scans them
    all (~0.5 s holding the interpreter, measured at 10k employees x 5k content) every
    ~20 s under load. Called once per model swap: the frozen objects are unfrozen and
    collected first, so a replaced model's reference cycles are freed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
