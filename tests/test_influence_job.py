"""The influence facade on a small generated organisation: fitting from time, candidates
from the store with review state, the backtest and the synthetic benchmark; opted-out
advocates appear nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.reviews import record_review
from features.data.score_history import score_history
from features.data.store import Store
from features.data.synthetic import OrgConfig, SyntheticOrg, generate, write
from features.data.validation import ValidationContext
from features.snapshot import Snapshot
from recsys.errors import FieldError
from recsys.influence import TIERS, ReviewState
from tests.conftest import NOW
from training.evaluation.influence import run_synthetic_influencers
from training.influence_candidates import (
    ScoredOrganisation,
    backfill_scores,
    backfill_times,
    candidate_fairness,
    current_reviews,
    fairness_of,
    list_candidates,
    score_organisation,
    select_candidates,
)
from training.influence_job import build_features, evaluate_influence, fit_influence, score_snapshot

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
def scored(snapshot: Snapshot) -> ScoredOrganisation:
    return ScoredOrganisation.from_snapshot(snapshot, fit_influence(snapshot, windows=2))


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


def _review(decision: str, score: float) -> ReviewState:
    return ReviewState(decision, "pm", "", datetime(2026, 11, 2, tzinfo=UTC), score)  # type: ignore[arg-type]


def test_the_scored_organisation_holds_groups_and_followers(
    scored: ScoredOrganisation, opted_out: set[str]
) -> None:
    ids = [c.employee_id for c in scored.candidates]
    assert ids == list(scored.features.ids.external) and not set(ids) & opted_out
    assert all(c.review is None for c in scored.candidates)
    assert set(scored.groups) == {"department", "region", "seniority"}
    assert all(len(v) == len(ids) for v in scored.groups.values())
    assert "x" in scored.followers and "max" not in scored.followers
    someone = ids[7]
    followers = scored.followers_of(someone)
    assert followers["x"] == scored.features.column("followers_x")[7]
    assert scored.candidate(someone) is scored.candidates[7]
    assert scored.candidate("nobody") is None and scored.candidate(sorted(opted_out)[0]) is None
    with pytest.raises(KeyError):
        scored.followers_of("nobody")


def test_select_candidates_filters_and_orders(scored: ScoredOrganisation) -> None:
    everyone = select_candidates(scored, {})
    assert len(everyone) == len(scored.candidates)
    keys = [(not c.flagged, -c.score, c.employee_id) for c in everyone]
    assert keys == sorted(keys)  # flagged first, then by score
    assert select_candidates(scored, {}, top=5) == everyone[:5]
    by_tier = {t: select_candidates(scored, {}, tier=f" {t.upper()}") for t in TIERS}
    assert all(c.tier == t for t, chosen in by_tier.items() for c in chosen)
    assert sum(len(chosen) for chosen in by_tier.values()) == len(everyone)
    x_users = select_candidates(scored, {}, network="X")
    assert 0 < len(x_users) < len(everyone)
    assert all(scored.followers_of(c.employee_id)["x"] > 0 for c in x_users)
    engineers = select_candidates(scored, {}, department=" ENGINEERING", flagged_only=True)
    assert engineers and all(c.department == "Engineering" and c.flagged for c in engineers)


def test_select_candidates_applies_the_reviews(scored: ScoredOrganisation) -> None:
    first, second, third = [c for c in select_candidates(scored, {}) if c.flagged][:3]
    reviews = {
        first.employee_id: _review("dismiss", first.score),
        second.employee_id: _review("approve", second.score),
        third.employee_id: _review("dismiss", third.score - 0.2),  # risen above the margin
    }
    dismissed = select_candidates(scored, reviews, review_state="dismiss")
    assert [c.employee_id for c in dismissed] == [third.employee_id, first.employee_id]
    assert dismissed[0].flagged and not dismissed[0].review.suppressed
    assert not dismissed[1].flagged and dismissed[1].review.suppressed
    approved = select_candidates(scored, reviews, review_state="approve")
    assert [c.employee_id for c in approved] == [second.employee_id] and approved[0].flagged
    never = select_candidates(scored, reviews, review_state="none")
    assert len(never) == len(scored.candidates) - 3 and all(c.review is None for c in never)
    flagged = {c.employee_id for c in select_candidates(scored, reviews, flagged_only=True)}
    assert first.employee_id not in flagged and third.employee_id in flagged
    assert all(c.review is None for c in scored.candidates)  # the scored organisation is kept
    base = fairness_of(scored, {})
    assert base["advocates"] == len(scored.candidates)
    assert set(base["dimensions"]) == {"department", "region", "seniority"}
    assert fairness_of(scored, reviews)["flagged"] == base["flagged"] - 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"network": "myspace"}, "network"),
        ({"tier": "mega"}, "tier"),
        ({"review_state": "maybe"}, "review_state"),
        ({"top": 0}, "top"),
    ],
)
def test_select_candidates_names_a_bad_filter(
    scored: ScoredOrganisation, bad: dict, field: str
) -> None:
    with pytest.raises(FieldError) as caught:
        select_candidates(scored, {}, **bad)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")


def test_list_and_fairness_compose_scoring_and_selection(db: Store, opted_out: set[str]) -> None:
    scorer = fit_influence(Snapshot.load(StoreReader(db), NOW))
    scored = score_organisation(db, scorer, NOW)
    reviews = current_reviews(db)
    listed = list_candidates(db, scorer, as_of=NOW, top=10, network="linkedin")
    assert listed == select_candidates(scored, reviews, top=10, network="linkedin")
    assert candidate_fairness(db, scorer, as_of=NOW) == fairness_of(scored, reviews)
    with pytest.raises(FieldError, match="tier"):
        select_candidates(scored, reviews, tier="giga")

    times = backfill_times(NOW, every_days=30, since_days=200)  # reaches before the data
    assert [t.isoformat()[:10] for t in times[:2]] == ["2026-05-30", "2026-06-29"]
    points = backfill_scores(db, scorer, model_version="test@1", times=times)
    assert [p["as_of"] for p in points] == [t.isoformat() for t in times]
    assert "skipped" in points[0] and all("skipped" not in p for p in points[1:])
    someone = scored.candidates[0]
    history = score_history(db, someone.employee_id)
    assert [h.scored_at.isoformat()[:10] for h in history] == [p["as_of"][:10] for p in points[1:]]
    assert history[-1].score == pytest.approx(someone.score)  # as of NOW, as scored above
    assert all(score_history(db, e) == [] for e in opted_out)
    with pytest.raises(FieldError, match="every_days"):
        backfill_times(NOW, every_days=0, since_days=10)
