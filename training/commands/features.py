"""``advocacy features build``: every feature matrix as of a time, with a summary."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from training import console
from training.commands.data import DB_HELP

features_app = typer.Typer(help="Build content and advocate features.", no_args_is_help=True)

MODEL_ENV = "ADVOCACY_ENCODER_MODEL"


@features_app.command("build")
def build_command(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help="ISO 8601 time; default now."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    model: str | None = typer.Option(
        None,
        "--model",
        help=f"sentence-transformers model folder (default ${MODEL_ENV} or"
        " the bundled all-MiniLM-L6-v2).",
    ),
    model_sha256: str | None = typer.Option(
        None, "--model-sha256", help="Expected sha256 of the model's weights (see docs)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Save every matrix as .npz here."),
) -> None:
    """Build content embeddings and metadata and advocate profiles as of a time."""
    from features.data.reader import StoreReader
    from features.data.store import Store
    from features.encoder import SentenceTransformerEncoder
    from features.pipeline import FeaturePipeline
    from features.snapshot import Snapshot

    moment = console.parse_time("--as-of", as_of) or datetime.now(UTC)
    store = Store.open(db)
    started = time.perf_counter()
    snapshot = Snapshot.load(StoreReader(store), moment)
    loaded = time.perf_counter() - started
    path = model or os.environ.get(MODEL_ENV)
    encoder = SentenceTransformerEncoder(path, expected_sha256=model_sha256)
    pipeline = FeaturePipeline(encoder=encoder, cache=store)
    features = pipeline.fit_transform(snapshot)
    summary = features.summary()
    summary["seconds"] = {"load": round(loaded, 3), **summary["seconds"]}  # type: ignore[dict-item]
    summary["model_id"] = encoder.model_id
    if out is not None:
        summary["saved"] = [str(p) for p in features.save(out)]
    if as_json:
        console.print_json(summary)
    else:
        console.print_feature_summary(summary)
