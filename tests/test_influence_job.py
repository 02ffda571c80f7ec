"""The influence facade on a small generated organisation: fitting from time, candidates
from the store with review state, the backtest and the synthetic benchmark; opted-out
advocates appear nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.reviews import record_review
from features.data.store import Store
from features.data.synthetic import OrgConfig, SyntheticOrg, generate, write
from features.data.validation import ValidationContext
from features.snapshot import Snapshot
from tests.conftest import NOW
from training.evaluation.influence import run_synthetic_influencers
from training.influence_job import (
    build_features,
    evaluate_influence,
    fit_influence,
    list_candidates,
    score_snapshot,
)

CONFIG = OrgConfig(employees=400, content=120, days=150, seed=3, interactions_per_employee=150)


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def snapshot(org: SyntheticOrg) -> Snapshot:
    return Snapshot.from_frames(CONFIG.end, **org.tables)


@pytest.fixture(scope="module")
def opted_out(org: SyntheticOrg) -> set[str]:
    advocates = org.tables["advocates"]
    return set(advocates.loc[advocates["opted_out"].astype(bool), "employee_id"].astype(str))


@pytest.fixture(scope="module")
def db(org: SyntheticOrg, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("org")
    write(org, folder / "files")
    (folder / "files" / "ground_truth_influencers.csv").unlink()
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    context = ValidationContext(now=NOW, future_tolerance=timedelta(hours=1))
    assert import_path(store, folder / "files", context=context).exit_code == 0
    yield store
    store.dispose()


def test_fit_learns_from_time_inside_the_data(snapshot: Snapshot, opted_out: set[str]) -> None:
    assert opted_out  # the generator opts some advocates out
    scorer = fit_influence(snapshot, horizon_days=30, windows=2)
    info = scorer.training_
    assert info["scored_as_of"].startswith("2026-11-01") and info["horizon_days"] == 30
    assert info["features_as_of"].startswith("2026-10-02")
    assert [w["label_end"][:10] for w in info["windows"]] == ["2026-11-01", "2026-10-02"]
    assert info["rows"] == sum(w["labelled"] for w in info["windows"])
    features, candidates = score_snapshot(snapshot, scorer)
    ids = {c.employee_id for c in candidates}
    assert ids == set(features.ids.external) and not ids & opted_out
    reference = scorer.reference_["followers_max"]
    assert len(reference) == len(ids)  # percentiles against the organisation as of as_of
    with pytest.raises(TypeError, match="unknown influence setting"):
        fit_influence(snapshot, colour="red")
    with pytest.raises(ValueError, match="horizon_days"):
        fit_influence(snapshot, horizon_days=0)


def test_candidates_from_the_store_with_reviews(db: Store, opted_out: set[str]) -> None:
    store_snapshot = Snapshot.load(StoreReader(db), NOW)
    scorer = fit_influence(store_snapshot)
    # scored as of now; labels from the last 30 days that have data (the org ends 1 November)
    assert scorer.training_["scored_as_of"].startswith("2026-11-26")
    assert scorer.training_["labels_end"].startswith("2026-11-01")
    everyone = list_candidates(db, scorer, as_of=NOW)
    assert everyone and not {c.employee_id for c in everyone} & opted_out
    flags = [c.flagged for c in everyone]
    assert flags == sorted(flags, reverse=True)  # flagged first
    top = list_candidates(db, scorer, as_of=NOW, top=5)
    assert [c.employee_id for c in top] == [c.employee_id for c in everyone[:5]]
    sales = list_candidates(db, scorer, as_of=NOW, department="SALES")
    assert sales and {c.department for c in sales} == {"Sales"}
    x_users = list_candidates(db, scorer, as_of=NOW, network="x")
    assert 0 < len(x_users) < len(everyone)
    flagged = list_candidates(db, scorer, as_of=NOW, flagged_only=True)
    assert flagged and all(c.flagged for c in flagged)
    target = flagged[0]
    record_review(db, target.employee_id, "dismiss", note="no", reviewer="pm", score=target.score)
    after = {c.employee_id: c for c in list_candidates(db, scorer, as_of=NOW)}
    assert not after[target.employee_id].flagged
    assert after[target.employee_id].review.suppressed
    relaxed = list_candidates(db, scorer, as_of=NOW, margin=0.0)
    assert {c.employee_id: c for c in relaxed}[target.employee_id].review.decision == "dismiss"
    with pytest.raises(ValueError, match="network"):
        list_candidates(db, scorer, as_of=NOW, network="myspace")


def test_backtest_has_the_evaluate_shape(snapshot: Snapshot, opted_out: set[str]) -> None:
    result = evaluate_influence(snapshot, horizon_days=30, windows=2)
    assert set(result) == {"benchmark", "protocol", "models", "fairness", "seconds"}
    assert set(result["models"]) == {"influence", "leaderboard", "followers"}
    for entry in result["models"].values():
        assert {"auc", "precision@k", "recall@k", "slices", "seconds"} <= set(entry)
    assert result["protocol"]["k"] == result["protocol"]["positives"] > 0
    assert result["protocol"]["test_features_as_of"].startswith("2026-10-02")
    scored = result["protocol"]["advocates"]
    advocates = len(build_features(snapshot.cut("2026-10-02")).ids)
    assert scored == advocates == result["fairness"]["advocates"]
    for dimension in ("department", "region", "seniority"):
        groups = result["fairness"]["dimensions"][dimension]["groups"]
        assert sum(g["advocates"] for g in groups.values()) == scored
    assert result["models"]["influence"]["auc"] > 0.6
    calibration = result["models"]["influence"]["calibration"]
    assert sum(b["n"] for b in calibration["bins"]) == result["protocol"]["labelled"]
    assert 0 <= calibration["brier"] < 0.25


def test_synthetic_benchmark_finds_planted_micro_influencers() -> None:
    result = run_synthetic_influencers()  # the benchmark's defaults: 2,000 employees, ~2 s
    models = result["models"]
    assert result["protocol"]["k"] == result["protocol"]["planted"] > 0
    assert result["protocol"]["opted_out_excluded"] > 0
    assert result["fairness"]["advocates"] == result["protocol"]["advocates_scored"]
    for baseline in ("leaderboard", "followers"):
        assert models["influence"]["precision@k"] > models[baseline]["precision@k"]
        assert models["influence"]["auc"] > models[baseline]["auc"]
    assert models["influence"]["flagged_precision"] >= 0.8
    assert np.isfinite(models["followers"]["auc"])


def test_candidates_and_reviews_on_both_databases(
    org: SyntheticOrg, store: Store, tmp_path: Path, opted_out: set[str]
) -> None:
    """The whole path on SQLite and PostgreSQL: import, fit from the store, list, review."""
    write(org, tmp_path / "files")
    (tmp_path / "files" / "ground_truth_influencers.csv").unlink()
    context = ValidationContext(now=NOW, future_tolerance=timedelta(hours=1))
    assert import_path(store, tmp_path / "files", context=context).exit_code == 0
    scorer = fit_influence(Snapshot.load(StoreReader(store), NOW), windows=2)
    flagged = list_candidates(store, scorer, as_of=NOW, flagged_only=True, top=3)
    assert flagged and not {c.employee_id for c in flagged} & opted_out
    target = flagged[0]
    record_review(store, target.employee_id, "approve", note="yes", reviewer="pm", score=0.9)
    mine = [
        c for c in list_candidates(store, scorer, as_of=NOW) if c.employee_id == target.employee_id
    ]
    assert mine[0].review.decision == "approve" and mine[0].flagged
