"""Service configuration from the environment (the ``advocacy serve`` options set it).

| variable | meaning | default |
|---|---|---|
| ``ADVOCACY_DB_URL`` | the store | ``sqlite:///$ADVOCACY_DATA_DIR/advocacy.db`` |
| ``MLFLOW_TRACKING_URI`` | the MLflow registry the champion comes from | the embedded store |
| ``ADVOCACY_MODEL_DIR`` | serve this saved recommender folder instead of the registry | |
| ``ADVOCACY_INFLUENCER_MODEL_DIR`` | serve this saved influencer scorer folder | |
| ``ADVOCACY_LAPSE_MODEL_DIR`` | serve this saved lapse model folder (``/at_risk``) | |
| ``ADVOCACY_CONTENT_FORECAST_DIR`` | serve this saved content forecast (``/content_forecast``) | |
| ``ADVOCACY_SLOTS_MODEL_DIR`` | serve this saved slot model folder (``/share_plan``) | |
| ``ADVOCACY_CATALOGUE_REFRESH`` | seconds between catalogue refreshes | 30 |
| ``ADVOCACY_MODEL_REFRESH`` | seconds between polls of the champion alias | 60 |
| ``ADVOCACY_EVENT_FOLLOW`` | seconds between reads of the store's new events | 1 |
| ``ADVOCACY_SCORE_CACHE_MB`` | memory for per-employee score rows (0: none) | 512 |
| ``ADVOCACY_FEED_KERNEL`` | ``numba`` (compiled) or ``numpy`` (the reference): same feeds | numba |
| ``ADVOCACY_EMV_CONFIG`` | earned media value rates (YAML, ``features.program.emv``) | examples |
| ``ADVOCACY_POLICY`` | content screening policy (YAML, ``features.screening``) | default |
| ``ADVOCACY_CANDIDATES_TTL`` | seconds influencer scores are kept (reviews: read fresh) | 600 |
| ``ADVOCACY_CONSOLE_SECRET`` | key signing console sessions (32+ characters) | random per process |
| ``ADVOCACY_CONSOLE_SESSION_HOURS`` | how long a console sign-in lasts | 8 |
| ``ADVOCACY_TOKENS`` | ``token:role,token:role`` | |
| ``ADVOCACY_TOKENS_FILE`` | a file of ``token:role`` lines | |
| ``ADVOCACY_WORKERS`` | BentoML worker processes (each loads the model) | 1 |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from features.screening.policy import POLICY_ENV, PolicyError, load_policy
from recsys.feed_kernel import KERNEL_ENV, resolve_kernel
from serving.auth import TOKENS_ENV, TOKENS_FILE_ENV, Tokens
from serving.forecasts import forecast_dirs

DB_URL_ENV = "ADVOCACY_DB_URL"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
MODEL_DIR_ENV = "ADVOCACY_MODEL_DIR"
INFLUENCER_DIR_ENV = "ADVOCACY_INFLUENCER_MODEL_DIR"
CATALOGUE_REFRESH_ENV = "ADVOCACY_CATALOGUE_REFRESH"
MODEL_REFRESH_ENV = "ADVOCACY_MODEL_REFRESH"
EVENT_FOLLOW_ENV = "ADVOCACY_EVENT_FOLLOW"
SCORE_CACHE_ENV = "ADVOCACY_SCORE_CACHE_MB"
EMV_CONFIG_ENV = "ADVOCACY_EMV_CONFIG"
CANDIDATES_TTL_ENV = "ADVOCACY_CANDIDATES_TTL"
CONSOLE_SECRET_ENV = "ADVOCACY_CONSOLE_SECRET"
CONSOLE_SESSION_ENV = "ADVOCACY_CONSOLE_SESSION_HOURS"
WORKERS_ENV = "ADVOCACY_WORKERS"
MIN_CONSOLE_SECRET = 32
DEFAULT_SESSION_HOURS = 8.0

DEFAULT_CATALOGUE_REFRESH = 30.0
DEFAULT_MODEL_REFRESH = 60.0
DEFAULT_EVENT_FOLLOW = 1.0
#: Seconds the influencer candidates' scored organisation is kept (reviews are read fresh).
DEFAULT_CANDIDATES_TTL = 600.0
#: Per-employee static score rows the hybrid keeps (4 bytes per item per employee: 512 MB
#: hold 10k employees x 13k items); employees beyond it are scored in full per feed.
DEFAULT_SCORE_CACHE_MB = 512.0


class ConfigError(ValueError):
    """A configuration value that cannot be used; names the variable."""


def workers_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The number of BentoML worker processes, ``ADVOCACY_WORKERS`` (default 1).

    Read when :mod:`serving.service` is imported (the ``@bentoml.service`` decorator takes
    it); ``BENTOML_CONFIG_OVERRIDES`` (``{"services": {"advocacy": {"workers": N}}}``)
    still takes precedence, as for any option of the decorator.
    """
    env = os.environ if environ is None else environ
    raw = env.get(WORKERS_ENV, "").strip()
    if not raw:
        return 1
    try:
        workers = int(raw)
    except ValueError:
        raise ConfigError(f"{WORKERS_ENV} must be a whole number >= 1, got {raw!r}") from None
    if workers < 1:
        raise ConfigError(f"{WORKERS_ENV} must be a whole number >= 1, got {raw!r}")
    return workers


