"""Benchmark: every feature matrix of a store, cold (empty embedding cache) and warm.

Each build runs as its own `advocacy features build` process. Prints one JSON document.
For the issue's organisation, import it first (bench_generate_import.py), then:

    python experiments/bench_features.py --db sqlite:////tmp/bench100k/bench.db \
        --as-of 2026-11-01
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from stages import run_stage

from features.data.synthetic import OrgConfig, generate


def build(db: str, as_of: str) -> dict[str, object]:
    stage = run_stage(["features", "build", "--db", db, "--as-of", as_of, "--json"])
    summary = json.loads(str(stage.pop("stdout")))
    return {**stage, "summary": summary}


def add_new_content(db: str, count: int, as_of: str) -> dict[str, object]:
    """Import ``count`` genuinely new items (another seed's texts, new ids) into ``db``."""
    end = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
    org = generate(OrgConfig(employees=50, content=count, days=7, seed=4242, end=end))
    content = org.tables["content"].assign(author_id=None)
    content["content_id"] = "new-" + content["content_id"].astype(str)
    folder = Path(tempfile.mkdtemp(prefix="advocacy-new-content-"))
    content.to_parquet(folder / "content.parquet")
    return run_stage(["data", "import", str(folder), "--db", db, "--json"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="Store URL with an imported organisation")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--runs", type=int, default=2, help="1 cold + (runs-1) warm builds")
    parser.add_argument(
        "--new-fraction", type=float, default=0.01, help="then add this much new content"
    )
    options = parser.parse_args()
    runs = [build(options.db, options.as_of) for _ in range(options.runs)]
    result: dict[str, object] = {"benchmark": "features", "db": options.db, "runs": runs}
    items = runs[0]["summary"]["content_items"]  # type: ignore[index]
    new = round(items * options.new_fraction)
    if new:
        imported = add_new_content(options.db, new, options.as_of)
        incremental = build(options.db, options.as_of)
        cold = runs[0]["seconds"]
        result["incremental"] = {
            "new_items": new,
            "import_seconds": imported["seconds"],
            "build": incremental,
            "fraction_of_cold_build": round(incremental["seconds"] / cold, 3),  # type: ignore[operator]
            "embedding_fraction_of_cold": round(
                incremental["summary"]["seconds"]["content_embeddings"]  # type: ignore[index]
                / runs[0]["summary"]["seconds"]["content_embeddings"],  # type: ignore[index]
                3,
            ),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
