"""Benchmark: every feature matrix of a store, cold (empty embedding cache) and warm.

Each build runs as its own `advocacy features build` process. Prints one JSON document.
For the issue's organisation, import it first (bench_generate_import.py), then:

    python experiments/bench_features.py --db sqlite:////tmp/bench100k/bench.db \
        --as-of 2026-11-01
"""

from __future__ import annotations

import argparse
import json

from stages import run_stage


def build(db: str, as_of: str) -> dict[str, object]:
    stage = run_stage(["features", "build", "--db", db, "--as-of", as_of, "--json"])
    summary = json.loads(str(stage.pop("stdout")))
    return {**stage, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="Store URL with an imported organisation")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--runs", type=int, default=2, help="1 cold + (runs-1) warm builds")
    options = parser.parse_args()
    runs = [build(options.db, options.as_of) for _ in range(options.runs)]
    print(json.dumps({"benchmark": "features", "db": options.db, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