@dataclass(frozen=True)
class ServingConfig:
    """Where the service reads from and how often it refreshes."""

    db_url: str | None = None
    tracking_uri: str | None = None
    model_dir: Path | None = None
    influencer_dir: Path | None = None
    catalogue_refresh: float = DEFAULT_CATALOGUE_REFRESH
    model_refresh: float = DEFAULT_MODEL_REFRESH
    event_follow: float = DEFAULT_EVENT_FOLLOW
    tokens_spec: str | None = None
    tokens_file: Path | None = None
    score_cache_mb: float = DEFAULT_SCORE_CACHE_MB
    emv_config: Path | None = None
    screening_policy: Path | None = None  # None: the default policy (features.screening)
    candidates_ttl: float = DEFAULT_CANDIDATES_TTL
    console_secret: str | None = None
    console_session_hours: float = DEFAULT_SESSION_HOURS
    feed_kernel: str | None = None  # checked here; rankers read ADVOCACY_FEED_KERNEL themselves
    # saved folders of forecast models by key (serving.forecasts: each one's variable)
    forecast_dirs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.console_secret is not None and len(self.console_secret) < MIN_CONSOLE_SECRET:
            raise ConfigError(
                f"{CONSOLE_SECRET_ENV} needs at least {MIN_CONSOLE_SECRET} characters"
            )
        for name in ("catalogue_refresh", "model_refresh", "event_follow", "candidates_ttl"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        if not self.console_session_hours > 0:
            raise ConfigError(
                f"console_session_hours must be > 0 hours, got {self.console_session_hours}"
            )
        if not self.score_cache_mb >= 0:
            raise ConfigError(f"score_cache_mb must be >= 0, got {self.score_cache_mb}")
        if self.screening_policy is not None:
            try:
                load_policy(self.screening_policy)
            except PolicyError as exc:
                raise ConfigError(f"{POLICY_ENV}: {exc}") from None
        if self.feed_kernel is not None:
            try:
                resolve_kernel(self.feed_kernel)
            except ValueError as exc:
                raise ConfigError(f"{KERNEL_ENV}: {exc}") from None

    @property
    def score_cache_bytes(self) -> int:
        return int(self.score_cache_mb * (1 << 20))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingConfig:
        env = os.environ if environ is None else environ
        return cls(
            db_url=env.get(DB_URL_ENV) or None,
            tracking_uri=env.get(TRACKING_URI_ENV) or None,
            model_dir=_path(env.get(MODEL_DIR_ENV)),
            influencer_dir=_path(env.get(INFLUENCER_DIR_ENV)),
            catalogue_refresh=_seconds(env, CATALOGUE_REFRESH_ENV, DEFAULT_CATALOGUE_REFRESH),
            model_refresh=_seconds(env, MODEL_REFRESH_ENV, DEFAULT_MODEL_REFRESH),
            event_follow=_seconds(env, EVENT_FOLLOW_ENV, DEFAULT_EVENT_FOLLOW),
            tokens_spec=env.get(TOKENS_ENV) or None,
            tokens_file=_path(env.get(TOKENS_FILE_ENV)),
            score_cache_mb=_megabytes(env, SCORE_CACHE_ENV, DEFAULT_SCORE_CACHE_MB),
            emv_config=_path(env.get(EMV_CONFIG_ENV)),
            screening_policy=_path(env.get(POLICY_ENV)),
            candidates_ttl=_seconds(env, CANDIDATES_TTL_ENV, DEFAULT_CANDIDATES_TTL),
            console_secret=env.get(CONSOLE_SECRET_ENV) or None,
            console_session_hours=_hours(env, CONSOLE_SESSION_ENV, DEFAULT_SESSION_HOURS),
            feed_kernel=env.get(KERNEL_ENV) or None,
            forecast_dirs=forecast_dirs(env),
        )

    def tokens(self) -> Tokens:
        """Tokens of the file and of the variable together."""
        parts = []
        if self.tokens_file is not None:
            parts.append(Tokens.from_file(self.tokens_file))
        if self.tokens_spec:
            parts.append(Tokens.parse(self.tokens_spec))
        return Tokens.combine(parts)


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, "seconds", minimum=0.0, inclusive=False)


def _hours(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, "hours", minimum=0.0, inclusive=False)


def _megabytes(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, "megabytes", minimum=0.0, inclusive=True)


def _number(
    env: Mapping[str, str], name: str, default: float, unit: str, *, minimum: float, inclusive: bool
) -> float:
    """``env[name]`` as a number above ``minimum`` (or equal, if ``inclusive``)."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of {unit}, got {raw!r}") from exc
    if not (value >= minimum if inclusive else value > minimum):
        bound = ">=" if inclusive else ">"
        raise ConfigError(f"{name} must be {bound} {minimum:g} {unit}, got {raw!r}")
    return value
