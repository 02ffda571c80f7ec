"""The recommender and the influencer scorer as MLflow ``pyfunc`` models: the wrappers that
run when a logged model loads (:mod:`training.mlflow_models` logs them).

Each logged model holds the project's own saved folder (``Recommender.save`` output with
``feature_spec.json``, or the influencer scorer's ``save`` output: JSON and ``.npz`` arrays)
as its pyfunc artifact ``folder``; the wrapper class is given to MLflow as code ("models from
code": :mod:`training.pyfunc_recommender`, :mod:`training.pyfunc_influencers`), so nothing is
pickled. Loading needs this project installed::

    mlflow.set_tracking_uri("sqlite:///data/mlflow.db")
    feed = mlflow.pyfunc.load_model("models:/advocacy-recommender@champion")
    feed.predict(pd.DataFrame({"employee_id": ["e1", "e2"]}))

:class:`RecommenderModel` ranks as the service does: the service's feed
(:class:`recsys.feed.FeedRanker`: eligibility, diversity, default policy) over the store's
catalogue and audience, read when the model loads, from ``model_config["store"]`` (default
``$ADVOCACY_DB_URL``, else ``<data dir>/advocacy.db``, as ``advocacy serve``). Input columns:
``employee_id`` (string), optional ``k`` (integer, default 10) and ``as_of`` (an ISO 8601
string, a timestamp or unix seconds; naive times are UTC; default now): the ranking time,
not a past state of the store. Output: one row per feed item, ``employee_id``, ``rank``
(1-based), ``content_id``, ``title`` and ``score``, in input order.

:class:`InfluencerModel` scores feature rows: ``employee_id`` and the scorer's feature
columns (its signature lists them); :meth:`InfluencerModel.feature_rows` builds them from a
store. Output per row: ``employee_id``, ``score``, ``flagged``, ``tier``, ``confidence``,
``in_band`` and ``reasons`` (the reasons' texts joined by ``"; "``).

:class:`SharePlanForecastModel` plans the best time to share: ``employee_id`` (string) and
optional ``network`` (string; missing: every event's hours) and ``k`` (integer, default 3) in,
one row per suggested slot out: ``employee_id``, ``network`` (the activity network the slots
come from: the one asked for when the model has it, else ``all``), ``rank`` (1 = best), ``slot``
(hour of the week, UTC, 0 = Monday 00:00), ``slot_name``, ``lift`` (over the advocate's habit
slot), ``rate`` (expected engagement per share relative to their typical share; NaN without
share outcomes on that network) and ``known`` (false: an employee the model has not seen, who
gets the organisation's slots).

:class:`LapseForecastModel` scores feature rows of the lapse forecast: ``employee_id`` and the
model's feature columns (:func:`recsys.forecast.feature_names`, built from a store by
:func:`features.advocate_activity.read_activity`). Output per row: ``employee_id``,
``probability`` (of no activity in the model's horizon) and ``reasons`` (their texts joined by
``"; "``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from features.data.times import column_seconds
from recsys.feed_arrays import NETWORKS
from training.registry import FOLDER_ARTIFACT

DEFAULT_K = 10
FEED_COLUMNS = ("employee_id", "rank", "content_id", "title", "score")
CANDIDATE_COLUMNS = (
    "employee_id",
    "score",
    "flagged",
    "tier",
    "confidence",
    "in_band",
    "reasons",
)
#: Columns the influencer scorer reads when present (flags, tiers, reasons), besides its
#: features.
LAPSE_COLUMNS = ("employee_id", "probability", "reasons")
SLOT_COLUMNS = ("employee_id", "network", "rank", "slot", "slot_name", "lift", "rate", "known")
DEFAULT_SLOTS = 3
SCORER_EXTRAS = (
    "followers_max",
    "shares_measured",
    "engagement_lift_ratio",
    *(f"followers_{network}" for network in NETWORKS),
)


# -- the wrappers -------------------------------------------------------------------------
class RecommenderModel(PythonModel):
    """The service's feed over a saved recommender (module docstring)."""

    def load_context(self, context: PythonModelContext) -> None:
        from recsys.models import load_recommender

        config = dict(context.model_config or {})
        self.k = int(config.get("k") or DEFAULT_K)
        model = load_recommender(Path(context.artifacts[FOLDER_ARTIFACT]))
        self.ranker = store_ranker(model, config.get("store"))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The feed of each row's employee at its time (module docstring)."""
        frame = model_input.reset_index(drop=True)
        ids = [str(e) for e in frame["employee_id"]]
        ks = frame["k"].astype(int).tolist() if "k" in frame else [self.k] * len(ids)
        times = ranking_times(frame.get("as_of"), len(ids))
        rows: list[tuple[object, ...]] = []
        for i, feed in enumerate(self._feeds(ids, ks, times)):
            rows += [(ids[i], x.rank, x.content_id, x.title, x.score) for x in feed.items]
        out = pd.DataFrame.from_records(rows, columns=list(FEED_COLUMNS))
        return out.astype({"rank": "int64", "score": "float64"})

    def _feeds(self, ids: list[str], ks: list[int], times: np.ndarray) -> list[Any]:
        """Feeds in input order, scored in batches of the same ``k`` and time."""
        groups: dict[tuple[int, float], list[int]] = {}
        for i, key in enumerate(zip(ks, times.tolist(), strict=True)):
            groups.setdefault(key, []).append(i)
        feeds: list[Any] = [None] * len(ids)
        for (k, moment), rows in groups.items():
            batch = self.ranker.feeds([ids[i] for i in rows], k, as_of=moment)
            for i, feed in zip(rows, batch, strict=True):
                feeds[i] = feed
        return feeds


