"""The forecasts ``advocacy train`` fits, evaluates, logs, registers and gates one way: one
:class:`ForecastJob` each, listed by :func:`jobs`.

A job is named by its registered model (``name``, e.g. ``advocacy-lapse``) and a short name
(``short``, e.g. ``lapse``) that is also: its config section (``lapse:``, with ``enabled``),
its gate keys (``gate.<short>_metric``, ``gate.<short>_tolerance``), its saved folder and
logged model name, its metric prefix (``<short>.<model>.<metric>``), its training stage
(``seconds.<short>``), its skip tag (``<short>.skipped``) and ``advocacy rollback --model
<short>``. What each part of the pipeline does with it:

- :func:`training.pipeline.train`: ``train(snapshot, settings) -> (model, evaluation)`` per
  enabled job; :class:`InsufficientHistory` skips it with its message (``Forecast.skipped``)
  and the other models are trained as usual;
- :class:`training.pipeline.TrainResult`: ``model.save(folder / short)``; the evaluation (or
  ``{"skipped": why}``) under ``short`` in ``evaluation.json``;
- :mod:`training.mlflow_models`: a pyfunc model of ``code`` with ``signature(model)`` and
  ``model_type``, its ``model_key`` entry's metrics linked to it;
- :mod:`training.retrain`: a first champion needs ``gate.<short>_metric`` of ``model_key``
  defined; a retrain re-evaluates the champion's configuration section with ``evaluate`` on
  the same snapshot and promotes the challenger when it is not worse beyond
  ``gate.<short>_tolerance`` (higher is better);
- ``advocacy train`` prints the ``columns`` of every model under ``caption(evaluation)``.

A new forecast is one module defining its ``JOB`` plus its line in :func:`jobs`, its config
section and gate keys (:mod:`training.config`), its registry name and headline
(:mod:`training.registry_reader`) and its pyfunc code file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from features.snapshot import Snapshot


class InsufficientHistory(ValueError):
    """Too little history in the store for a forecast (``advocacy train`` skips it, saying
    this message, and trains the other models)."""


@dataclass(frozen=True)
class ForecastJob:
    """One forecast of ``advocacy train`` (module docstring)."""

    name: str
    short: str
    title: str
    model_key: str
    train: Callable[..., tuple[Any, dict[str, Any]]]  # (snapshot, settings[, store=, encoder=])
    evaluate: Callable[..., dict[str, Any]]
    code: Path
    signature: Callable[[Any], Any]
    model_type: str
    description: str
    columns: tuple[str, ...]
    caption: Callable[[Mapping[str, Any]], str]
    # ``train`` and ``evaluate`` also take ``store=`` (the store the snapshot was read from:
    # SQL over windows, the embedding cache) and ``encoder=`` (the text encoder)
    reads_store: bool = False

    def settings(self, config: Any) -> Any:
        """The job's config section of a :class:`training.config.TrainConfig`."""
        return getattr(config, self.short)

    def gate_metric(self, gate: Any) -> str:
        return str(getattr(gate, f"{self.short}_metric"))

    def gate_tolerance(self, gate: Any) -> float:
        return float(getattr(gate, f"{self.short}_tolerance"))

    def fit(
        self, snapshot: Snapshot, settings: Any, *, store: Any = None, encoder: Any = None
    ) -> tuple[Any, dict[str, Any]]:
        """``train``, given the store and the encoder when the job reads them; such a job
        without a store: :class:`InsufficientHistory`."""
        if not self.reads_store:
            return self.train(snapshot, settings)
        if store is None:
            raise InsufficientHistory(f"the {self.title} reads the store, and none was given")
        return self.train(snapshot, settings, store=store, encoder=encoder)

    def reevaluate(
        self, snapshot: Snapshot, settings: Any, *, store: Any = None, encoder: Any = None
    ) -> dict[str, Any]:
        """``evaluate`` (the retrain gate's champion configuration), as :meth:`fit`."""
        if not self.reads_store:
            return self.evaluate(snapshot, settings)
        if store is None:
            raise InsufficientHistory(f"the {self.title} reads the store, and none was given")
        return self.evaluate(snapshot, settings, store=store, encoder=encoder)

    def value(self, evaluation: Mapping[str, Any] | None, metric: str) -> float | None:
        """``metric`` of the job's model in ``evaluation`` (None when undefined)."""
        entry = ((evaluation or {}).get("models") or {}).get(self.model_key) or {}
        value = entry.get(metric)
        return None if value is None else float(value)


@dataclass
class Forecast:
    """What training did with one job: its model and evaluation, or why it was skipped."""

    model: Any = None
    evaluation: dict[str, Any] | None = None
    skipped: str | None = None

    @property
    def summary(self) -> dict[str, Any] | None:
        """The held-out evaluation, or ``{"skipped": why}``."""
        if self.skipped:
            return {"skipped": self.skipped}
        return self.evaluation


@functools.cache
def jobs() -> tuple[ForecastJob, ...]:
    """Every forecast job, in training order (imported on first use: the jobs import this
    module for :class:`ForecastJob`)."""
    from training import content_forecast_job, lapse_job, slots_job

    return (lapse_job.JOB, slots_job.JOB, content_forecast_job.JOB)


def job_by_name(name: str) -> ForecastJob | None:
    """The job of registered model ``name`` (None: not a forecast)."""
    return next((job for job in jobs() if job.name == name), None)
