"""Shared parts of benchmark results: fitting with timing, per-model entries, the JSON dict."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.progress import current
from training.evaluation.registry import ModelFactory

logger = logging.getLogger(__name__)

T = TypeVar("T")

K = 10


def fit_model(
    name: str, factory: ModelFactory, dataset: Dataset, skipped: dict[str, str], *, strict: bool
) -> tuple[Recommender | None, float]:
    """A fitted model and its fit seconds; a default model that cannot fit is skipped.
    The fit is the progress stage "fit <name>" of :func:`recsys.progress.current`."""
    clock = time.perf_counter()
    try:
        with current().stage(f"fit {name}"):
            model = factory().fit(dataset)
    except Exception as exc:
        if strict:
            raise
        logger.warning("skipping model %s: %s", name, exc)
        skipped[name] = f"{type(exc).__name__}: {exc}"
        return None, 0.0
    return model, time.perf_counter() - clock


def models_in_progress(chosen: Mapping[str, T]) -> Iterator[tuple[str, T]]:
    """The items of ``chosen`` (model name, factory); the loop body of each runs as the
    progress stage "evaluate <name>", counted in the stage "evaluate models"."""
    progress = current()
    with progress.stage("evaluate models", len(chosen), "models") as models:
        for name, factory in chosen.items():
            with progress.stage(f"evaluate {name}"):
                yield name, factory
            models.advance()


def entry(
    metrics: dict[str, float],
    slices: dict[str, dict[str, object]],
    fit_seconds: float,
    recommend_seconds: float,
) -> dict[str, object]:
    return {
        **metrics,
        "slices": slices,
        "seconds": rounded({"fit": fit_seconds, "recommend": recommend_seconds}),
    }


def rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


def json_safe(value: object) -> object:
    """NaN -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def result(
    benchmark: str, protocol: dict[str, object], models: dict[str, object], started: float
) -> dict[str, object]:
    return json_safe(
        {
            "benchmark": benchmark,
            "protocol": protocol,
            "models": models,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


def utc(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()
