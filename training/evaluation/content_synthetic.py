"""``synthetic-content``: the content performance forecast on the synthetic organisation, from
the product's own inputs.

Data
    A synthetic organisation (:mod:`features.data.synthetic`, ``employees``, ``content``,
    ``days``, ``seed``) is generated; the tables the forecast reads (advocates, content,
    interactions, share outcomes) are written as contract files and imported into a fresh
    SQLite store, as a company's data would be.
Items
    Approved items (the others are never shown) published at least ``warmup_days`` after the
    organisation's first day (so every item has a month of audience history) and whose first
    week ends by the organisation's last day.
Split by publication time
    The cut-off C is the ``train_fraction`` quantile of those items' publication times.
    Training items: first week complete by C (features and outcomes read with ``as_of = C``).
    Test items: published at or after C (features as of each one's publication, outcomes of
    its first week). Features are built by :class:`features.content_performance.
    ContentPerformanceFeatures` (its vocabularies and embedding projection fitted on the
    training items only), each item's row as of its publication: nothing after it is read.
Targets
    First-week ``shares``, ``reach`` (impressions) and ``clicks`` (:data:`OUTCOMES`).
Models (all :class:`recsys.forecast.ContentForecast`, log1p targets, 80% intervals)
    ``content``: ridge (``alpha`` 30) on every input; ``content_boosting`` (on request):
    gradient boosting on the same columns; baselines ``mean_by_type`` (content type) and
    ``mean_by_topic`` (the item's first topic): the mean of ``log1p(target)`` per group.
Measures per target (:func:`recsys.forecast.forecast_metrics` on the test items)
    Spearman, MAPE and median APE (items with a positive outcome), coverage and width of the
    80% interval.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pandas as pd

from features.content_performance import CATEGORICAL, OUTCOMES, PERIODS, ContentPerformanceFeatures
from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.store import Store
from features.data.synthetic import OrgConfig, SyntheticOrg, generate, write
from features.data.validation import ValidationContext
from features.encoder import TextEncoder
from recsys.forecast import ContentForecast, forecast_metrics
from training.evaluation.report import result

BENCHMARK = "synthetic-content"
METRICS = ("spearman", "mape", "mdape", "coverage", "width")
DEFAULT_MODELS = ("content", "mean_by_type", "mean_by_topic")
LEVEL = 0.8
#: The tables the forecast's inputs and outcomes are read from.
CONTENT_TABLES = ("advocates", "content", "interactions", "share_outcomes")


def model_specs(features: Sequence[str]) -> dict[str, ContentForecast]:
    """Every model of the benchmark by name (unfitted); ``features``: the builder's columns."""
    common = {"targets": OUTCOMES, "level": LEVEL}
    every = {"features": tuple(features), "categorical": CATEGORICAL, "periods": PERIODS}
    return {
        "content": ContentForecast(model="ridge", alpha=30.0, **every, **common),
        "content_boosting": ContentForecast(model="boosting", **every, **common),
        "mean_by_type": ContentForecast(
            features=("content_type",), categorical=("content_type",), model="group_mean", **common
        ),
        "mean_by_topic": ContentForecast(
            features=("primary_topic",),
            categorical=("primary_topic",),
            model="group_mean",
            **common,
        ),
    }


def synthetic_content(
    *,
    employees: int = 2000,
    content: int = 1000,
    days: int = 180,
    seed: int = 0,
    interactions_per_employee: float = 200.0,
    train_fraction: float = 0.7,
    warmup_days: float = 30.0,
    models: Sequence[str] = DEFAULT_MODELS,
    encoder: TextEncoder | None = None,
) -> dict[str, object]:
    """The benchmark (module docstring) on one synthetic organisation."""
    started = time.perf_counter()
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"{BENCHMARK}: train_fraction must be in (0, 1), got {train_fraction}")
    known = model_specs(()).keys()
    unknown = sorted(set(models) - set(known))
    if unknown:
        raise ValueError(f"{BENCHMARK}: unknown model(s) {unknown}; known: {sorted(known)}")
    config = OrgConfig(
        employees=employees,
        content=content,
        days=days,
        seed=seed,
        interactions_per_employee=interactions_per_employee,
    )
    org = generate(config)
    with tempfile.TemporaryDirectory(prefix="advocacy-content-") as folder:
        store = import_org(org, config, Path(folder))
        try:
            entries, protocol = _evaluate(
                store, config, models, train_fraction, warmup_days, encoder
            )
        finally:
            store.dispose()
    protocol |= {
        "employees": employees,
        "content": content,
        "days": days,
        "seed": seed,
        "interactions_per_employee": interactions_per_employee,
    }
    return result(BENCHMARK, protocol, entries, started)


