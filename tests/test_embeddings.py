"""Content texts, the embedding cache on both stores, and the ContentEmbeddings builder.

The builder runs the real packaged all-MiniLM-L6-v2 on synthetic content (no mocks).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.exceptions import NotFittedError

from features.content_embeddings import ContentEmbeddings
from features.content_text import EMPTY_TEXT, approx_tokens, content_text, content_texts
from features.data import schema
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate
from features.embedding_cache import EmbeddingCache, MemoryEmbeddingCache, text_hash
from features.encoder import SentenceTransformerEncoder
from features.snapshot import Snapshot

AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


@pytest.fixture(scope="module")
def content() -> pd.DataFrame:
    org = generate(OrgConfig(employees=40, content=40, days=30, interactions_per_employee=1))
    return org.tables["content"]


def _snapshot(content: pd.DataFrame) -> Snapshot:
    return Snapshot.from_frames(AS_OF, content=content)


def _vectors(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32)


# -- content text ---------------------------------------------------------------------------


def test_text_is_title_lead_and_topics() -> None:
    text = content_text(
        "  Cloud  costs\tdown ", "We cut\n costs.", ["cost-cutting", "cloud"], "article"
    )
    assert text == "Cloud costs down\nWe cut costs.\nTopics: cost cutting, cloud"


def test_the_body_is_cut_to_the_token_budget_first() -> None:
    body = " ".join(f"word{i}" for i in range(500))
    text = content_text("A title", body, ["ai"], "article", max_tokens=40)
    assert text.startswith("A title\nword0 word1") and text.endswith("\nTopics: ai")
    assert approx_tokens(text) <= 40
    assert content_text("A title", body, ["ai"], max_tokens=5) == "A title\nTopics: ai"
    assert content_text("A title", body, ["ai"], max_tokens=4) == "A title\nword0 word1"
    assert content_text("one two three four five", "", [], max_tokens=3) == "one two three"


def test_a_budget_also_bounds_text_without_spaces() -> None:
    text = content_text("新しいクラウド基盤" * 40, None, None, "article", max_tokens=16)
    assert len(text) == 16


def test_items_without_text_get_their_type_or_a_constant() -> None:
    assert content_text("", None, [], "job") == "job"
    assert content_text(float("nan"), pd.NA, None, "event") == "event"
    assert content_text(None, " ", ["ai"], "job") == "Topics: ai"
    assert content_text("", "", [], None) == EMPTY_TEXT


def test_texts_of_a_frame_follow_its_rows(content: pd.DataFrame) -> None:
    texts = content_texts(content)
    assert len(texts) == len(content) and all(texts)
    assert texts[0].startswith(content["title"].iloc[0])
    assert content_texts(content[["content_id", "content_type"]].head(2)) == list(
        content["content_type"].head(2)
    )
    assert text_hash("é") == text_hash("é") != text_hash("e")
    assert len(text_hash("")) == 64


# -- cache ----------------------------------------------------------------------------------


def test_the_cache_round_trips_vectors_in_batches(store: Store) -> None:
    cache = EmbeddingCache(store, chunk_size=7)
    hashes = [text_hash(f"text {i}") for i in range(20)]
    vectors = _vectors(20)
    cache.put("model-a", hashes, vectors)
    found = cache.get("model-a", [*hashes, text_hash("unknown")])
    assert set(found) == set(hashes)
    for i, h in enumerate(hashes):
        assert found[h].dtype == np.float32
        np.testing.assert_array_equal(found[h], vectors[i])  # bit-exact
    assert cache.get("model-b", hashes) == {}
    assert cache.count() == cache.count("model-a") == 20


def test_the_cache_overwrites_and_prunes(store: Store) -> None:
    cache = EmbeddingCache(store)
    hashes = [text_hash(str(i)) for i in range(5)]
    cache.put("old", hashes, _vectors(5))
    cache.put("new", hashes, _vectors(5, seed=1))
    cache.put("new", hashes[:1] * 2, _vectors(2, seed=2))  # same key twice in one batch
    latest = cache.get("new", hashes[:1])[hashes[0]]
    np.testing.assert_array_equal(latest, _vectors(2, seed=2)[1])  # the last one given wins
    assert cache.model_ids() == {"old": 5, "new": 5}
    assert cache.prune_models(["new"]) == 5
    assert cache.prune_texts("new", hashes[:2]) == 3
    assert cache.model_ids() == {"new": 2}
    with pytest.raises(ValueError, match="non-finite"):
        cache.put("new", hashes[:1], np.full((1, 4), np.nan, dtype=np.float32))


def test_migration_2_adds_the_cache_to_a_version_1_store(store: Store) -> None:
    with store.engine.begin() as conn:  # make it a store created before step 2 existed
        schema.embedding_cache.drop(conn)
        conn.execute(sa.delete(schema.schema_version))
        conn.execute(
            schema.schema_version.insert().values(
                version=1, applied_at=datetime(2026, 1, 1), description="created at head"
            )
        )
        assert schema.current_version(conn) == 1
    assert schema.migrate(store.engine) == schema.HEAD
    with store.engine.connect() as conn:
        assert sa.inspect(conn).has_table("embedding_cache")
        assert schema.current_version(conn) == schema.HEAD
    EmbeddingCache(store).put("m", ["h"], _vectors(1))


# -- builder --------------------------------------------------------------------------------


def test_rows_are_unit_embeddings_of_the_content(
    encoder: SentenceTransformerEncoder, content: pd.DataFrame
) -> None:
    builder = ContentEmbeddings(encoder).fit(_snapshot(content))
    matrix = builder.transform(_snapshot(content))
    assert matrix.shape == (len(content), 384) and matrix.values.dtype == np.float32
    assert matrix.names[0] == "emb_0" and matrix.names[-1] == "emb_383"
    assert list(matrix.ids.external) == list(content["content_id"])
    assert matrix.ids.kind == "content"
    np.testing.assert_allclose(np.linalg.norm(matrix.values, axis=1), 1.0, atol=1e-5)
    expected = encoder.encode(content_texts(content.head(3)))
    np.testing.assert_allclose(matrix.values[:3], expected, atol=1e-5)
    again = builder.transform(_snapshot(content), ids=list(content["content_id"][[5, 2]]))
    np.testing.assert_array_equal(again.values, matrix.values[[5, 2]])
    assert builder.last_stats_.embedded == 0  # the in-memory cache of the fitted builder


def test_a_rerun_embeds_only_new_or_changed_content(
    store: Store, encoder: SentenceTransformerEncoder, content: pd.DataFrame
) -> None:
    unique = len(set(content_texts(content)))
    first = ContentEmbeddings(encoder, store).fit(_snapshot(content))
    cold = first.transform(_snapshot(content))
    assert first.last_stats_.embedded == len(content) and first.last_stats_.from_cache == 0
    assert first.last_stats_.encoded_texts == unique

    fresh = SentenceTransformerEncoder()  # another process: a new, unloaded encoder
    second = ContentEmbeddings(fresh, store).fit(_snapshot(content))
    warm = second.transform(_snapshot(content))
    assert second.last_stats_.embedded == 0 and second.last_stats_.from_cache == len(content)
    assert not fresh.is_loaded
    np.testing.assert_array_equal(warm.values, cold.values)

    edited = content.copy()
    edited.loc[3, "title"] = "A completely new headline about quantum networking"
    changed = second.transform(_snapshot(edited))
    assert (second.last_stats_.embedded, second.last_stats_.encoded_texts) == (1, 1)
    assert not np.allclose(changed.values[3], cold.values[3])
    np.testing.assert_array_equal(np.delete(changed.values, 3, 0), np.delete(cold.values, 3, 0))

    other_model = SentenceTransformerEncoder(max_seq_length=128)
    third = ContentEmbeddings(other_model, store).fit(_snapshot(content))
    third.transform(_snapshot(content))
    assert third.last_stats_.encoded_texts == unique and third.last_stats_.from_cache == 0
    assert set(EmbeddingCache(store).model_ids()) == {encoder.model_id, other_model.model_id}


def test_new_and_empty_content_get_rows_at_once(
    encoder: SentenceTransformerEncoder, content: pd.DataFrame
) -> None:
    builder = ContentEmbeddings(encoder, MemoryEmbeddingCache()).fit(_snapshot(content))
    builder.transform(_snapshot(content))
    new = content.head(3).copy()
    new["content_id"] = ["new-1", "new-2", "new-3"]
    new["title"] = ["", "", "Nachhaltigkeitsbericht 2026 veröffentlicht"]
    new["body"] = [None, "", "Unsere Emissionen sind um 40 Prozent gesunken."]
    new["topics"] = [[], ["ai"], ["sustainability"]]
    new["content_type"] = ["job", "article", "article"]
    snapshot = _snapshot(pd.concat([content, new], ignore_index=True))
    matrix = builder.transform(snapshot, ids=["new-1", "new-2", "new-3", content["content_id"][0]])
    assert builder.last_stats_.embedded == 3 and builder.last_stats_.from_cache == 1
    assert np.isfinite(matrix.values).all()
    np.testing.assert_allclose(matrix.values[0], encoder.encode(["job"])[0], atol=1e-5)
    np.testing.assert_allclose(matrix.values[1], encoder.encode(["Topics: ai"])[0], atol=1e-5)


def test_identical_texts_are_encoded_once(
    encoder: SentenceTransformerEncoder, content: pd.DataFrame
) -> None:
    twins = pd.concat([content.head(2)] * 2, ignore_index=True)
    twins["content_id"] = ["a", "b", "c", "d"]
    builder = ContentEmbeddings(encoder, batch_size=1).fit(_snapshot(twins))
    matrix = builder.transform(_snapshot(twins))
    assert (builder.last_stats_.embedded, builder.last_stats_.encoded_texts) == (4, 2)
    np.testing.assert_array_equal(matrix.values[0], matrix.values[2])


def test_empty_content_and_misuse(encoder: SentenceTransformerEncoder) -> None:
    empty = _snapshot(pd.DataFrame(columns=["content_id", "title", "content_type"]))
    with pytest.raises(NotFittedError):
        ContentEmbeddings(encoder).transform(empty)
    matrix = ContentEmbeddings(encoder).fit(empty).transform(empty)
    assert matrix.shape == (0, 384)
    with pytest.raises(ValueError, match="batch_size"):
        ContentEmbeddings(encoder, batch_size=0).fit(empty)
