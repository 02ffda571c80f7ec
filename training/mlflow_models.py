"""Logging the recommender, the influencer scorer and the forecasts
(:func:`training.forecast_jobs.jobs`) as MLflow ``pyfunc`` models.

:func:`log_models` logs a training's saved folders as logged models of its run (the
wrappers of :mod:`training.pyfunc_models`, given as code: nothing is pickled), with an
explicit signature, this project's pinned requirements (MLflow then neither runs the model
nor resolves packages while logging) and the served model's holdout metrics linked to them.
The registry's versions are these models
(:meth:`training.registry.Registry.register_logged_model`).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, LoggedModel, LoggedModelOutput, Metric
from mlflow.models import Model, ModelSignature
from mlflow.pyfunc import save_model
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType

from training.config import flatten
from training.forecast_jobs import jobs
from training.pyfunc_models import CANDIDATE_COLUMNS, FEED_COLUMNS, LAPSE_COLUMNS, SCORER_EXTRAS
from training.registry import FOLDER_ARTIFACT, INFLUENCERS, RECOMMENDER
from training.tracking import evaluation_metrics

PROJECT = "advocacy-recsys"
RECOMMENDER_CODE = Path(__file__).with_name("pyfunc_recommender.py")
INFLUENCERS_CODE = Path(__file__).with_name("pyfunc_influencers.py")
_NAME = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?")
_BATCH = 500


def log_models(
    client: MlflowClient,
    result: Any,
    run_id: str,
    saved: Mapping[str, Path],
    measured: tuple[Dataset, int],
) -> dict[str, LoggedModel]:
    """The saved recommender (and influencer scorer and trained forecasts) of ``result``
    (folders ``saved`` by ``TrainResult.save``) logged as pyfunc models of run ``run_id``, by
    registry name; each with its overall holdout metrics as the run logged them at
    ``measured``'s timestamp, measured on ``measured``'s dataset."""
    config = result.config
    common: dict[str, Any] = {
        "params": flatten(config),
        "tags": {
            "data.fingerprint": str(result.profile["fingerprint"]),
            "config.name": config.name,
        },
    }
    models = {
        RECOMMENDER: log_pyfunc(
            client,
            run_id,
            name="recommender",
            code=RECOMMENDER_CODE,
            folder=saved["recommender"],
            signature=recommender_signature(),
            model_type=config.recommender.model,
            **common,
        )
    }
    headline = {RECOMMENDER: _overall(result.evaluation, config.recommender.model, "rec")}
    if result.influencer is not None:
        models[INFLUENCERS] = log_pyfunc(
            client,
            run_id,
            name="influencers",
            code=INFLUENCERS_CODE,
            folder=saved["influencers"],
            signature=influencer_signature(result.influencer),
            model_type="influence-scorer",
            **common,
        )
        headline[INFLUENCERS] = _overall(result.influence_evaluation or {}, "influence", "inf")
    for job in jobs():
        forecast = result.forecast(job.short)
        if forecast.model is None:
            continue
        models[job.name] = log_pyfunc(
            client,
            run_id,
            name=job.short,
            code=job.code,
            folder=saved[job.short],
            signature=job.signature(forecast.model),
            model_type=job.model_type,
            **common,
        )
        headline[job.name] = _overall(forecast.evaluation or {}, job.model_key, job.short)
    for name, model in models.items():
        _link_metrics(client, run_id, model.model_id, headline[name], measured)
    return models


def recommender_signature() -> ModelSignature:
    """``employee_id`` (+ optional ``k``, ``as_of``) in, feed rows out."""
    inputs = Schema(
        [
            ColSpec("string", "employee_id"),
            ColSpec("long", "k", required=False),
            ColSpec(AnyType(), "as_of", required=False),
        ]
    )
    types = ("string", "long", "string", "string", "double")
    outputs = Schema([ColSpec(t, c) for t, c in zip(types, FEED_COLUMNS, strict=True)])
    return ModelSignature(inputs, outputs)


def influencer_signature(scorer: Any) -> ModelSignature:
    """``employee_id`` and the scorer's features (required) and extras (optional) in,
    candidate rows out."""
    required = list(scorer.feature_names_)
    optional = dict.fromkeys([*SCORER_EXTRAS, *scorer.reference_])
    columns = [ColSpec("string", "employee_id"), *(ColSpec("double", n) for n in required)]
    columns += [ColSpec("double", n, required=False) for n in optional if n not in required]
    types = ("string", "double", "boolean", "string", "string", "boolean", "string")
    outputs = Schema([ColSpec(t, c) for t, c in zip(types, CANDIDATE_COLUMNS, strict=True)])
    return ModelSignature(Schema(columns), outputs)


def lapse_signature(model: Any) -> ModelSignature:
    """``employee_id`` and the lapse model's features in, P(lapse) and reasons out."""
    columns = [ColSpec("string", "employee_id"), *(ColSpec("double", n) for n in model.features)]
    types = ("string", "double", "string")
    outputs = Schema([ColSpec(t, c) for t, c in zip(types, LAPSE_COLUMNS, strict=True)])
    return ModelSignature(Schema(columns), outputs)


