"""The forecast models the service loads beside the recommender, one entry each in
:data:`SERVED_FORECASTS`.

Each is served from a saved folder (its ``dir_env`` variable, an ``advocacy serve`` option)
or, when the service reads its recommender from the registry, from the registry's champion of
``registered_name``; with a folder-served recommender and no folder of its own it is not
loaded. The model poller loads a new version outside any lock and sets it on the
:class:`~serving.state.StateHolder` (:meth:`~serving.refresh.Refresher.refresh_forecast`): a
request reads ``holder.forecast(key)`` once, so a new champion replaces the old one between
requests. ``/status`` gives each one's version as ``<key>_model_version``.

A new forecast is one :class:`ServedForecast` here, its views and its endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from serving.model_source import FolderSource, ModelSource, ModelVersion, RegistrySource

#: The text encoder as the service holds it: loaded, a factory called at first use, or none.
EncoderRef = object


@dataclass(frozen=True)
class ServedForecast:
    """One forecast model of the service: how it is named, found and loaded."""

    key: str  # the holder's key and the prefix of its /status field
    registered_name: str  # the registry model whose champion is served
    dir_env: str  # the variable naming a saved folder to serve instead
    serves: str  # the endpoints answering from it (messages)
    load_folder: Callable[[Path, EncoderRef], object]  # a saved folder -> the model

    def loader(self, encoder: EncoderRef) -> Callable[[ModelVersion], object]:
        """Loads a fetched version with the service's text encoder (a factory is called at
        the load, on the poller's thread)."""

        def load(version: ModelVersion) -> object:
            resolved = encoder() if callable(encoder) else encoder
            return self.load_folder(Path(version.path), resolved)

        return load

    def source(
        self,
        folder: Path | None,
        *,
        recommender_from_folder: bool,
        tracking_uri: str | None,
        cache_dir: Path,
    ) -> ModelSource | None:
        """Its folder, else the registry's champion unless the recommender is served from a
        folder (then a forecast comes from a folder too, or not at all)."""
        if folder is not None:
            return FolderSource(folder, self.registered_name)
        if recommender_from_folder:
            return None
        return RegistrySource(self.registered_name, tracking_uri=tracking_uri, cache_dir=cache_dir)


def _load_lapse(folder: Path, encoder: EncoderRef) -> object:
    from recsys.forecast import LapseModel

    return LapseModel.load(folder)


LAPSE = ServedForecast(
    key="lapse",
    registered_name="advocacy-lapse",
    dir_env="ADVOCACY_LAPSE_MODEL_DIR",
    serves="/at_risk",
    load_folder=_load_lapse,
)


def _load_content_forecast(folder: Path, encoder: EncoderRef) -> object:
    from features.content_forecaster import ContentForecaster

    return ContentForecaster.load(folder, encoder=encoder)  # type: ignore[arg-type]


CONTENT_FORECAST = ServedForecast(
    key="content_forecast",
    registered_name="advocacy-content-forecast",
    dir_env="ADVOCACY_CONTENT_FORECAST_DIR",
    serves="/content_forecast, /content_forecast_draft",
    load_folder=_load_content_forecast,
)


def _load_slots(folder: Path, encoder: EncoderRef) -> object:
    from serving.share_plan import load_slot_planner

    return load_slot_planner(folder)


SLOTS = ServedForecast(
    key="slots",
    registered_name="advocacy-slots",
    dir_env="ADVOCACY_SLOTS_MODEL_DIR",
    serves="/share_plan and /feed's suggest_times",
    load_folder=_load_slots,
)

SERVED_FORECASTS: Mapping[str, ServedForecast] = {
    f.key: f for f in (LAPSE, SLOTS, CONTENT_FORECAST)
}


def forecast_dirs(env: Mapping[str, str]) -> dict[str, Path]:
    """The saved folders the environment names, by forecast key."""
    return {
        key: Path(env[forecast.dir_env]).expanduser()
        for key, forecast in SERVED_FORECASTS.items()
        if env.get(forecast.dir_env)
    }
