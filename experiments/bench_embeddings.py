"""Benchmark: content embeddings with the packaged all-MiniLM-L6-v2 and the store's cache.

Runs, in one process and on synthetic content (titles + leads + topics):

1. cold: an empty cache, a new encoder (the import of sentence-transformers and the model
   load included): every item is encoded and cached;
2. warm: a new encoder and builder on the same cache (what a nightly re-run does): nothing
   is encoded and the model is never loaded;
3. incremental: the catalogue plus ``--new-fraction`` genuinely new texts, with a new
   encoder (the model is loaded again; the library import is already done, so the import
   time measured in a separate process is reported alongside);
4. throughput: the loaded encoder alone on every text, without the cache.

Prints one JSON document. Example::

    python experiments/bench_embeddings.py --content 3000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from features.content_embeddings import ContentEmbeddings
from features.content_text import content_texts
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate
from features.embedding_cache import EmbeddingCache, text_hash
from features.encoder import SentenceTransformerEncoder
from features.snapshot import Snapshot

AS_OF = "2026-11-01"


def synthetic_content(items: int, seed: int) -> pd.DataFrame:
    """The content table of a small synthetic organisation with ``items`` items."""
    config = OrgConfig(employees=200, content=items, days=180, seed=seed)
    return generate(config).tables["content"]


def new_content(base: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """``count`` items from another organisation whose texts are not in ``base``."""
    known = {text_hash(t) for t in content_texts(base)}
    candidates = synthetic_content(max(4 * count, 100), seed + 1)
    fresh = [text_hash(t) not in known for t in content_texts(candidates)]
    picked = candidates.loc[fresh].head(count).copy()
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} new texts found for {count} new items")
    picked["content_id"] = [f"new-{i}" for i in range(count)]
    return picked


def timed_run(store: Store, content: pd.DataFrame) -> dict[str, object]:
    """One transform with a new encoder and builder; its wall time and counters."""
    encoder = SentenceTransformerEncoder()
    snapshot = Snapshot.from_frames(AS_OF, content=content)
    started = time.perf_counter()
    builder = ContentEmbeddings(encoder, store).fit(snapshot)
    matrix = builder.transform(snapshot)
    seconds = time.perf_counter() - started
    stats = builder.last_stats_
    return {
        "seconds": round(seconds, 3),
        "items": stats.items,
        "embedded": stats.embedded,
        "from_cache": stats.from_cache,
        "encoded_texts": stats.encoded_texts,
        "model_loaded": encoder.is_loaded,
        "shape": list(matrix.shape),
        "_encoder": encoder,
    }


def import_seconds() -> float:
    """Time to import sentence-transformers in a fresh process (what a new run pays)."""
    code = "import time; t = time.perf_counter(); import sentence_transformers; "
    code += "print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return round(float(result.stdout.strip()), 2)


def throughput(encoder: SentenceTransformerEncoder, texts: list[str]) -> float:
    """Items per second of the loaded encoder alone."""
    started = time.perf_counter()
    for start in range(0, len(texts), 256):
        encoder.encode(texts[start : start + 256])
    return round(len(texts) / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=int, default=3000, help="catalogue size")
    parser.add_argument("--new-fraction", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default=None, help="an EMPTY store URL (default: new SQLite)")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="advocacy-bench-emb-"))
    store = Store.open(options.db or f"sqlite:///{workdir / 'bench.db'}")
    cache = EmbeddingCache(store)
    if cache.count():
        raise SystemExit(f"{store.url} already holds cached embeddings: use an empty store")
    base = synthetic_content(options.content, options.seed)
    added = new_content(base, math.ceil(options.content * options.new_fraction), options.seed)

    load_before = os.getloadavg()[0]
    cold = timed_run(store, base)
    warm = timed_run(store, base)
    incremental = timed_run(store, pd.concat([base, added], ignore_index=True))
    loaded = cold.pop("_encoder")
    warm.pop("_encoder")
    incremental.pop("_encoder")
    texts = content_texts(base)
    import torch  # already imported by the encoder

    imported = import_seconds()
    report = {
        "db": store.url,
        "model_id": loaded.model_id,
        "items": len(base),
        "new_items": len(added),
        "mean_text_chars": round(sum(map(len, texts)) / len(texts), 1),
        "cold": cold,
        "warm": warm,
        "incremental": incremental,
        "encoder_items_per_s": throughput(loaded, texts),
        "cold_items_per_s": round(len(base) / cold["seconds"], 1),
        "fresh_process_import_seconds": imported,
        "warm_fraction_of_cold": round(warm["seconds"] / cold["seconds"], 4),
        "incremental_fraction_of_cold": round(incremental["seconds"] / cold["seconds"], 4),
        "incremental_fraction_of_cold_fresh_process": round(
            (incremental["seconds"] + imported) / cold["seconds"], 4
        ),
        "cache_rows": cache.count(),
        "torch_threads": torch.get_num_threads(),
        # The machine is shared: CPU seconds per wall second and the load average tell
        # whether the run had its cores to itself.
        "cpu_seconds": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime, 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    store.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