class InfluencerModel(PythonModel):
    """The influencer scorer over feature rows (module docstring)."""

    def load_context(self, context: PythonModelContext) -> None:
        from recsys.influence import InfluenceScorer

        self.store = (context.model_config or {}).get("store")
        self.scorer = InfluenceScorer.load(Path(context.artifacts[FOLDER_ARTIFACT]))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """A candidate row per input row, in input order."""
        from recsys.ids import IdMap
        from recsys.matrix import FeatureMatrix

        frame = model_input.reset_index(drop=True)
        names = tuple(c for c in frame.columns if c != "employee_id")
        ids = IdMap.from_ids(frame["employee_id"].astype(str), "employee")
        if len(ids) != len(frame):
            raise ValueError("employee_id: each employee at most once per call")
        values = frame[list(names)].to_numpy(np.float64)
        candidates = self.scorer.score(FeatureMatrix(values, names, ids))
        rows = [
            (c.employee_id, c.score, c.flagged, c.tier, c.confidence.level, c.in_band,
             "; ".join(r.text for r in c.reasons))
            for c in candidates
        ]  # fmt: skip
        return pd.DataFrame.from_records(rows, columns=list(CANDIDATE_COLUMNS))

    def feature_rows(self, store: str | None = None, as_of: object = None) -> pd.DataFrame:
        """The scorer's input rows (its signature's columns) of every advocate who did not
        opt out, built from the store (``store``, else ``model_config["store"]``, else the
        default) as of ``as_of`` (default now) with the feature settings the scorer was
        trained with."""
        from features.data.reader import StoreReader
        from features.snapshot import Snapshot
        from training.influence_job import build_features

        seconds = ranking_times(None if as_of is None else [as_of], 1)[0]
        opened = open_store(store or self.store)
        try:
            snapshot = Snapshot.load(StoreReader(opened), pd.Timestamp(seconds, unit="s", tz=UTC))
        finally:
            opened.dispose()
        frame = feature_frame(
            build_features(snapshot, self.scorer.training_.get("features_config"))
        )
        read = {"employee_id", *self.scorer.feature_names_, *SCORER_EXTRAS, *self.scorer.reference_}
        return frame[[c for c in frame.columns if c in read]]


class LapseForecastModel(PythonModel):
    """The lapse forecast over feature rows (module docstring)."""

    def load_context(self, context: PythonModelContext) -> None:
        from recsys.forecast import LapseModel

        self.model = LapseModel.load(Path(context.artifacts[FOLDER_ARTIFACT]))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """P(lapse) and the reasons' texts per input row, in input order."""
        from recsys.forecast import reason_text

        frame = model_input.reset_index(drop=True)
        names = list(self.model.features)
        x = frame[names].to_numpy(np.float64)
        reasons = self.model.reasons(x)
        texts = [
            "; ".join(reason_text(name, dict(zip(names, row, strict=True))) for name, _ in found)
            for found, row in zip(reasons, x.tolist(), strict=True)
        ]
        return pd.DataFrame(
            {
                "employee_id": frame["employee_id"].astype(str),
                "probability": self.model.predict_proba(x),
                "reasons": texts,
            }
        )


