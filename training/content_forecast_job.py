"""Fitting and evaluating the content performance forecast on the store (``advocacy train``):
the facade over :mod:`features.content_performance` and :mod:`recsys.forecast`.

Data
    The store read as of the cut-off E: the snapshot's last interaction at or before its
    ``as_of`` (just after it), so a store whose data stopped long ago is read where it stopped.
    Every input of an item is built as of its publication (or of the cut-off) by
    :class:`~features.content_performance.ContentPerformanceFeatures`, every outcome as known
    at the end of its first week: rows stored later do not change anything here.
Items
    Approved items of the snapshot published at least ``warmup_days`` after its first
    interaction (a month of audience history by default) whose first week ends by E.
Held out (time split)
    The cut C is the ``1 - held_out_fraction`` quantile of those items' publication times
    (:func:`training.evaluation.content_synthetic.split_items`). Training items: first week
    complete by C (inputs and outcomes read as of C; the vocabularies and the embedding
    projection fitted on them only). Held-out items: published at or after C (inputs as of
    each one's publication, outcome = its first week). ``content`` (the configured model) and
    the baselines ``mean_by_type`` and ``mean_by_topic`` are fitted on the training items and
    scored on the held-out ones: per target (``slices``) Spearman, MAPE, MdAPE, coverage and
    width of the interval; overall the means over the targets of ``spearman`` (the primary
    metric), ``mape`` and ``coverage``.
Shipped
    A :class:`~features.content_forecaster.ContentForecaster`: the builder fitted on every
    usable item and the model fitted on their first weeks as of E.
Too little history
    Fewer than ``min_items`` usable items, or too few on either side of the cut:
    :class:`InsufficientContentHistory` (``advocacy train`` then says so and trains the others).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.content_forecaster import ContentForecaster
from features.content_performance import OUTCOMES, ContentPerformanceFeatures
from features.content_reads import ContentReads
from features.data.store import Store
from features.data.times import column_seconds
from features.data.times import utc as utc_time
from features.encoder import TextEncoder
from features.snapshot import Snapshot
from recsys.forecast import ContentForecast, forecast_metrics
from training.config import ContentForecastConfig
from training.evaluation.content_synthetic import model_specs, split_items
from training.evaluation.report import utc
from training.forecast_jobs import ForecastJob, InsufficientHistory
from training.registry_reader import CONTENT_FORECAST

BENCHMARK = "store-content-forecast"
MODEL = "content"
BASELINES = ("mean_by_type", "mean_by_topic")
#: The model's parameters among ``content_forecast.params`` (the rest are the builder's).
MODEL_PARAMS = ("alpha", "level", "cv", "model", "random_state")
#: Fewest items on each side of the cut (the interval's folds need a few per fold).
MIN_SIDE = 10


class InsufficientContentHistory(InsufficientHistory):
    """Too few items with a complete first week in the store to fit and hold out."""


def train_content_forecast(
    snapshot: Snapshot,
    settings: ContentForecastConfig,
    *,
    store: Store,
    encoder: TextEncoder | None = None,
) -> tuple[ContentForecaster, dict[str, Any]]:
    """The held-out evaluation and the shipped forecaster of ``snapshot`` read from ``store``
    (module docstring); raises :class:`InsufficientContentHistory`. Both read each window
    of the store's past once (one :class:`~features.content_reads.ContentReads` kept for
    the run)."""
    reads = ContentReads(ttl=math.inf)
    evaluation = evaluate_content_forecast(
        snapshot, settings, store=store, encoder=encoder, reads=reads
    )
    forecaster = fit_content_forecast(snapshot, settings, store=store, encoder=encoder, reads=reads)
    forecaster.training |= {"held_out_from": evaluation["protocol"]["cut_off"]}
    return forecaster, evaluation


def data_window(snapshot: Snapshot, settings: ContentForecastConfig) -> tuple[pd.Timestamp, ...]:
    """(first usable publication time, cut-off E): ``warmup_days`` after the first
    interaction, and just after the last one at or before ``snapshot.as_of``."""
    times = column_seconds(snapshot.interactions["timestamp"])
    times = times[times <= utc_time(snapshot.as_of).timestamp()]
    if not len(times):
        raise InsufficientContentHistory(
            "too little history for the content forecast: no interactions"
        )
    first = pd.Timestamp(float(times.min()), unit="s", tz="UTC")
    end = pd.Timestamp(float(times.max()) + 1.0, unit="s", tz="UTC")
    return first + pd.Timedelta(days=settings.warmup_days), min(end, utc_time(snapshot.as_of))


def usable_items(snapshot: Snapshot, settings: ContentForecastConfig) -> list[str]:
    """Approved items published from the warm-up's end whose first week ends by E."""
    start, end = data_window(snapshot, settings)
    content = snapshot.content
    published = pd.to_datetime(content["published_at"], utc=True)
    usable = (
        (content["approval_status"] == "approved")
        & (published >= start)
        & (published + pd.Timedelta(days=7) <= end)
    )
    ids = content.loc[usable.to_numpy(), "content_id"].astype(str).tolist()
    if len(ids) < settings.min_items:
        raise InsufficientContentHistory(
            f"too little history for the content forecast: {len(ids)} approved item(s) with a"
            f" complete first week after {settings.warmup_days:g} days of history (by"
            f" {utc(int(end.timestamp()))}); need {settings.min_items}"
        )
    return ids


