"""Influence features as of T and labels from (T, T + h]: no leakage either way, and opted-out
advocates never get a row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.data.contract import TABLES
from features.influence_features import InfluenceFeatures, engagement_lift
from features.influence_labels import influence_labels
from features.snapshot import Snapshot
from recsys.errors import OptedOutError

T = pd.Timestamp("2026-10-15T00:00:00Z")
END = T + pd.Timedelta(days=10)


def _frames(moved: bool = False) -> dict[str, pd.DataFrame]:
    """a shared before T (measured before and after T); b shares inside the window (or, when
    ``moved``, the same share and outcome a day before T); d before T and after the window;
    c opted out and shares inside the window."""
    b_share = "2026-10-14T09:00:00Z" if moved else "2026-10-16T09:00:00Z"
    b_measured = "2026-10-14T20:00:00Z" if moved else "2026-10-17T09:00:00Z"
    advocates = pd.DataFrame(
        {
            "employee_id": ["a", "b", "c", "d"],
            "department": ["Sales", "Sales", "IT", "IT"],
            "region": ["EMEA", "EMEA", "NA", "NA"],
            "seniority": ["mid", "senior", "mid", "lead"],
            "opted_out": [False, False, True, False],
        }
    )
    content = pd.DataFrame(
        {
            "content_id": ["k"],
            "content_type": ["article"],
            "published_at": ["2026-09-01T00:00:00Z"],
            "title": ["Cloud costs"],
        }
    )
    shares = [
        ("e1", "a", "2026-10-01T09:00:00Z"),
        ("e2", "b", b_share),
        ("e3", "d", "2026-10-14T08:00:00Z"),
        ("e4", "d", "2026-10-26T08:00:00Z"),
        ("e5", "c", "2026-10-16T08:00:00Z"),
    ]
    interactions = pd.DataFrame(
        {
            "event_id": [s[0] for s in shares],
            "employee_id": [s[1] for s in shares],
            "content_id": "k",
            "event_type": "share",
            "network": "linkedin",
            "timestamp": [s[2] for s in shares],
        }
    )
    outcomes = pd.DataFrame(
        {
            "event_id": ["e1", "e1", "e2", "e3", "e4", "e5"],
            "measured_at": [
                "2026-10-02T09:00:00Z",
                "2026-10-20T09:00:00Z",  # a later measurement of a share made before T
                b_measured,
                "2026-10-14T20:00:00Z",
                "2026-10-27T08:00:00Z",
                "2026-10-17T08:00:00Z",
            ],
            "impressions": [1000, 5000, 2000, 400, 300, 9000],
            "clicks": [10, 50, 30, 2, 1, 90],
            "reactions": [80, 400, 150, 4, 3, 800],
            "comments": [15, 80, 30, 1, 0, 100],
            "reshares": [5, 20, 20, 0, 0, 100],
        }
    )
    accounts = pd.DataFrame(
        {
            "employee_id": ["a", "b", "c", "d"],
            "network": "linkedin",
            "followers": [3000, 8000, 20000, 500],
            "as_of": "2026-09-01T00:00:00Z",
        }
    )
    edges = pd.DataFrame(
        {"employee_a": ["a", "a", "b"], "employee_b": ["b", "c", "d"], "kind": "team"}
    )
    frames = {
        "advocates": advocates,
        "content": content,
        "interactions": interactions,
        "share_outcomes": outcomes,
        "social_accounts": accounts,
        "org_edges": edges,
    }
    return {name: _complete(name, frame) for name, frame in frames.items()}


def _complete(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Every contract column (missing ones empty)."""
    names = TABLES[table].field_names
    return frame.reindex(columns=list(names)).astype(object).where(frame.notna(), None)


def _features(snapshot: Snapshot) -> pd.DataFrame:
    matrix = InfluenceFeatures().fit(snapshot).transform(snapshot)
    return pd.DataFrame(matrix.values, index=matrix.ids.external, columns=matrix.names)


def test_features_use_only_what_was_known_at_t() -> None:
    full = Snapshot.from_frames(END + pd.Timedelta(days=30), **_frames())
    features = _features(full.cut(T))
    assert list(features.index) == ["a", "b", "d"]  # c opted out
    assert features.loc["a", "shares_measured"] == 1
    assert features.loc["a", "engagement_per_share"] == 100  # the measurement before T only
    assert features.loc["b", "shares_measured"] == 0 and features.loc["d", "shares_measured"] == 1
    # only rows observed by T exist in a snapshot built from them: the same features
    frames = _frames()
    frames["interactions"] = frames["interactions"].iloc[[0, 2]]
    frames["share_outcomes"] = frames["share_outcomes"].iloc[[0, 3]]
    pd.testing.assert_frame_equal(features, _features(Snapshot.from_frames(T, **frames)))


def test_labels_use_only_shares_made_inside_the_window() -> None:
    full = Snapshot.from_frames(END + pd.Timedelta(days=30), **_frames())
    labels = influence_labels(full.cut(END), T, END)
    assert list(labels.ids) == ["a", "b", "d"]
    assert labels.shares.tolist() == [0, 1, 0]  # a's share was before T, d's after the window
    assert np.isnan(labels.labels[0]) and labels.labels[1] == 1 and np.isnan(labels.labels[2])
    assert labels.engagement_per_share[1] == 200
    assert labels.summary()["labelled"] == 1
    with pytest.raises(ValueError, match="snapshot stops"):
        influence_labels(full.cut(T), T, END)
    with pytest.raises(ValueError, match="must be before"):
        influence_labels(full, END, T)


def test_moving_an_outcome_across_t_moves_it_from_label_to_feature() -> None:
    inside = Snapshot.from_frames(END, **_frames())
    before = Snapshot.from_frames(END, **_frames(moved=True))
    assert _features(inside.cut(T)).loc["b", "shares_measured"] == 0
    assert _features(before.cut(T)).loc["b", "shares_measured"] == 1
    assert _features(before.cut(T)).loc["b", "engagement_per_share"] == 200
    assert influence_labels(inside, T, END).labels[1] == 1
    assert np.isnan(influence_labels(before, T, END).labels[1])


def test_opted_out_advocates_get_no_features_and_no_labels() -> None:
    snapshot = Snapshot.from_frames(END, **_frames())
    with pytest.raises(OptedOutError):
        InfluenceFeatures().fit(snapshot).transform(snapshot, ["c"])
    with pytest.raises(OptedOutError):
        influence_labels(snapshot, T, END, ids=["a", "c"])
    features = _features(snapshot)
    assert "c" not in features.index
    # c's edge to a is dropped from the graph: a has one tie (b), not two
    assert features.loc["a", "org_degree"] == 1


def test_top_decile_labels_and_shrunk_lift() -> None:
    rng = np.random.default_rng(0)
    followers = np.exp(rng.normal(6, 1, 200))
    engagement = np.log1p(0.05 * followers) + rng.normal(0, 0.3, 200)
    shares = np.full(200, 4.0)
    lift = engagement_lift(engagement, np.log1p(followers), shares, prior_shares=4.0)
    residual = engagement_lift(engagement, np.log1p(followers), shares, prior_shares=0.0)
    np.testing.assert_allclose(lift, residual / 2)
    assert abs(residual.mean()) < 1e-9  # a least-squares residual
    none = engagement_lift(engagement, np.log1p(followers), np.zeros(200))
    assert not none.any()
