"""The lapse forecast: features as of an origin (no leakage), the model's contract and reasons,
the baselines, ``advocacy evaluate deskdrop-lapse`` and the real DeskDrop figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from recsys.forecast import (
    ActivityLog,
    LapseModel,
    baseline,
    eligible,
    feature_names,
    feed_action,
    lapse_features,
    lapse_labels,
    reason_action,
    reason_text,
)
from recsys.times import DAY
from tests.evaluate_cli import cli
from training.evaluation.lapse import deskdrop_lapse

KINDS = ("LIKE", "VIEW")
ORIGIN = 100 * DAY
MODEL_NAMES = ("lapse", "recency", "frequency")


def tiny_log(extra: Sequence[tuple[float, int, int]] = ()) -> ActivityLog:
    """(day, person, kind) rows: person 0 at days 40, 90 (LIKE), 95; person 1 at day 10;
    person 2 at day 99.5 and after the origin at day 105."""
    rows = [(95.0, 0, 1), (90.0, 0, 0), (40.0, 0, 1), (10.0, 1, 1), (99.5, 2, 1), (105.0, 2, 1)]
    rows += list(extra)
    days, persons, kinds = zip(*rows, strict=True)
    times = np.asarray(days) * DAY
    return ActivityLog.build(times, persons, kinds, n_persons=3, kind_names=KINDS)


def row(log: ActivityLog, person: int) -> dict[str, float]:
    names = feature_names(log.kind_names)
    return dict(zip(names, lapse_features(log, ORIGIN)[person].tolist(), strict=True))


def test_features_of_a_tiny_log() -> None:
    log = tiny_log()
    assert feature_names(KINDS)[-2:] == ("share_like", "share_view")
    assert row(log, 0) == pytest.approx(
        {
            "days_since_last": 5.0,
            "tenure_days": 60.0,
            "events_7d": 1.0,
            "events_30d": 2.0,
            "events_60d": 2.0,  # the event 60 days back is outside [T - 60 d, T)
            "events_30_90d": 1.0,
            "active_days_30d": 2.0,
            "active_days_60d": 2.0,
            "activity_trend": np.log1p(2.0) - np.log1p(0.5),
            "gap_mean_days": 27.5,  # active days 5, 10 and 60 back: gaps 5 and 50
            "gap_max_days": 50.0,
            "events_total": 3.0,
            "share_like": 0.5,
            "share_view": 0.5,
        }
    )
    quiet = row(log, 1)
    assert quiet["days_since_last"] == 90.0 and quiet["events_total"] == 1.0
    assert quiet["gap_mean_days"] == quiet["gap_max_days"] == 90.0  # no gap: the cap
    assert quiet["share_like"] == quiet["share_view"] == 0.0
    assert row(log, 2)["days_since_last"] == pytest.approx(0.5)
    assert eligible(log, ORIGIN).tolist() == [True, False, True]
    assert lapse_labels(log, ORIGIN).tolist() == [True, True, False]
    assert lapse_labels(log, ORIGIN, horizon_days=5).tolist() == [True, True, True]


def test_no_leakage_later_rows_change_nothing() -> None:
    """Rows at and after the origin (even a burst of activity) leave features and forecasts
    identical; the label only reads ``[T, T + horizon)``."""
    later = [(100.0, 0, 0), (100.5, 1, 1), (140.0, 1, 0), (200.0, 0, 1)]
    bare = tiny_log().before(ORIGIN)
    full = tiny_log(later)
    np.testing.assert_array_equal(lapse_features(bare, ORIGIN), lapse_features(full, ORIGIN))
    np.testing.assert_array_equal(eligible(bare, ORIGIN), eligible(full, ORIGIN))
    assert lapse_labels(full, ORIGIN).tolist() == [False, False, False]
    assert lapse_labels(full, ORIGIN, horizon_days=0.4).tolist() == [False, True, True]
    x, y = synthetic_rows(0)
    model = LapseModel(feature_names(KINDS)).fit(x, y)
    np.testing.assert_array_equal(
        model.predict_proba(lapse_features(bare, ORIGIN)),
        model.predict_proba(lapse_features(full, ORIGIN)),
    )


def synthetic_rows(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Features of random advocates at several origins, with their labels."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.6, 0.3, n)  # events per day
    xs, ys = [], []
    for origin in (120.0, 150.0, 180.0):
        rows = []
        for person, r in enumerate(rate):
            count = rng.poisson(r * 210)
            rows += [(d, person, int(rng.random() < 0.2)) for d in rng.uniform(0, 210, count)]
        days, persons, kinds = zip(*rows, strict=True)
        log = ActivityLog.build(
            np.asarray(days) * DAY, persons, kinds, n_persons=n, kind_names=KINDS
        )
        mask = eligible(log, origin * DAY)
        xs.append(lapse_features(log, origin * DAY)[mask])
        ys.append(lapse_labels(log, origin * DAY)[mask])
    return np.vstack(xs), np.concatenate(ys)


def test_model_contract_and_exact_reasons() -> None:
    x, y = synthetic_rows(1)
    model = LapseModel(feature_names(KINDS), random_state=3)
    with pytest.raises(NotFittedError):
        model.predict_proba(x)
    assert model.fit(x, y) is model
    assert clone(model).get_params() == model.get_params()
    p = model.predict_proba(x)
    assert p.shape == (len(x),) and ((p > 0) & (p < 1)).all()
    assert roc_auc_score(y, p) > 0.75
    assert abs(p.mean() - y.mean()) < 0.02  # the log-loss fit is calibrated in the large
    parts = model.contributions(x)
    np.testing.assert_allclose(model.intercept_ + parts.sum(axis=1), model.decision_function(x))
    np.testing.assert_array_equal(LapseModel(feature_names(KINDS)).fit(x, y).predict_proba(x), p)
    reasons = model.reasons(x[:20])
    assert len(reasons) == 20 and all(len(r) <= model.max_reasons for r in reasons)
    for found, contribution in zip(reasons, parts[:20], strict=True):
        values = [value for _, value in found]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)
        if found:
            assert values[0] == pytest.approx(contribution.max())
    assert model.reasons(x[[np.argmax(p)]])[0]  # the likeliest to lapse has reasons
    with pytest.raises(ValueError, match="both"):
        LapseModel(feature_names(KINDS)).fit(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="columns"):
        model.predict_proba(x[:, :3])


def test_baselines_rank_by_their_score_with_a_fitted_probability() -> None:
    x, y = synthetic_rows(2)
    names = feature_names(KINDS)
    recency = baseline("recency", names).fit(x, y)
    frequency = baseline("frequency", names).fit(x, y)
    assert roc_auc_score(y, recency.predict_proba(x)) == pytest.approx(
        roc_auc_score(y, x[:, names.index("days_since_last")])
    )
    assert roc_auc_score(y, frequency.predict_proba(x)) == pytest.approx(
        roc_auc_score(y, -x[:, names.index("events_60d")])
    )
    assert abs(recency.predict_proba(x).mean() - y.mean()) < 0.02
    with pytest.raises(NotFittedError):
        baseline("recency", names).predict_proba(x)


def random_events(seed: int = 0, persons: int = 150) -> pd.DataFrame:
    """DeskDrop-like events over 2016 for advocates of random, drifting activity."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2016-01-01", tz="UTC").timestamp()
    rows = []
    for person in range(persons):
        rate, stop = rng.gamma(0.7, 0.4), rng.uniform(30, 400)
        days = rng.uniform(0, min(stop, 365), rng.poisson(rate * min(stop, 365)))
        kinds = rng.choice(["VIEW", "LIKE", "COMMENT CREATED"], len(days), p=[0.8, 0.15, 0.05])
        rows += [(int(start + d * DAY), k, 1, person) for d, k in zip(days, kinds, strict=True)]
    return pd.DataFrame(rows, columns=["timestamp", "eventType", "contentId", "personId"])


