"""Scoring the organisation with a fitted influencer scorer: the features as of a time and a
candidate per advocate. What the service and ``advocacy influencers`` need to score, apart
from fitting and evaluating (:mod:`training.influence_job`, which re-exports these names), so
serving never imports the fitting job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from features.influence_features import InfluenceFeatures, advocate_attributes
from features.snapshot import Snapshot
from recsys.influence import Candidate, InfluenceScorer
from recsys.matrix import FeatureMatrix


def build_features(snapshot: Snapshot, config: Mapping[str, Any] | None = None) -> FeatureMatrix:
    """The influence feature matrix as of ``snapshot.as_of`` (advocates not opted out)."""
    builder = InfluenceFeatures(**dict(config or {}))
    return builder.fit(snapshot).transform(snapshot)


def data_start(snapshot: Snapshot) -> pd.Timestamp:
    """The first interaction in ``snapshot`` (its ``as_of`` when there is none)."""
    if snapshot.interactions.empty:
        return snapshot.as_of
    return pd.to_datetime(snapshot.interactions["timestamp"], utc=True).min()


def score_snapshot(
    snapshot: Snapshot, scorer: InfluenceScorer
) -> tuple[FeatureMatrix, list[Candidate]]:
    """Features as of ``snapshot.as_of`` and a candidate per advocate who did not opt out."""
    features = build_features(snapshot, scorer.training_.get("features_config"))
    candidates = scorer.score(features)
    attributes = advocate_attributes(snapshot, list(features.ids.external))
    departments = attributes["department"].astype(object).where(attributes["department"].notna())
    return features, [
        _with_department(c, d) for c, d in zip(candidates, departments.tolist(), strict=True)
    ]


def _with_department(candidate: Candidate, department: object) -> Candidate:
    return replace(candidate, department=None if department is None else str(department))
