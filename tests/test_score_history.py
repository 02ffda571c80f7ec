"""Influencer scores over time in the store (SQLite and PostgreSQL) and the schema step that
adds them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.score_history import (
    ScoreHistoryError,
    has_scores,
    record_scores,
    score_history,
)
from features.data.store import Store
from recsys.influence import Candidate, Confidence

DAY1 = datetime(2026, 11, 1, 17, 45, tzinfo=UTC)
DAY2 = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)


def _advocates(store: Store) -> None:
    store.write(
        "advocates",
        [
            {"employee_id": "ana", "department": "Marketing", "opted_out": False},
            {"employee_id": "ben", "department": "Sales", "opted_out": False},
            {"employee_id": "chen", "department": "Sales", "opted_out": True},
        ],
    )


def _candidate(employee_id: str, score: float, *, tier: str = "micro") -> Candidate:
    return Candidate(
        employee_id=employee_id,
        score=score,
        tier=tier,
        flagged=score > 0.5,
        reasons=(),
        confidence=Confidence("low", "few shares"),
    )


def _rows(store: Store) -> int:
    query = sa.select(sa.func.count()).select_from(schema.influencer_scores)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_scores_are_kept_per_day_and_version_oldest_first(store: Store) -> None:
    _advocates(store)
    day = record_scores(
        store,
        [_candidate("ana", 0.4), _candidate("ben", 0.7)],
        scored_at=DAY2,
        model_version="advocacy-influencers@2",
    )
    assert day.isoformat() == "2026-11-15T00:00:00+00:00"
    record_scores(store, [_candidate("ana", 0.3)], scored_at=DAY1, model_version="m@1")
    record_scores(store, [_candidate("ana", 0.35)], scored_at=DAY2, model_version="m@1")
    history = score_history(store, "ana")
    assert [(p.scored_at.date().isoformat(), p.model_version) for p in history] == [
        ("2026-11-01", "m@1"),
        ("2026-11-15", "advocacy-influencers@2"),
        ("2026-11-15", "m@1"),
    ]
    first = history[0]
    assert first.scored_at == datetime(2026, 11, 1, tzinfo=UTC)  # normalised to the day
    assert first.score == pytest.approx(0.3) and first.tier == "micro" and not first.flagged
    ben = score_history(store, "ben")
    assert len(ben) == 1 and ben[0].flagged and ben[0].score == pytest.approx(0.7)
    only = score_history(store, "ana", model_versions=["m@1"])
    assert [p.score for p in only] == pytest.approx([0.3, 0.35])
    assert score_history(store, "nobody") == []
    assert has_scores(store, scored_at="2026-11-15T23:59", model_version="m@1")
    assert not has_scores(store, scored_at="2026-11-16", model_version="m@1")


def test_recording_a_day_again_replaces_it(store: Store) -> None:
    _advocates(store)
    for hour, score in ((1, 0.2), (23, 0.9)):  # the same day and version: replaced
        record_scores(
            store,
            [_candidate("ana", score, tier="nano"), _candidate("ben", 0.1)],
            scored_at=DAY1.replace(hour=hour),
            model_version="m@1",
        )
    assert _rows(store) == 2
    (point,) = score_history(store, "ana")
    assert point.score == pytest.approx(0.9) and point.flagged and point.tier == "nano"
    twice = [_candidate("ben", 0.2), _candidate("ben", 0.6)]  # listed twice: the last is kept
    record_scores(store, twice, scored_at=DAY2, model_version="m@1")
    assert [p.score for p in score_history(store, "ben")] == pytest.approx([0.1, 0.6])
    record_scores(store, [], scored_at=DAY2, model_version="m@1")  # nothing to store
    with pytest.raises(ScoreHistoryError, match="model_version: missing") as caught:
        record_scores(store, [_candidate("ana", 0.5)], scored_at=DAY2, model_version=" ")
    assert caught.value.field == "model_version"


def test_opted_out_advocates_never_appear(store: Store) -> None:
    _advocates(store)
    everyone = [_candidate("ana", 0.4), _candidate("ben", 0.7), _candidate("chen", 0.9)]
    record_scores(store, everyone, scored_at=DAY1, model_version="m@1")
    assert score_history(store, "chen") == []
    assert len(score_history(store, "ben")) == 1
    store.write("advocates", [{"employee_id": "ben", "department": "Sales", "opted_out": True}])
    assert score_history(store, "ben") == []  # opting out later hides the history too


def test_many_scores_in_one_call(store: Store) -> None:
    ids = [f"e{i:05d}" for i in range(3_000)]
    store.write("advocates", [{"employee_id": e, "opted_out": False} for e in ids])
    candidates = [_candidate(e, i / len(ids)) for i, e in enumerate(ids)]
    for _ in range(2):
        record_scores(store, candidates, scored_at=DAY1, model_version="m@1")
    assert _rows(store) == len(ids)
    assert score_history(store, ids[-1])[0].score == pytest.approx(candidates[-1].score)


def test_migration_7_adds_the_score_table_to_a_version_6_store(store: Store) -> None:
    with store.engine.begin() as conn:
        schema.influencer_scores.drop(conn)
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=6, applied_at=datetime(2026, 1, 1), description="before score history"
            )
        )
    assert schema.migrate(store.engine) == schema.HEAD >= 7
    with store.engine.connect() as conn:
        assert sa.inspect(conn).has_table("influencer_scores")
        assert schema.current_version(conn) == schema.HEAD
    _advocates(store)
    record_scores(store, [_candidate("ana", 0.5)], scored_at=DAY1, model_version="m@1")
    assert len(score_history(store, "ana")) == 1
