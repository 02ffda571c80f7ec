"""All builders together, from the store: as-of correctness, cache reuse, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from features.data.importer import Importer
from features.data.reader import StoreReader
from features.data.sources import TableChunk
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate
from features.data.validation import ValidationContext
from features.encoder import SentenceTransformerEncoder
from features.pipeline import FeaturePipeline
from features.snapshot import Snapshot
from recsys.matrix import load_matrix
from training.cli import app

AS_OF = pd.Timestamp("2026-10-15T00:00:00Z")
TIME = {
    "interactions": "timestamp",
    "share_outcomes": "measured_at",
    "social_accounts": "as_of",
    "link_clicks": "timestamp",
    "conversions": "timestamp",
}


@pytest.fixture(scope="module")
def org() -> dict[str, pd.DataFrame]:
    config = OrgConfig(employees=120, content=50, days=40, seed=11, interactions_per_employee=25)
    return generate(config).tables


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def _store(path: Path, tables: dict[str, pd.DataFrame], context: ValidationContext) -> Store:
    store = Store.open(f"sqlite:///{path}")
    chunks = [TableChunk(name, frame.astype(object), name, 1) for name, frame in tables.items()]
    report = Importer(store, context).run([iter(chunks)])
    assert report.exit_code == 0, report.to_dict()["rejections"][:3]
    return store


def _dense(matrix) -> np.ndarray:
    return matrix.values.toarray() if sp.issparse(matrix.values) else matrix.values


def test_features_as_of_ignore_later_events_in_the_store(
    org: dict[str, pd.DataFrame], encoder, tmp_path: Path, context: ValidationContext
) -> None:
    early = {
        name: frame[pd.to_datetime(frame[TIME[name]], utc=True) <= AS_OF] if name in TIME else frame
        for name, frame in org.items()
    }
    assert len(early["interactions"]) < len(org["interactions"])
    full_store = _store(tmp_path / "full.db", org, context)
    early_store = _store(tmp_path / "early.db", early, context)
    built = []
    for store in (full_store, early_store):
        snapshot = Snapshot.load(StoreReader(store), AS_OF)
        built.append(FeaturePipeline(encoder=encoder, cache=store).fit_transform(snapshot))
    full, cut = built
    for name, matrix in full.matrices.items():
        assert matrix.names == cut[name].names, name
        assert matrix.ids.external.tolist() == cut[name].ids.external.tolist(), name
        np.testing.assert_array_equal(_dense(matrix), _dense(cut[name]), err_msg=name)


def test_second_build_reads_every_vector_from_the_cache(
    org: dict[str, pd.DataFrame], encoder, tmp_path: Path, context: ValidationContext
) -> None:
    store = _store(tmp_path / "s.db", org, context)
    snapshot = Snapshot.load(StoreReader(store), AS_OF)
    first = FeaturePipeline(encoder=encoder, cache=store).fit_transform(snapshot)
    second = FeaturePipeline(encoder=encoder, cache=store).fit_transform(snapshot)
    assert first.embedded == len(org["content"]) and first.from_cache == 0
    assert second.embedded == 0 and second.from_cache == len(org["content"])
    opted_out = set(org["advocates"].loc[org["advocates"]["opted_out"], "employee_id"])
    assert opted_out, "the generated org should have opted-out advocates"
    for name in ("sharing_history", "audience", "org_network"):
        assert not opted_out & set(first[name].ids.external), name
    assert opted_out <= set(first["advocate_profile"].ids.external)


def test_features_build_command(
    org: dict[str, pd.DataFrame], tmp_path: Path, context: ValidationContext
) -> None:
    store = _store(tmp_path / "s.db", org, context)
    db = store.url
    runner = CliRunner()
    args = ["features", "build", "--db", db, "--as-of", "2026-10-15", "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["items_embedded"] == len(org["content"]) and summary["embedding_dims"] == 384
    assert set(summary["seconds"]) >= {"load", "content_embeddings", "org_network"}
    saved = load_matrix(tmp_path / "out" / "content_embeddings.npz")
    assert saved.shape == (len(org["content"]), 384)
    again = json.loads(runner.invoke(app, args).stdout)
    assert (again["items_embedded"], again["items_from_cache"]) == (0, len(org["content"]))
    bad = runner.invoke(app, ["features", "build", "--db", db, "--as-of", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


@pytest.mark.parametrize(
    ("folder", "fmt", "as_of"),
    [("deskdrop", "deskdrop", "2016-11-01"), ("movielens-100k", "movielens", "1998-03-01")],
)
def test_features_on_real_datasets(
    folder: str,
    fmt: str,
    as_of: str,
    shared_data: Path,
    encoder,
    sqlite_store: Store,
    context: ValidationContext,
) -> None:
    from features.data.importer import import_path

    assert import_path(sqlite_store, shared_data / folder, fmt=fmt, context=context).exit_code == 0
    snapshot = Snapshot.load(StoreReader(sqlite_store), pd.Timestamp(as_of, tz="UTC"))
    features = FeaturePipeline(encoder=encoder, cache=sqlite_store).fit_transform(snapshot)
    counts = sqlite_store.counts()
    assert features["content_embeddings"].shape == (counts["content"], 384)
    assert features["advocate_profile"].shape[0] == counts["advocates"]
    history = features["sharing_history"]
    active = history.column("log_count:active")
    assert (active > 0).mean() > 0.5  # most people had events before the as-of time
    affinity = history.select("affinity:emb_").values
    norms = np.linalg.norm(affinity[active > 0], axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-4)
    assert features["org_network"].shape[1] > 0  # no org edges: zero columns rows, no error