def test_benchmark_shape_and_no_leakage() -> None:
    events = random_events()
    windows = ["2016-05-01", "2016-06-01", "2016-07-01"]
    result = deskdrop_lapse(events, windows)
    assert set(result["models"]) == {"lapse", "recency", "frequency"}
    for entry in result["models"].values():
        assert set(entry) == {"auc", "brier", "precision@10%", "windows"}
        assert len(entry["windows"]) == 3
        for window in entry["windows"].values():
            assert set(window) == {"auc", "brier", "precision@10%", "n", "positives"}
    json.dumps(result, allow_nan=False)
    # the last window's labels end 2016-07-31: later events change nothing
    end = pd.Timestamp("2016-07-31", tz="UTC").timestamp()
    again = deskdrop_lapse(
        events[events["timestamp"] < end].sample(frac=1, random_state=0), windows
    )
    assert again["models"] == result["models"]
    first = deskdrop_lapse(events, ["2016-01-01"])
    assert first["protocol"]["skipped_windows"] and not first["models"]["lapse"]["windows"]


def test_cli_json_table_and_errors(tmp_path: Path) -> None:
    random_events().to_csv(tmp_path / "users_interactions.csv", index=False)
    args = ["deskdrop-lapse", "--data", str(tmp_path), "--windows", "2016-05-01,2016-06-01"]
    done = cli(*args, "--json")
    assert done.exit_code == 0, done.output
    assert set(json.loads(done.output)["models"]["lapse"]["windows"]) == {
        "2016-05-01T00:00:00+00:00",
        "2016-06-01T00:00:00+00:00",
    }
    table = cli(*args, "--horizon-days", "14")
    assert table.exit_code == 0 and "frequency" in table.output
    assert cli("deskdrop-lapse").exit_code == 2
    assert cli("deskdrop-lapse", "--data", str(tmp_path / "nope")).exit_code == 2
    bad = cli(*args[:3], "--windows", "May")
    assert bad.exit_code == 2 and "May" in bad.output


