"""The content performance forecast as an MLflow ``pyfunc`` model (the wrapper that runs when
a logged ``advocacy-content-forecast`` version loads; :mod:`training.pyfunc_content_forecast`
is its code file, so nothing is pickled).

The artifact ``folder`` is the saved :class:`~features.content_forecaster.ContentForecaster`.
The forecast reads the store (its audience, competition and history, as of each item's
publication), from ``model_config["store"]`` (default ``$ADVOCACY_DB_URL``, else
``<data dir>/advocacy.db``, as ``advocacy serve``). Input columns: ``content_id`` (string, an
item of the store) and optional ``as_of`` (an ISO 8601 string, a timestamp or unix seconds;
naive = UTC; default now). Output per input row, in input order: ``content_id`` and, for each
of shares, reach and clicks, the forecast and the interval's bounds (``shares``,
``shares_lower``, ``shares_upper``, ...)::

    model = mlflow.pyfunc.load_model("models:/advocacy-content-forecast@champion")
    model.predict(pd.DataFrame({"content_id": ["c00412", "c00413"]}))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from features.content_performance import OUTCOMES
from training.pyfunc_models import open_store, ranking_times
from training.registry_reader import FOLDER_ARTIFACT

CONTENT_FORECAST_COLUMNS = (
    "content_id",
    *(f"{target}{part}" for target in OUTCOMES for part in ("", "_lower", "_upper")),
)


class ContentForecastModel(PythonModel):
    """The content forecast of the store's items (module docstring)."""

    def load_context(self, context: PythonModelContext) -> None:
        from features.content_forecaster import ContentForecaster

        self.store = (context.model_config or {}).get("store")
        self.forecaster = ContentForecaster.load(Path(context.artifacts[FOLDER_ARTIFACT]))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One forecast row per input row, in input order (module docstring)."""
        frame = model_input.reset_index(drop=True)
        ids = [str(c) for c in frame["content_id"]]
        times = ranking_times(frame.get("as_of"), len(ids))
        rows: list[dict[str, object]] = [{} for _ in ids]
        store = open_store(self.store)
        try:
            for moment in sorted(set(times.tolist())):
                chosen = [i for i in range(len(ids)) if times[i] == moment]
                as_of = pd.Timestamp(moment, unit="s", tz="UTC")
                found = self.forecaster.forecast(store, [ids[i] for i in chosen], as_of=as_of)
                for i, outlook in zip(chosen, found, strict=True):
                    rows[i] = {"content_id": outlook.content_id} | {
                        f"{t}{part}": values[t]
                        for t in OUTCOMES
                        for part, values in (
                            ("", outlook.expected),
                            ("_lower", outlook.lower),
                            ("_upper", outlook.upper),
                        )
                    }
        finally:
            store.dispose()
        return pd.DataFrame.from_records(rows, columns=list(CONTENT_FORECAST_COLUMNS))
