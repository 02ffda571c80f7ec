"""From the store's snapshot and its features to what recommenders learn from.

- :func:`engagement_log`: the weighted events of advocates who did not opt out, in time order
  (``timestamp`` unix s, ``person``, ``content``, ``weight``, ``event_type``); event types
  weighted 0 (impressions, dismissals by default) are left out.
- :func:`build_dataset`: a :class:`~recsys.dataset.Dataset` with every advocate and every
  content item of the snapshot, the user and item feature matrices the config names (aligned
  by :meth:`features.pipeline.FeatureSet.combined`) and publication times.
- :func:`data_profile`: time range, row counts and a fingerprint of the data (MLflow tags).
- :func:`check_data`: the data a training run refuses (:class:`DataValidationError`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.data.contract import FEED_TABLES, TABLES
from features.pipeline import FeatureSet
from features.snapshot import Snapshot
from recsys.dataset import Dataset
from recsys.ids import IdMap
from training.config import FeatureConfig

logger = logging.getLogger(__name__)

LOG_COLUMNS = ["timestamp", "person", "content", "weight", "event_type"]


class DataValidationError(ValueError):
    """The data cannot train or evaluate a model; nothing was fitted or registered."""


def unix(times: pd.Series) -> np.ndarray:
    """Unix seconds (int64) of a tz-aware datetime column."""
    stamps = pd.to_datetime(times, utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def engagement_log(snapshot: Snapshot, weights: Mapping[str, float]) -> pd.DataFrame:
    """Weighted events of profiled advocates, oldest first (stable on the store's order)."""
    events = snapshot.interactions
    profiled = set(snapshot.profiled_advocates["employee_id"].astype(str))
    weight = events["event_type"].astype(str).map(weights).fillna(0.0).to_numpy(np.float32)
    keep = (weight > 0) & events["employee_id"].astype(str).isin(profiled).to_numpy()
    kept = events.loc[keep]
    log = pd.DataFrame(
        {
            "timestamp": unix(kept["timestamp"]),
            "person": kept["employee_id"].astype(str).to_numpy(object),
            "content": kept["content_id"].astype(str).to_numpy(object),
            "weight": weight[keep],
            "event_type": kept["event_type"].astype(str).to_numpy(object),
        }
    )
    return log.sort_values("timestamp", kind="stable").reset_index(drop=True)


def build_dataset(
    snapshot: Snapshot, features: FeatureSet, config: FeatureConfig, log: pd.DataFrame
) -> Dataset:
    """Every advocate and content item of ``snapshot``; ``log``'s events; features and times."""
    users = IdMap(snapshot.advocates["employee_id"].astype(str).to_numpy(object), "employee")
    items = IdMap(snapshot.content["content_id"].astype(str).to_numpy(object), "content")
    return Dataset.from_events(
        log["person"].tolist(),
        log["content"].tolist(),
        weights=log["weight"].to_numpy(np.float32),
        times=log["timestamp"].to_numpy(np.int64),
        users=users,
        items=items,
        user_features=features.combined(list(config.user_matrices), users),
        item_features=features.combined(list(config.item_matrices), items),
        item_times=unix(snapshot.content["published_at"]),
    )


def data_profile(snapshot: Snapshot) -> dict[str, object]:
    """Row counts, the interactions' time range and a fingerprint of every table."""
    times = pd.to_datetime(snapshot.interactions["timestamp"], utc=True)
    digest = hashlib.sha256()
    for name in FEED_TABLES:
        frame = getattr(snapshot, name)
        digest.update(name.encode())
        digest.update(_table_digest(frame, list(TABLES[name].field_names)))
    return {
        "as_of": snapshot.as_of.isoformat(),
        "rows": {name: len(getattr(snapshot, name)) for name in FEED_TABLES},
        "first_event": times.min().isoformat() if len(times) else None,
        "last_event": times.max().isoformat() if len(times) else None,
        "fingerprint": digest.hexdigest()[:16],
    }


def _table_digest(frame: pd.DataFrame, columns: list[str]) -> bytes:
    """Order-independent digest of the contract columns (sorted 64-bit row hashes)."""
    if not len(frame):
        return b"empty"
    present = [c for c in columns if c in frame.columns]
    text = pd.DataFrame({c: frame[c].map(str) for c in present})
    hashes = np.sort(pd.util.hash_pandas_object(text, index=False).to_numpy())
    return hashlib.sha256(hashes.tobytes()).digest()


def check_data(log: pd.DataFrame, split_at: int, *, min_train: int, min_test: int) -> None:
    """Refuse data too thin to learn from or to measure on, naming what is missing."""
    times = log["timestamp"].to_numpy(np.int64)
    train = int((times < split_at).sum())
    if train < min_train:
        raise DataValidationError(
            f"interactions: {train} weighted events before the holdout window "
            f"({pd.Timestamp(split_at, unit='s', tz='UTC')}); at least {min_train} needed"
        )
    held = log.loc[times >= split_at, ["person", "content"]]
    earlier = log.loc[times < split_at, ["person", "content"]]
    new_pairs = held.drop_duplicates().merge(earlier.drop_duplicates(), how="left", indicator=True)
    pairs = int((new_pairs["_merge"] == "left_only").sum())
    if pairs < min_test:
        raise DataValidationError(
            f"interactions: {pairs} new (employee, content) pairs in the holdout window; "
            f"at least {min_test} needed (lower data.holdout_days or data.min_test_pairs)"
        )