def test_deskdrop_lapse_real(shared_data: Path) -> None:
    """The measured figures on the real DeskDrop log (docs/lapse.md). The issue's goal (lapse
    beats the better baseline by >= 0.03 AUC on every window, Brier below both) is met for the
    Brier score everywhere but for the AUC margin only on 2016-08, -09 and -12: asserted as
    measured, so that a change that loses ground fails."""
    from training.evaluation.protocols import read_deskdrop_events

    result = deskdrop_lapse(read_deskdrop_events(shared_data / "deskdrop"))
    models = result["models"]
    assert list(result["protocol"]["skipped_windows"]) == ["2016-04-01T00:00:00+00:00"]
    windows = list(models["lapse"]["windows"])
    assert [w[:7] for w in windows] == [f"2016-{m:02d}" for m in range(5, 13)]
    margins = {}
    for window in windows:
        lapse, recency, frequency = (models[m]["windows"][window] for m in MODEL_NAMES)
        assert lapse["n"] == recency["n"] == frequency["n"] > 800
        assert lapse["brier"] < min(recency["brier"], frequency["brier"])
        assert lapse["auc"] > recency["auc"] + 0.04
        margins[window[:7]] = lapse["auc"] - max(recency["auc"], frequency["auc"])
    assert {w for w, m in margins.items() if m >= 0.03} == {"2016-08", "2016-09", "2016-12"}
    assert min(margins.values()) > -0.005  # 2016-07: a tie with frequency (-0.0012)
    assert models["lapse"]["auc"] == pytest.approx(0.7778, abs=0.002)
    assert models["lapse"]["auc"] > models["frequency"]["auc"] + 0.02
    assert models["frequency"]["auc"] > models["recency"]["auc"]
    assert models["lapse"]["brier"] < models["frequency"]["brier"] - 0.015


def test_save_and_load_give_identical_probabilities_and_reasons(tmp_path: Path) -> None:
    x, y = synthetic_rows(4)
    model = LapseModel(feature_names(KINDS), C=0.5, horizon_days=14.0, max_reasons=2).fit(x, y)
    with pytest.raises(NotFittedError):
        LapseModel(feature_names(KINDS)).save(tmp_path / "unfitted")
    folder = model.save(tmp_path / "lapse", facts={"origins": ["2016-05-01"]})
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feature_names"] == list(feature_names(KINDS))
    assert manifest["horizon_days"] == 14.0
    assert manifest["training"] == {
        "rows": len(y),
        "lapsed": int(y.sum()),
        "origins": ["2016-05-01"],
    }
    loaded = LapseModel.load(folder)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.reasons(x) == model.reasons(x)
    with pytest.raises(FileNotFoundError, match="manifest"):
        LapseModel.load(tmp_path / "nothing")
    manifest["kind"] = "influence_scorer"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="not a lapse model"):
        LapseModel.load(folder)


def test_reason_texts_and_actions() -> None:
    values = {"days_since_last": 12.0, "events_30d": 2.0, "events_30_90d": 18.0}
    assert reason_text("days_since_last", values) == "no activity for 12 days"
    assert reason_text("activity_trend", values) == (
        "activity falling: 2 events in the last 30 days against 9 a month in the 60 days before"
    )
    assert reason_text("events_30d", {"events_30d": 0.0}) == "no events in the last 30 days"
    assert reason_text("events_60d", {"events_60d": 1.0}) == "only 1 event in the last 60 days"
    assert reason_text("gap_mean_days", {"gap_mean_days": 90.0}) == (
        "at most one active day in the last 90 days"
    )
    assert reason_text("share_view", {"share_view": 0.25}) == (
        "25% of the last 60 days' events were of type view"
    )
    assert reason_action("activity_trend").startswith("check in")
    assert reason_action("days_since_last").startswith("send a personal nudge")
    assert reason_action("tenure_days").startswith("offer onboarding help")
    assert reason_action(None).startswith("check in")
    assert feed_action(["A", "B"]) == "share something matching your interests: A; B"
