"""Training and experiment configuration: YAML files validated by pydantic.

Two kinds of config (the ``kind`` key):

- ``train`` (default): what ``advocacy train``, ``retrain`` and ``experiment run`` do on the
  store: features as of ``data.as_of``, the recommender (``recommender.model`` with
  ``recommender.params``) and its baselines evaluated on the most recent holdout window, the
  influencer scorer, the lapse forecast, the best time to share (``slots``), and the retrain
  gate.
  influencer scorer, the lapse forecast, the content performance forecast, and the
  retrain gate.
- ``benchmark``: one of the offline benchmarks of :mod:`training.evaluation.runner` on a
  public dataset (MovieLens-100K, DeskDrop), logged the same way.

Every section forbids unknown keys; an error names the key (``recommender.params.epochs``)
and the problem. ``--set key=value`` overrides use the same dotted keys.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.data.contract import EVENT_TYPES
from recsys.times import to_utc

logger = logging.getLogger(__name__)

USER_MATRICES = ("advocate_profile", "sharing_history", "audience", "org_network")
ITEM_MATRICES = ("content_embeddings", "content_metadata")

#: Strength of each event type as a training signal; 0 leaves the type out (exposure,
#: negative feedback). The replay's test pairs are the first weighted events of each pair.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "view": 1.0,
    "click": 1.5,
    "like": 2.0,
    "rate": 2.0,
    "bookmark": 2.5,
    "follow": 3.0,
    "comment": 4.0,
    "share": 5.0,
    "dismiss": 0.0,
}
_INNER_KEY = re.compile(r"^([\w.\-]+): (.*)$", re.DOTALL)
PositiveFloat = Annotated[float, Field(gt=0)]
#: What ``content_forecast.params`` may set: the model's and the input builder's parameters.
CONTENT_FORECAST_PARAMS = (
    *("alpha", "level", "cv", "model", "random_state"),
    *("components", "max_topics", "audience_days", "topic_days", "author_prior"),
)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Which data: the store as of ``as_of`` (default now), the holdout window at its end."""

    as_of: datetime | None = None
    holdout_days: PositiveFloat = 14.0
    min_train_events: int = Field(100, ge=1)
    min_test_pairs: int = Field(20, ge=1)
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))

    @field_validator("as_of")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return to_utc(value)  # naive means UTC; an aware time keeps its offset as written
        return value

    @field_validator("event_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {list(EVENT_TYPES)}")
        negative = sorted(k for k, v in value.items() if v < 0)
        if negative:
            raise ValueError(f"weights must be >= 0, negative for {negative}")
        merged = {e: 0.0 for e in EVENT_TYPES} | value
        if not any(merged.values()):
            raise ValueError("at least one event type needs a weight > 0")
        return merged


class FeatureConfig(_Section):
    """Which feature matrices the models see, and the feature builders' settings."""

    user_matrices: list[Literal[USER_MATRICES]] = ["advocate_profile"]  # type: ignore[valid-type]
    item_matrices: list[Literal[ITEM_MATRICES]] = ["content_metadata", "content_embeddings"]  # type: ignore[valid-type]
    history_half_life_days: PositiveFloat = 30.0
    encoder_model: str | None = None
    encoder_sha256: str | None = None


class RecommenderConfig(_Section):
    """The model to ship (``model``) and the baselines evaluated next to it."""

    model: str = "hybrid"
    params: dict[str, Any] = Field(default_factory=dict)
    baselines: list[str] = ["popular", "recent_popular", "content", "lightfm_cf", "lightfm_hybrid"]
    baseline_params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> RecommenderConfig:
        from recsys.models import MODELS

        for where, names in (
            ("model", [self.model]),
            ("baselines", self.baselines),
            ("baseline_params", list(self.baseline_params)),
        ):
            for name in names:
                if name not in MODELS:
                    raise ValueError(f"{where}: unknown model {name!r}; known: {sorted(MODELS)}")
        _check_params(self.model, self.params, "params")
        for name, params in self.baseline_params.items():
            _check_params(name, params, f"baseline_params.{name}")
        return self


class InfluencerConfig(_Section):
    """The micro-influencer scorer (``training.influence_job``)."""

    enabled: bool = True
    horizon_days: PositiveFloat = 30.0
    k: int | None = Field(None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)


class LapseConfig(_Section):
    """The lapse forecast (``training.lapse_job``): P(no activity in ``horizon_days``)."""

    enabled: bool = True
    horizon_days: PositiveFloat = 30.0
    C: PositiveFloat = 0.3
    lookback_days: PositiveFloat = 730.0
    min_origins: int = Field(2, ge=2)