class SharePlanForecastModel(PythonModel):
    """The best time to share over a saved :class:`recsys.forecast.SharePlanModel` (module
    docstring)."""

    def load_context(self, context: PythonModelContext) -> None:
        from recsys.forecast import SharePlanModel

        self.model = SharePlanModel.load(Path(context.artifacts[FOLDER_ARTIFACT]))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The ``k`` best slots of each input row, in input order."""
        from recsys.forecast import slot_name

        frame = model_input.reset_index(drop=True)
        n = len(frame)
        networks = frame["network"] if "network" in frame else pd.Series([None] * n)
        ks = frame["k"] if "k" in frame else pd.Series([DEFAULT_SLOTS] * n)
        rows = []
        for i, employee in enumerate(frame["employee_id"].astype(str)):
            network = None if pd.isna(networks[i]) else str(networks[i])
            k = DEFAULT_SLOTS if pd.isna(ks[i]) else int(ks[i])
            plan = self.model.plan([employee], k, network)
            for rank in range(k):
                slot = int(plan.slots[0, rank])
                lift, rate = float(plan.lift[0, rank]), float(plan.rate[0, rank])
                shown = (employee, plan.network, rank + 1, slot, slot_name(slot))
                rows.append((*shown, lift, rate, bool(plan.known[0])))
        return pd.DataFrame(rows, columns=list(SLOT_COLUMNS))


# -- helpers ------------------------------------------------------------------------------
def store_ranker(model: Any, url: str | None) -> Any:
    """The service's ranker for ``model`` over the store's catalogue and audience now:
    what :class:`serving.refresh.Refresher` builds when it loads a champion (content the
    model does not know yet is added with its features first)."""
    from recsys.feed import FeedRanker
    from serving.catalogue_reader import CatalogueReader

    store = open_store(url)
    try:
        reader = CatalogueReader(store, lambda: datetime.now(UTC))
        view = reader.read()
        missing = reader.missing(view, model)
        if missing:
            features = reader.features(view, missing)
            model.add_items(missing, features, reader.published(view, missing))
        catalogue, titles = reader.catalogue(view, [str(c) for c in model.items_.external])
        forgotten = reader.forgotten(view, model)
        return FeedRanker(
            model, catalogue, reader.audience(view), None, titles, forgotten=forgotten
        )
    finally:
        store.dispose()


def open_store(url: str | None) -> Any:
    """The store at ``url`` (default :func:`features.data.store.default_db_url`), never
    created or migrated: a SQLite file must exist."""
    from sqlalchemy.engine import make_url

    from features.data.store import Store, default_db_url

    url = url or default_db_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise FileNotFoundError(
            f"no store at {parsed.database!r}: load the model with"
            " model_config={'store': '<database URL>'} or set ADVOCACY_DB_URL"
        )
    return Store.open(url, migrate=False)


def ranking_times(values: object, n: int) -> np.ndarray:
    """Unix seconds of ``as_of`` values (ISO strings, timestamps or numbers; naive = UTC;
    missing = now, to the second as the service ranks)."""
    now = float(int(time.time()))
    if values is None:
        return np.full(n, now)
    series = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        seconds = series.astype(np.float64)
    else:
        seconds = pd.Series(column_seconds(series, format="ISO8601"))
    return seconds.fillna(now).to_numpy(np.float64)


def feature_frame(matrix: Any) -> pd.DataFrame:
    """A :class:`recsys.matrix.FeatureMatrix` as the influencer model's input rows."""
    values = matrix.values.toarray() if hasattr(matrix.values, "toarray") else matrix.values
    frame = pd.DataFrame(np.asarray(values, np.float64), columns=list(matrix.names))
    frame.insert(0, "employee_id", [str(e) for e in matrix.ids.external])
    return frame