def evaluate_content_forecast(
    snapshot: Snapshot,
    settings: ContentForecastConfig,
    *,
    store: Store,
    encoder: TextEncoder | None = None,
    reads: ContentReads | None = None,
) -> dict[str, Any]:
    """The model and the baselines on the held-out latest items (runner-shaped result);
    ``reads``: the store reads of the past to use (default: read every time)."""
    started = time.perf_counter()
    start, end = data_window(snapshot, settings)
    usable = usable_items(snapshot, settings)
    content = snapshot.content.loc[snapshot.content["content_id"].astype(str).isin(usable)]
    try:
        train, test, cut = split_items(content, start, end, 1.0 - settings.held_out_fraction)
    except ValueError as exc:  # fewer than 20 items to split
        message = f"too little history for the content forecast: {exc}"
        raise InsufficientContentHistory(message) from None
    if min(len(train), len(test)) < MIN_SIDE:
        raise InsufficientContentHistory(
            f"too little history for the content forecast: {len(train)} training and"
            f" {len(test)} held-out item(s) around {cut.isoformat()}; need {MIN_SIDE} each"
        )
    builder = _builder(settings, encoder).fit(store, train)
    x_train = builder.transform(store, train, as_of=cut, reads=reads).values
    y_train, _ = builder.outcomes(store, train, as_of=cut, reads=reads)
    x_test = builder.transform(store, test, as_of=end, reads=reads).values
    y_test, _ = builder.outcomes(store, test, as_of=end, reads=reads)
    names = builder.names
    specs = model_specs(names)
    specs[MODEL] = _model(settings, names)
    models: dict[str, Any] = {}
    for name in (MODEL, *BASELINES):
        models[name] = _scored(specs[name], names, (x_train, y_train), (x_test, y_test))
    protocol = {
        "cut_off": cut.isoformat(),
        "data_end": end.isoformat(),
        "training_items": len(train),
        "held_out_items": len(test),
        "held_out_fraction": settings.held_out_fraction,
        "warmup_days": settings.warmup_days,
        "split": "by publication time: train = first week complete by the cut-off, held out ="
        " published at or after it; inputs as of each item's publication",
        "targets": list(OUTCOMES),
        "level": specs[MODEL].level,
        "primary_metric": "spearman",
    }
    return {
        "benchmark": BENCHMARK,
        "protocol": protocol,
        "models": models,
        "seconds": round(time.perf_counter() - started, 3),
    }


