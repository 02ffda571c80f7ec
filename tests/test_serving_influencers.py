"""The service's influencer candidates (``serving.influencers`` through ``Runtime``): the
organisation is scored once per scorer version and kept, reviews show at once without a new
scoring, the day's scores are recorded once, and the console's methods answer with the
service's errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.score_history import score_history
from features.data.store import Store
from recsys.influence import TIERS
from serving import influencers as module
from serving.auth import Tokens
from serving.config import ConfigError, ServingConfig
from serving.dependencies import INFLUENCERS, Dependencies, dependencies_from_config
from serving.errors import NotFound, NotReady, Unprocessable
from serving.influencers import ScoredCache, ScoringInProgress
from serving.model_source import FolderSource
from serving.runtime import Runtime
from tests.test_serving_data import NOW, add_synthetic_org, fit_influencers


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("influencers")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    add_synthetic_org(store, folder / "org")
    fit_influencers(store, folder / "scorer")
    yield {"store": store, "folder": folder}
    store.dispose()


def _runtime(world: dict[str, object], *, scorer: bool = True) -> Runtime:
    folder = Path(str(world["folder"]))
    deps = Dependencies(
        store=world["store"],  # type: ignore[arg-type]
        model_source=FolderSource(folder / "no-recommender", "advocacy-recommender"),
        influencer_source=FolderSource(folder / "scorer", INFLUENCERS) if scorer else None,
        tokens=Tokens.parse("manager-token-0123456789:manager"),
        clock=lambda: NOW,
        pollers=False,
    )
    runtime = Runtime(deps)
    if scorer:
        assert runtime.refresher.refresh_influencer()
    return runtime


@pytest.fixture
def scorings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every call of ``score_organisation`` the service makes."""
    calls: list[object] = []
    real = module.score_organisation

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "score_organisation", counted)
    return calls


def test_a_review_shows_at_once_without_scoring_again(
    world: dict[str, object], scorings: list[object]
) -> None:
    runtime = _runtime(world)
    first = runtime.influencers(None, None, None, False)
    assert first.as_of == NOW and first.model_version.startswith(f"{INFLUENCERS}@dir-")
    target = next(c for c in first.candidates if c.review is None)
    again = runtime.influencers(5, None, "linkedin", True)
    assert len(again.candidates) <= 5 and all(c.flagged for c in again.candidates)
    assert runtime.influencers(3, None, None, False).candidates == first.candidates[:3]
    stored = runtime.review(target.employee_id, "dismiss", "not now", "pm")
    assert stored.score == pytest.approx(target.score, abs=1e-6)  # the response rounds to 6
    after = runtime.influencers(None, None, None, False)
    shown = next(c for c in after.candidates if c.employee_id == target.employee_id)
    assert shown.review is not None and shown.review.decision == "dismiss"
    assert not shown.flagged and shown.review.suppressed
    assert runtime.candidate(target.employee_id).review.decision == "dismiss"  # type: ignore[union-attr]
    dismissed = runtime.candidates(review_state="dismiss")
    assert target.employee_id in {c.employee_id for c in dismissed}
    assert [r.decision for r in runtime.review_history(target.employee_id)][-1] == "dismiss"
    assert len(scorings) == 1  # one scoring served every request, the review included


def test_the_console_methods(world: dict[str, object], scorings: list[object]) -> None:
    runtime = _runtime(world)
    everyone = runtime.candidates()
    keys = [(not c.flagged, -c.score, c.employee_id) for c in everyone]
    assert everyone and keys == sorted(keys)
    for tier in TIERS:
        assert all(c.tier == tier for c in runtime.candidates(tier=tier))
    someone = everyone[0]
    assert runtime.candidate(someone.employee_id).score == someone.score
    followers = runtime.followers(someone.employee_id)
    assert "linkedin" in followers and all(v >= 0 for v in followers.values())
    fairness = runtime.fairness()
    assert fairness["advocates"] == len(everyone)
    assert set(fairness["dimensions"]) == {"department", "region", "seniority"}  # type: ignore[arg-type]
    with world["store"].engine.connect() as conn:  # type: ignore[attr-defined]
        opted = conn.execute(
            sa.text("SELECT employee_id FROM advocates WHERE opted_out = :yes LIMIT 1"),
            {"yes": True},
        ).scalar_one()
    for absent in ("nobody", opted):
        with pytest.raises(NotFound) as caught:
            runtime.candidate(absent)
        assert caught.value.field == "employee_id"
        with pytest.raises(NotFound):
            runtime.followers(absent)
        assert runtime.score_history(absent) == [] and runtime.review_history(absent) == []
    for bad, field in (({"tier": "mega"}, "tier"), ({"review_state": "maybe"}, "review_state")):
        with pytest.raises(Unprocessable) as refused:
            runtime.candidates(**bad)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(Unprocessable):
        runtime.score_history(" ")
    assert len(scorings) == 1
    with pytest.raises(NotReady):
        _runtime(world, scorer=False).candidates()


