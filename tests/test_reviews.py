"""Review decisions in the store (SQLite and PostgreSQL) and the schema step that adds them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from features.data import schema
from features.data.reviews import ReviewError, latest_reviews, record_review, review_history
from features.data.store import Store
from recsys.errors import OptedOutError
from recsys.ids import UnknownIdError

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _advocates(store: Store) -> None:
    store.write(
        "advocates",
        [
            {"employee_id": "ana", "department": "Marketing", "opted_out": False},
            {"employee_id": "ben", "department": "Sales", "opted_out": False},
            {"employee_id": "chen", "department": "Sales", "opted_out": True},
        ],
    )


def test_decisions_persist_and_the_latest_wins(store: Store) -> None:
    _advocates(store)
    record_review(store, "ana", "dismiss", note="off-topic", reviewer="pm1", score=0.62, at=AT)
    later = datetime(2026, 11, 21, tzinfo=UTC)
    record_review(store, "ana", "Approve", note="", reviewer="pm2", score=0.8, at=later)
    record_review(store, "ben", "dismiss", note="left", reviewer="pm1", score=None, at=AT)
    latest = latest_reviews(store)
    assert set(latest) == {"ana", "ben"}
    assert latest["ana"].decision == "approve" and latest["ana"].reviewer == "pm2"
    assert latest["ana"].at == later and latest["ana"].score == pytest.approx(0.8)
    assert latest["ben"].score is None and latest["ben"].note == "left"
    history = review_history(store, "ana")
    assert [r.decision for r in history] == ["dismiss", "approve"]
    assert history[0].note == "off-topic" and history[0].at == AT
    state = latest["ana"].state()
    assert state.decision == "approve" and not state.suppressed


def test_bad_decisions_are_refused_with_the_field(store: Store) -> None:
    _advocates(store)
    with pytest.raises(ReviewError, match="decision: must be one of"):
        record_review(store, "ana", "maybe", note="", reviewer="pm", score=0.5)
    with pytest.raises(ReviewError, match="reviewer: missing"):
        record_review(store, "ana", "approve", note="", reviewer=" ", score=0.5)
    with pytest.raises(ReviewError, match="score: must be a probability"):
        record_review(store, "ana", "approve", note="", reviewer="pm", score=1.5)
    with pytest.raises(UnknownIdError):
        record_review(store, "zoe", "approve", note="", reviewer="pm", score=0.5)
    with pytest.raises(OptedOutError):
        record_review(store, "chen", "approve", note="", reviewer="pm", score=0.5)
    assert latest_reviews(store) == {}


def test_an_advocate_who_opts_out_later_leaves_the_reviews(store: Store) -> None:
    _advocates(store)
    record_review(store, "ben", "approve", note="", reviewer="pm", score=0.7, at=AT)
    store.write("advocates", [{"employee_id": "ben", "department": "Sales", "opted_out": True}])
    assert latest_reviews(store) == {} and review_history(store) == []


def test_migration_3_adds_the_review_table_to_a_version_2_store(store: Store) -> None:
    with store.engine.begin() as conn:
        schema.influencer_reviews.drop(conn)
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=2, applied_at=datetime(2026, 1, 1), description="before reviews"
            )
        )
    assert schema.migrate(store.engine) == schema.HEAD
    with store.engine.connect() as conn:
        assert sa.inspect(conn).has_table("influencer_reviews")
        assert schema.current_version(conn) == schema.HEAD
    _advocates(store)
    record_review(store, "ana", "approve", note="", reviewer="pm", score=0.9, at=AT)
    assert latest_reviews(store)["ana"].decision == "approve"


def test_a_version_1_store_is_brought_to_head(store: Store) -> None:
    with store.engine.begin() as conn:
        schema.influencer_reviews.drop(conn)
        schema.embedding_cache.drop(conn)
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=1, applied_at=datetime(2026, 1, 1), description="contract only"
            )
        )
    assert schema.migrate(store.engine) == schema.HEAD
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert inspector.has_table("embedding_cache")
        assert inspector.has_table("influencer_reviews")
        versions = conn.execute(sa.select(schema.schema_version.c.version)).scalars().all()
    assert sorted(versions) == list(range(1, schema.HEAD + 1))