class SlotsConfig(_Section):
    """The best time to share (``training.slots_job``): hour-of-week slots per advocate and
    network (``SlotModel``) and engagement per share by slot (``SlotRateModel``)."""

    enabled: bool = True
    holdout_days: PositiveFloat = 28.0
    k: int = Field(3, ge=1, le=168)
    group_by: Literal["department", "region", "country", "none"] = "department"
    min_scored: int = Field(20, ge=1)
    half_life_days: PositiveFloat | None = None
    rate_strength: PositiveFloat = 30.0
    rate_smooth_hours: int = Field(5, ge=0, le=83)


class ContentForecastConfig(_Section):
    """The content performance forecast (``training.content_forecast_job``): first-week
    shares, reach and clicks of an item with an interval. ``params``: the model's
    (:class:`recsys.forecast.ContentForecast`: ``alpha``, ``level``, ``cv``, ``model``
    ridge or group_mean) and the input builder's (``components``, ``max_topics``,
    ``audience_days``, ``topic_days``, ``author_prior``)."""

    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=lambda: {"alpha": 30.0})
    min_items: int = Field(40, ge=10)
    held_out_fraction: float = Field(0.3, gt=0, lt=1)
    warmup_days: float = Field(30.0, ge=0)

    @field_validator("params")
    @classmethod
    def _known_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(CONTENT_FORECAST_PARAMS))
        if unknown:
            raise ValueError(f"unknown {unknown}; known: {sorted(CONTENT_FORECAST_PARAMS)}")
        if params.get("model", "ridge") not in ("ridge", "group_mean"):
            raise ValueError("model: 'ridge' or 'group_mean' (saved as plain arrays)")
        return params


class GateConfig(_Section):
    """When a challenger may replace the champion (``advocacy retrain``)."""

    primary_metric: str = "ndcg@10"
    tolerance: float = Field(0.005, ge=0)
    influencer_metric: str | None = None
    influencer_tolerance: float = Field(0.01, ge=0)
    lapse_metric: Literal["auc", "precision@10%"] = "auc"  # higher is better
    lapse_tolerance: float = Field(0.01, ge=0)
    slots_metric: Literal["hours@k", "next@k"] = "hours@k"  # higher is better
    slots_tolerance: float = Field(0.005, ge=0)
    content_forecast_metric: Literal["spearman"] = "spearman"  # mean over the targets
    content_forecast_tolerance: float = Field(0.02, ge=0)
    min_coverage: float = Field(0.05, ge=0, le=1)
    latency_budget_ms: PositiveFloat = 250.0
    sample_employees: int = Field(200, ge=1)
    k: int = Field(10, ge=1)


class TrainConfig(_Section):
    """``kind: train`` (see the module docstring)."""

    kind: Literal["train"] = "train"
    name: str = "default"
    seed: int = Field(42, ge=0)
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    recommender: RecommenderConfig = Field(default_factory=RecommenderConfig)
    influencer: InfluencerConfig = Field(default_factory=InfluencerConfig)
    lapse: LapseConfig = Field(default_factory=LapseConfig)
    slots: SlotsConfig = Field(default_factory=SlotsConfig)
    content_forecast: ContentForecastConfig = Field(default_factory=ContentForecastConfig)
    gate: GateConfig = Field(default_factory=GateConfig)

    def model_params(self, name: str) -> dict[str, Any]:
        """Constructor arguments of model ``name``: config params, the seed where it applies."""
        from recsys.models import MODELS

        recommender = self.recommender
        if name == recommender.model:
            params = dict(recommender.params)
        else:
            params = dict(recommender.baseline_params.get(name, {}))
        if "random_state" in MODELS[name]().get_params() and "random_state" not in params:
            params["random_state"] = self.seed
        return params