def test_the_days_scores_are_recorded_once_per_version(
    world: dict[str, object],
    scorings: list[object],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store: Store = world["store"]  # type: ignore[assignment]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(schema.influencer_scores))
    runtime = _runtime(world)
    clock = [0.0]
    runtime.influencer_views.cache = ScoredCache(600, clock=lambda: clock[0])
    recorded: list[str] = []
    real = module.record_scores

    def counted(*args: object, **kwargs: object) -> object:
        recorded.append(str(kwargs["model_version"]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "record_scores", counted)
    someone = runtime.candidates()[0]
    label = runtime.holder.influencer.version.label  # type: ignore[union-attr]
    history = score_history(store, someone.employee_id)
    assert [(p.scored_at.date(), p.model_version) for p in history] == [(NOW.date(), label)]
    assert history[0].score == pytest.approx(someone.score) and recorded == [label]
    clock[0] = 601.0  # stale: scored again, the day is not recorded again
    runtime.candidates()
    fresh = _runtime(world)  # a new process: the stored day is not recorded again either
    fresh.candidates()
    assert len(scorings) == 3 and recorded == [label]

    def broken(*args: object, **kwargs: object) -> object:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(module, "record_scores", broken)
    monkeypatch.setattr(module, "has_scores", lambda *a, **k: False)
    failing = _runtime(world)
    assert failing.candidates()  # a failure to record never fails the request
    assert "could not record the influencer scores" in caplog.text


def test_the_cache_scores_once_and_serves_the_stale_entry_while_scoring_again() -> None:
    clock = [0.0]
    cache = ScoredCache(10, clock=lambda: clock[0])
    calls: list[int] = []
    release = threading.Event()

    def compute() -> object:
        calls.append(1)
        release.wait(5)
        return f"scored-{len(calls)}"

    with pytest.raises(ScoringInProgress):  # a bounded wait gives up, the scoring goes on
        cache.get("v1", compute, wait=0.1)  # type: ignore[arg-type]
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("v1", compute)))  # type: ignore[arg-type]
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join()
    assert calls == [1] and results == ["scored-1"] * 6  # all waited for one scoring
    release.clear()
    clock[0] = 11.0
    assert cache.get("v1", compute) == "scored-1"  # stale: answered at once, scored again
    assert cache.get("v1", compute) == "scored-1" and len(calls) == 2  # one re-scoring
    release.set()
    deadline = time.monotonic() + 5
    while cache.get("v1", compute) != "scored-2" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("v1", compute) == "scored-2"
    assert cache.get("v2", lambda: "other") == "other" and len(calls) == 2  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="ttl"):
        ScoredCache(0)


def test_a_failed_scoring_reaches_the_waiting_request_and_is_retried() -> None:
    cache = ScoredCache(10)
    attempts: list[int] = []

    def flaky() -> object:
        attempts.append(1)
        if len(attempts) == 1:
            raise Unprocessable("bad data", field="store")
        return "scored"

    with pytest.raises(Unprocessable, match="bad data"):
        cache.get("v1", flaky)  # type: ignore[arg-type]
    assert cache.get("v1", flaky) == "scored" and len(attempts) == 2  # type: ignore[arg-type]


def test_warming_scores_in_the_background() -> None:
    cache = ScoredCache(10)
    done = threading.Event()

    def compute() -> object:
        done.set()
        return "scored"

    cache.warm("v1", compute)  # type: ignore[arg-type]
    assert done.wait(5)
    assert cache.get("v1", lambda: "again") == "scored"  # type: ignore[arg-type, return-value]


def test_the_candidates_ttl_setting(tmp_path: Path) -> None:
    assert ServingConfig.from_env({}).candidates_ttl == 600.0
    config = ServingConfig.from_env(
        {"ADVOCACY_CANDIDATES_TTL": "60", "ADVOCACY_DB_URL": f"sqlite:///{tmp_path / 's.db'}"}
    )
    assert config.candidates_ttl == 60.0
    deps = dependencies_from_config(replace(config, model_dir=tmp_path))
    try:
        assert deps.candidates_ttl == 60.0
        assert Runtime(deps).influencer_views.cache.ttl == 60.0
    finally:
        deps.store.dispose()
    for value in ("later", "0"):
        with pytest.raises(ConfigError, match="ADVOCACY_CANDIDATES_TTL"):
            ServingConfig.from_env({"ADVOCACY_CANDIDATES_TTL": value})