def import_org(org: SyntheticOrg, config: OrgConfig, folder: Path) -> Store:
    """The forecast's tables of ``org`` written as contract files and imported into a new
    SQLite store in ``folder``."""
    tables = {name: org.tables[name] for name in CONTENT_TABLES}
    write(dataclasses.replace(org, tables=tables), folder / "org")
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    report = import_path(
        store, folder / "org", context=ValidationContext(config.end + timedelta(1))
    )
    if report.errors:
        store.dispose()
        raise ValueError(f"{BENCHMARK}: synthetic organisation did not import: {report.errors}")
    return store


def split_items(
    content: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, train_fraction: float
) -> tuple[list[str], list[str], pd.Timestamp]:
    """Training and test item ids and the cut-off (module docstring); ``start``/``end``:
    the first usable publication time and the end of the data."""
    week = pd.Timedelta(days=7)
    published = pd.to_datetime(content["published_at"], utc=True)
    usable = (
        (content["approval_status"] == "approved")
        & (published >= start)
        & (published + week <= end)
    )
    times = published[usable]
    if len(times) < 20:
        raise ValueError(f"{BENCHMARK}: only {len(times)} usable items; generate more content")
    cut = times.quantile(train_fraction)
    ids = content["content_id"].astype(str)
    train = ids[usable & (published + week <= cut)].tolist()
    test = ids[usable & (published >= cut)].tolist()
    return train, test, cut


def _evaluate(
    store: Store,
    config: OrgConfig,
    models: Sequence[str],
    train_fraction: float,
    warmup_days: float,
    encoder: TextEncoder | None,
) -> tuple[dict[str, object], dict[str, object]]:
    content = StoreReader(store).table("content")
    first = pd.Timestamp(config.start_s, unit="s", tz="UTC")
    end = pd.Timestamp(config.end_s, unit="s", tz="UTC")
    train, test, cut = split_items(
        content, first + pd.Timedelta(days=warmup_days), end, train_fraction
    )
    clock = time.perf_counter()
    builder = ContentPerformanceFeatures(encoder=encoder).fit(store, train)
    x_train = builder.transform(store, train, as_of=cut).values
    y_train, _ = builder.outcomes(store, train, as_of=cut)
    x_test = builder.transform(store, test, as_of=end).values
    y_test, _ = builder.outcomes(store, test, as_of=end)
    feature_seconds = time.perf_counter() - clock
    names = builder.names
    specs = model_specs(names)
    entries: dict[str, object] = {}
    for name in models:
        clock = time.perf_counter()
        spec = specs[name]
        columns = [names.index(f) for f in spec.features]
        model = ContentForecast(**spec.get_params()).fit(x_train[:, columns], y_train)
        point = model.predict(x_test[:, columns])
        lower, upper = model.predict_interval(x_test[:, columns])
        entries[name] = {
            target: forecast_metrics(y_test[:, t], point[:, t], lower[:, t], upper[:, t])
            for t, target in enumerate(OUTCOMES)
        } | {"seconds": round(time.perf_counter() - clock, 3)}
    protocol: dict[str, object] = {
        "cut_off": cut.isoformat(),
        "train_items": len(train),
        "test_items": len(test),
        "train_fraction": train_fraction,
        "warmup_days": warmup_days,
        "split": "by publication time: train = first week complete by the cut-off, test ="
        " published at or after it; features as of each item's publication",
        "inputs": list(names),
        "targets": list(OUTCOMES),
        "level": LEVEL,
        "interval": "log-scale quantiles of out-of-fold residuals within the training items",
        "baselines": "mean of log1p(target) by content type / by first topic",
        "test_outcome_means": dict(zip(OUTCOMES, y_test.mean(axis=0).tolist(), strict=True)),
        "feature_seconds": round(feature_seconds, 3),
    }
    return entries, protocol