class RollingConfig(_Section):
    """Origins at every month start from ``from`` to ``to`` (dates or unix seconds)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    every: Literal["monthly"] = "monthly"
    start: str = Field(alias="from")
    end: str = Field(alias="to")


class BenchmarkConfig(_Section):
    """``kind: benchmark``: an offline benchmark of :mod:`training.evaluation.runner`.

    ``origins`` (a list) or ``rolling`` (``{every: monthly, from: D, to: D}``) make
    ``deskdrop-replay`` a rolling-origin benchmark (:mod:`training.evaluation.rolling`) instead
    of one split (``split_at``, ``until``)."""

    kind: Literal["benchmark"]
    name: str = "benchmark"
    benchmark: str
    data: Path | None = None
    models: list[str] | None = None
    model_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    split_at: str | None = None
    until: str | None = None
    origins: list[str] | None = None
    rolling: RollingConfig | None = None

    def origin_list(self) -> list[str | int] | None:
        """The rolling benchmark's origins, or None for a single split."""
        from training.evaluation.rolling import rolling_origins

        if self.rolling is not None:
            return list(rolling_origins(self.rolling.start, self.rolling.end, self.rolling.every))
        return None if self.origins is None else list(self.origins)

    @model_validator(mode="after")
    def _known(self) -> BenchmarkConfig:
        from recsys.models import MODELS
        from training.evaluation.registry import BENCHMARKS
        from training.evaluation.rolling import origin_windows

        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"benchmark: unknown {self.benchmark!r}; known: {list(BENCHMARKS)}")
        if self.origins is not None or self.rolling is not None:
            where = "rolling" if self.rolling is not None else "origins"
            if self.benchmark != "deskdrop-replay":
                raise ValueError(f"{where}: only deskdrop-replay has rolling origins")
            if self.origins is not None and self.rolling is not None:
                raise ValueError("origins: give either origins or rolling, not both")
            if self.split_at is not None or self.until is not None:
                raise ValueError(f"{where}: split_at and until are for a single split")
            try:
                origin_windows(self.origin_list() or [])
            except ValueError as exc:
                option = getattr(exc, "option", "origins")
                key = where if option == "origins" else f"rolling.{option}"
                raise ValueError(f"{key}: {exc}") from None

        for name in [*(self.models or []), *self.model_params]:
            if name not in MODELS:
                raise ValueError(f"models: unknown model {name!r}; known: {sorted(MODELS)}")
        for name, params in self.model_params.items():
            _check_params(name, params, f"model_params.{name}")
        return self


Config = TrainConfig | BenchmarkConfig


def _check_params(model: str, params: Mapping[str, Any], where: str) -> None:
    from recsys.models import MODELS, make_recommender

    known = MODELS[model]().get_params()
    for key, value in params.items():
        if key not in known:
            raise ValueError(f"{where}.{key}: not a parameter of {model!r}; known: {sorted(known)}")
        default = known[key]
        if isinstance(default, bool) != isinstance(value, bool) and default is not None:
            raise ValueError(f"{where}.{key}: expected {type(default).__name__}, got {value!r}")
        if isinstance(default, int | float) and not isinstance(value, int | float):
            raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
        if isinstance(default, int) and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{where}.{key}: expected an integer, got {value!r}")
        if isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{where}.{key}: expected text, got {value!r}")
    try:
        make_recommender(model, params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


# -- loading ------------------------------------------------------------------------------
def parse_config(raw: Mapping[str, Any] | None, *, source: str = "config") -> Config:
    """A validated config from a mapping (e.g. parsed YAML); :class:`ConfigError` if not."""
    raw = dict(raw or {})
    try:
        if raw.get("kind", "train") == "benchmark":
            return BenchmarkConfig.model_validate(raw)
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(
    path: Path | str | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """The config in YAML file ``path`` (default: every default) with dotted ``overrides``."""
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys")
        raw = loaded or {}
    for key, value in (overrides or {}).items():
        raw = with_override(raw, key, value)
    return parse_config(raw, source=source)


def with_override(raw: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of ``raw`` with dotted ``key`` set to ``value``."""
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"--set {key!r}: not a dotted key")
    result = json.loads(json.dumps(raw, default=str))
    node = result
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value
    return result


def parse_sets(sets: Sequence[str]) -> dict[str, list[Any]]:
    """``["a.b=1,2", "c=x"]`` -> ``{"a.b": [1, 2], "c": ["x"]}`` (values read as YAML)."""
    grid: dict[str, list[Any]] = {}
    for item in sets:
        key, sep, values = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value[,value...]")
        grid[key.strip()] = [yaml.safe_load(v) for v in _split_values(values)]
    return grid


def _split_values(text: str) -> list[str]:
    """Comma-separated values; a value in brackets (a YAML list) keeps its commas."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order (one empty point without a grid)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def flatten(config: BaseModel | Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys -> text values (MLflow params); lists and empty mappings as JSON."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{name}.")
        elif isinstance(value, dict | list):
            flat[name] = json.dumps(value, sort_keys=True)
        else:
            flat[name] = "" if value is None else str(value)
    return flat


def config_yaml(config: BaseModel) -> str:
    """The full config (defaults filled in) as YAML, to save next to a run."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        inner = _INNER_KEY.match(message)
        if error["type"] == "value_error" and inner:
            key = f"{key}.{inner.group(1)}" if error["loc"] else inner.group(1)
            message = inner.group(2)
        lines.append(f"{key}: {message}")
    return f"{source}: " + "; ".join(lines)