def fit_content_forecast(
    snapshot: Snapshot,
    settings: ContentForecastConfig,
    *,
    store: Store,
    encoder: TextEncoder | None = None,
    reads: ContentReads | None = None,
) -> ContentForecaster:
    """The shipped forecaster: fitted on every usable item as of E (module docstring);
    ``reads`` as in :func:`evaluate_content_forecast`."""
    _, end = data_window(snapshot, settings)
    usable = usable_items(snapshot, settings)
    builder = _builder(settings, encoder).fit(store, usable)
    x = builder.transform(store, usable, as_of=end, reads=reads).values
    y, _ = builder.outcomes(store, usable, as_of=end, reads=reads)
    model = _model(settings, builder.names).fit(x, y)
    training = {
        "cut_off": end.isoformat(),
        "items": len(usable),
        "encoder_model_id": builder.embeddings_.model_id_,
        "outcome_means": dict(zip(OUTCOMES, y.mean(axis=0).round(4).tolist(), strict=True)),
    }
    return ContentForecaster(builder, model, training)


def _builder(
    settings: ContentForecastConfig, encoder: TextEncoder | None
) -> ContentPerformanceFeatures:
    params = {k: v for k, v in settings.params.items() if k not in MODEL_PARAMS}
    return ContentPerformanceFeatures(encoder=encoder, **params)


def _model(settings: ContentForecastConfig, names: tuple[str, ...]) -> ContentForecast:
    """The configured model over the builder's columns ``names`` (ridge, alpha 30 default)."""
    spec = model_specs(names)[MODEL]
    params = {k: v for k, v in settings.params.items() if k in MODEL_PARAMS}
    return ContentForecast(**(spec.get_params() | params))


def _scored(
    spec: ContentForecast,
    names: tuple[str, ...],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """``spec`` fitted on ``train`` and measured on ``test``: per target and the means."""
    clock = time.perf_counter()
    columns = [names.index(f) for f in spec.features]
    model = ContentForecast(**spec.get_params()).fit(train[0][:, columns], train[1])
    fitted = time.perf_counter() - clock
    x, y = test[0][:, columns], test[1]
    point = model.predict(x)
    lower, upper = model.predict_interval(x)
    slices = {
        target: forecast_metrics(y[:, t], point[:, t], lower[:, t], upper[:, t])
        for t, target in enumerate(OUTCOMES)
    }
    means = {
        metric: float(np.mean([slices[t][metric] for t in OUTCOMES]))
        for metric in ("spearman", "mape", "coverage")
    }
    seconds = {"fit": round(fitted, 3), "score": round(time.perf_counter() - clock - fitted, 3)}
    return means | {"n": len(y), "slices": slices, "seconds": seconds}


def _signature(model: ContentForecaster) -> Any:
    """``content_id`` (and optional ``as_of``) in; per target the forecast and bounds out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from training.pyfunc_content import CONTENT_FORECAST_COLUMNS

    inputs = Schema([ColSpec("string", "content_id"), ColSpec(AnyType(), "as_of", required=False)])
    outputs = Schema(
        [
            ColSpec("string", "content_id"),
            *(ColSpec("double", c) for c in CONTENT_FORECAST_COLUMNS[1:]),
        ]
    )
    return ModelSignature(inputs, outputs)


def _caption(evaluation: Mapping[str, Any]) -> str:
    protocol = evaluation["protocol"]
    return (
        f"Content forecast, held out: the {protocol['held_out_items']} items published from"
        f" {protocol['cut_off'][:10]} (means over shares, reach, clicks)"
    )


JOB = ForecastJob(
    name=CONTENT_FORECAST,
    short="content_forecast",
    title="content forecast",
    model_key=MODEL,
    train=train_content_forecast,
    evaluate=evaluate_content_forecast,
    code=Path(__file__).with_name("pyfunc_content_forecast.py"),
    signature=_signature,
    model_type="content-forecast",
    description="Content performance forecast: an MLflow pyfunc (content ids in, expected"
    " first-week shares, reach and clicks with their 80% interval out, read from the store)"
    " over the ContentForecaster's folder (manifest.json, builder.npz, forecast/; no pickle).",
    columns=("spearman", "mape", "coverage", "n"),
    caption=_caption,
    reads_store=True,
)
