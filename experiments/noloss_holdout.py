"""Issue 18's "no loss elsewhere": ``advocacy train``'s recommender holdout on one store, run by
the codebase first on the path, so two commits can be compared on the same organisation.

It does what step 3 of ``advocacy train`` does (docs/training.md) and nothing else: the store
as of ``--as-of`` (default: now), the weighted engagement log, the last ``holdout_days`` (14)
held out, features as of the window's start, the shipped hybrid and every baseline fitted on
the events before it and replayed over the window
(:func:`training.pipeline.evaluate_recommenders`). Only APIs that existed before issue 18
(commit d821c86^) are used, and the config is built here from the recommender section alone
(``--preset default``: the production ``experiments/configs/default.yaml``; ``demo``: what
``make demo`` trains), so both commits read the same settings whatever their YAML files hold.

    cd <worktree> && PYTHONPATH=$PWD python /path/to/experiments/noloss_holdout.py \\
        --db sqlite:////tmp/org.db --preset default --out result.json

Prints (and writes to ``--out``) JSON: the code's commit, the protocol (window, test pairs)
and per model ``hr@10``, ``ndcg@10``, ``mrr`` on the slices ``all``, ``new_content``,
``new_person``, with the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASELINES = ["popular", "recent_popular", "content", "lightfm_cf", "lightfm_hybrid"]
PRESETS: dict[str, dict[str, Any]] = {
    "default": {"recommender": {"model": "hybrid", "params": {}, "baselines": BASELINES}},
    "demo": {
        "recommender": {
            "model": "hybrid",
            "params": {"taste__epochs": 5, "taste__no_components": 32},
            "baselines": BASELINES,
            "baseline_params": {
                "lightfm_cf": {"epochs": 5},
                "lightfm_hybrid": {"epochs": 5, "no_components": 32},
            },
        }
    },
}


def _commit(folder: Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store's URL (sqlite:////path.db)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default")
    parser.add_argument("--as-of", help="ISO 8601 time the store is read as of (default now)")
    parser.add_argument("--seed", type=int, default=42, help="the config's seed (default 42)")
    parser.add_argument("--models", help="comma-separated subset of the models to evaluate")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    # imported here so that the codebase on PYTHONPATH is the one measured
    import training
    from features.data.store import Store
    from training.config import parse_config
    from training.datasets import engagement_log
    from training.pipeline import evaluate_recommenders, holdout_start, load_snapshot, make_encoder

    code = Path(training.__file__).resolve().parents[1]
    raw: dict[str, Any] = {"kind": "train", "seed": args.seed, **PRESETS[args.preset]}
    if args.as_of:
        raw["data"] = {"as_of": args.as_of}
    config = parse_config(raw, source=f"preset {args.preset}")
    store = Store.open(args.db)
    started = time.perf_counter()
    snapshot = load_snapshot(store, config, now=datetime.now(UTC))
    log = engagement_log(snapshot, config.data.event_weights)
    split_at = holdout_start(log, config.data.holdout_days)
    names = [config.recommender.model, *config.recommender.baselines]
    if args.models:
        names = [n for n in names if n in args.models.split(",")]
    evaluation = evaluate_recommenders(
        snapshot, config, log, split_at, names, encoder=make_encoder(config), cache=store
    )
    out = {
        "code": str(code),
        "commit": _commit(code),
        "preset": args.preset,
        "config_recommender": raw["recommender"],
        "seed": args.seed,
        "db": args.db,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "protocol": evaluation["protocol"],
        "models": evaluation["models"],
    }
    text = json.dumps(out, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
