"""The compiled feed kernel (``recsys.feed_kernel``) against the numpy reference: the same
items, scores within 1e-9 and the same reasons, on hybrids fitted on real data (DeskDrop's
events) and on the synthetic organisation, through the production path (the store, the
feature pipeline, the feed data), with the server's kept score rows and without, after live
events, for known, unknown and profiled employees, filters, batches and other policies."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from features.feed_catalogue import load_feed_data
from features.pipeline import FeaturePipeline
from features.snapshot import Snapshot
from recsys import feed_kernel
from recsys.feed import Feed, FeedFilters, FeedRanker
from recsys.feed_arrays import Employee
from recsys.metrics import top_k
from recsys.models import make_recommender
from recsys.policy import PolicyConfig
from training.config import load_config
from training.datasets import build_dataset, engagement_log

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 1, tzinfo=UTC)


def fitted_ranker(store: Store, as_of: datetime, params: dict) -> FeedRanker:
    """A hybrid fitted on the store's events up to ``as_of`` (the ``quick`` training config)
    and its ranker over the store's feed data, as a server builds it."""
    config = load_config(ROOT / "experiments" / "configs" / "quick.yaml")
    snapshot = Snapshot.load(StoreReader(store), as_of)
    features = FeaturePipeline(cache=store).fit_transform(snapshot)
    log = engagement_log(snapshot, config.data.event_weights)
    dataset = build_dataset(snapshot, features, config.features, log)
    model = make_recommender("hybrid", {**config.model_params("hybrid"), **params}).fit(dataset)
    data = load_feed_data(store, model.items_, as_of)
    return FeedRanker(
        model, data.catalogue, data.audience, PolicyConfig(), data.titles, kernel="numba"
    )


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> FeedRanker:
    folder = tmp_path_factory.mktemp("org")
    config = OrgConfig(employees=300, content=150, days=30, seed=5, end=END)
    write(generate(config), folder / "org")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(datetime.now(UTC))
    assert import_path(store, folder / "org", context=context).exit_code == 0
    ranker = fitted_ranker(store, END, {"taste__no_components": 8})
    store.dispose()
    return ranker