def pip_requirements() -> list[str]:
    """This project and its runtime dependencies pinned to the installed versions (MLflow
    then infers nothing: no model load, no network while logging)."""
    pins = [f"{PROJECT}=={importlib.metadata.version(PROJECT)}"]
    for requirement in importlib.metadata.requires(PROJECT) or []:
        if "extra ==" in requirement:
            continue
        found = _NAME.match(requirement.strip())
        if found is None:
            continue
        name, extras = found.group(1), found.group(2) or ""
        try:
            pins.append(f"{name}{extras}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(requirement.split(";")[0].strip())
    return pins


def log_pyfunc(
    client: MlflowClient,
    run_id: str,
    *,
    name: str,
    code: Path,
    folder: Path,
    signature: ModelSignature,
    model_type: str,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> LoggedModel:
    """Log ``folder`` under the wrapper ``code`` as an MLflow model of run ``run_id`` (one
    of the run's outputs, shown on its page and in the experiment's Models tab)."""
    experiment_id = client.get_run(run_id).info.experiment_id
    model = client.create_logged_model(
        experiment_id,
        name=name,
        source_run_id=run_id,
        params={k[:250]: str(v)[:6000] for k, v in (params or {}).items()},
        tags=dict(tags or {}),
        model_type=model_type,
    )
    try:
        with tempfile.TemporaryDirectory() as scratch, _quiet():
            path = Path(scratch) / "model"
            save_model(
                str(path),
                python_model=str(code),
                artifacts={FOLDER_ARTIFACT: str(folder)},
                signature=signature,
                pip_requirements=pip_requirements(),
                mlflow_model=Model(
                    artifact_path=model.artifact_location,
                    model_uuid=model.model_id,
                    run_id=run_id,
                    model_id=model.model_id,
                ),
            )
            client.log_model_artifacts(model.model_id, str(path))
        client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
    except BaseException:
        client.finalize_logged_model(model.model_id, "FAILED")
        raise
    return client.finalize_logged_model(model.model_id, "READY")


@contextmanager
def _quiet() -> Iterator[None]:
    """Without MLflow's copy progress bars and its advice to log an input example (an
    example would be run through the model, which reads a store, while logging)."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _overall(result: Mapping[str, Any], model: str, prefix: str) -> dict[str, float]:
    """``model``'s overall metrics in ``result`` as the run logged them (no slices, no
    seconds)."""
    entry = (result.get("models") or {}).get(model) or {}
    overall = {k: v for k, v in entry.items() if k not in ("slices", "seconds")}
    return evaluation_metrics({"models": {model: overall}}, prefix)


def _link_metrics(
    client: MlflowClient,
    run_id: str,
    model_id: str,
    metrics: Mapping[str, float],
    measured: tuple[Dataset, int],
) -> None:
    """``metrics`` of the run (logged at ``measured[1]``) linked to the logged model
    ``model_id`` and the dataset they were measured on, as MLflow's ``log_model`` links a
    run's metrics (the same values and timestamps: the run's history holds them once)."""
    holdout, stamp = measured
    items = [
        Metric(k, float(v), stamp, 0, model_id, holdout.name, holdout.digest, run_id)
        for k, v in metrics.items()
    ]
    for start in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[start : start + _BATCH])