@pytest.fixture(scope="module")
def deskdrop(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> FeedRanker:
    folder = tmp_path_factory.mktemp("deskdrop")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(datetime(2026, 11, 26, tzinfo=UTC))
    report = import_path(store, shared_data / "deskdrop", fmt="deskdrop", context=context)
    assert report.exit_code == 0
    # one LightFM epoch: the kernel must equal numpy on real data, whatever the model learned
    params = {"taste__no_components": 8, "taste__epochs": 1}
    ranker = fitted_ranker(store, datetime(2017, 2, 1, tzinfo=UTC), params)
    store.dispose()
    return ranker


def assert_same(kernel: list[Feed], numpy: list[Feed]) -> None:
    """The same items, titles and ranks, scores within 1e-9, the same reasons (kind, text;
    contributions within 1e-9)."""
    assert len(kernel) == len(numpy)
    for a, b in zip(kernel, numpy, strict=True):
        assert (a.employee_id, a.cold_start, a.as_of) == (b.employee_id, b.cold_start, b.as_of)
        assert [(i.content_id, i.title, i.rank) for i in a.items] == [
            (i.content_id, i.title, i.rank) for i in b.items
        ]
        np.testing.assert_allclose(
            [i.score for i in a.items], [i.score for i in b.items], rtol=0, atol=1e-9
        )
        for x, y in zip(a.items, b.items, strict=True):
            assert [(r.kind, r.text) for r in x.reasons] == [(r.kind, r.text) for r in y.reasons]
            np.testing.assert_allclose(
                [r.contribution for r in x.reasons],
                [r.contribution for r in y.reasons],
                rtol=0,
                atol=1e-9,
            )


def compare(ranker: FeedRanker, employees: list[str], as_of: float, **request) -> int:
    """Feeds of both kernels one by one; returns how many items they held."""
    reference = ranker.with_kernel("numpy")
    kernel = [ranker.feed(e, as_of=as_of, **request) for e in employees]
    assert_same(kernel, [reference.feed(e, as_of=as_of, **request) for e in employees])
    return sum(len(f.items) for f in kernel)


def employees_of(ranker: FeedRanker, count: int) -> list[str]:
    known = [str(e) for e in ranker.model.users_.external]
    step = max(len(known) // count, 1)
    return [*known[::step][:count], "someone-new"]


def latest(ranker: FeedRanker) -> float:
    published = ranker.catalogue.published_at
    return float(np.nanmax(published)) + 3600.0


@pytest.mark.parametrize("kept_rows", [False, True])
def test_kernel_equals_numpy_on_the_synthetic_organisation(
    organisation: FeedRanker, kept_rows: bool
) -> None:
    model = organisation.model
    assert "affinity" in model.components_ and "department_trend" in model.components_
    model.keep_user_rows(64 << 20 if kept_rows else 0)  # type: ignore[attr-defined]
    try:
        people = employees_of(organisation, 120)
        now = latest(organisation)
        assert compare(organisation, people, now, k=20) > 2000
        assert compare(organisation, people[:40], now + 86_400 * 3, k=5) > 0
        assert compare(organisation, people[:40], now, k=100) > 0
        networks = FeedFilters(
            networks=("linkedin",), exclude_ids=(organisation.eligible(people[0], as_of=now)[0],)
        )
        assert compare(organisation, people[:40], now, k=20, filters=networks) > 0
        profile = Employee(region="EMEA", department="Sales", languages=("en",))
        assert compare(organisation, ["new-hire"], now, k=20, profile=profile) > 0
        reasons = dataclasses.replace(
            organisation.policy, reasons_per_item=3, min_contribution=-0.1
        )
        ranker = FeedRanker(
            model, organisation.catalogue, organisation.audience, reasons, kernel="numba"
        )
        assert compare(ranker, people[:40], now, k=20) > 0
    finally:
        model.keep_user_rows(0)  # type: ignore[attr-defined]


def test_kernel_equals_numpy_after_live_events_and_in_batches(organisation: FeedRanker) -> None:
    people = employees_of(organisation, 40)
    now = latest(organisation)
    model = organisation.model
    rng = np.random.default_rng(0)
    n = len(people)
    items = [str(i) for i in model.items_.external[rng.integers(len(model.items_), size=n)]]
    model.observe(people, items, np.full(n, now - 60.0), np.ones(n, np.float32))
    assert compare(organisation, people, now, k=20) > 0
    reference = organisation.with_kernel("numpy")
    assert_same(organisation.feeds(people, 20, as_of=now), reference.feeds(people, 20, as_of=now))
    for policy in (PolicyConfig(max_per_topic=2, max_per_type=4), PolicyConfig(use_mmr=True)):
        ranker = FeedRanker(
            model, organisation.catalogue, organisation.audience, policy, kernel="numba"
        )
        assert compare(ranker, people[:20], now, k=20) > 0


def test_kernel_equals_numpy_on_deskdrop(deskdrop: FeedRanker) -> None:
    people = employees_of(deskdrop, 200)
    now = latest(deskdrop)
    assert compare(deskdrop, people, now, k=20) > 1000
    deskdrop.model.keep_user_rows(64 << 20)  # type: ignore[attr-defined]
    try:
        assert compare(deskdrop, people[:100], now, k=20) > 0
    finally:
        deskdrop.model.keep_user_rows(0)  # type: ignore[attr-defined]


def test_top_eligible_is_top_k_of_the_eligible_finite_scores() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        scores = rng.integers(-3, 4, size=n).astype(np.float32)  # many ties
        scores[rng.random(n) < 0.1] = -np.inf
        scores[rng.random(n) < 0.05] = np.inf
        scores[rng.random(n) < 0.05] = np.nan
        eligible = rng.random(n) < 0.7
        k = int(rng.integers(1, 25))
        items, best = np.empty(k, np.int64), np.empty(k)
        found = feed_kernel.top_eligible(scores, eligible, k, items, best)
        masked = np.where(eligible & np.isfinite(scores), scores.astype(np.float64), -np.inf)
        available = int(np.isfinite(masked).sum())
        if not available:
            assert found == 0
            continue
        expected, values = top_k(masked, min(k, available))
        assert found == len(expected)
        assert items[:found].tolist() == expected.tolist()
        assert best[:found].tolist() == values.tolist()


def test_the_kernel_is_chosen_by_name_or_environment(monkeypatch) -> None:
    monkeypatch.delenv(feed_kernel.KERNEL_ENV, raising=False)
    assert feed_kernel.resolve_kernel() == "numba"
    assert feed_kernel.resolve_kernel("NumPy") == "numpy"
    monkeypatch.setenv(feed_kernel.KERNEL_ENV, "numpy")
    assert feed_kernel.resolve_kernel() == "numpy"
    monkeypatch.setenv(feed_kernel.KERNEL_ENV, "fortran")
    with pytest.raises(ValueError, match="ADVOCACY_FEED_KERNEL"):
        feed_kernel.resolve_kernel()


def test_compiled_code_loads_from_a_cache_and_works_without_one(tmp_path: Path) -> None:
    """A fresh process loads the compiled functions from the cache folder a first one
    filled; with no writable folder at all they are compiled in the process."""
    code = (
        "import numpy as np\n"
        "from recsys import feed_kernel as k\n"
        "items, best = np.empty(2, np.int64), np.empty(2)\n"
        "found = k.top_eligible(np.asarray([1.0, 3.0, 2.0]), np.ones(3, bool), 2, items, best)\n"
        "assert found == 2 and items.tolist() == [1, 2]\n"
        "print(k.COMPILE_SECONDS)\n"
    )
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    seconds = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        seconds.append(float(done.stdout.split()[-1]))
    assert any(cache.rglob("*.nbi")) and seconds[1] < seconds[0]
    # no cache locator at all (no writable folder anywhere): compiled in the process
    blocked = "import numba.core.caching as c\nc.CacheImpl._locator_classes = []\n"
    done = subprocess.run(
        [sys.executable, "-c", blocked + code], cwd=ROOT, capture_output=True, text=True
    )
    assert "compiled per process" in done.stderr
    assert done.returncode == 0, done.stderr
