"""The rolling DeskDrop benchmark origin by origin, each origin's replay checkpointed.

Runs :func:`~training.evaluation.deskdrop.replay_run` (every registered model, baselines and
the hybrid tuned on the validation days before the origin) for each month start from
``--from`` to ``--to``, pickles each origin's replay to ``--out/<origin>.pkl`` as soon as it
is done (an origin already there is loaded, not run again) and after each origin writes
``--out/report.json``: :func:`~training.evaluation.rolling.rolling_report` of the origins
done so far, so a partial table can be reported. The full run equals
``advocacy evaluate deskdrop-replay --rolling monthly --from .. --to .. --json``::

    OPENBLAS_NUM_THREADS=1 nice -n 10 python experiments/rolling_checkpoints.py \\
        --out /tmp/rolling [--from 2016-06-01] [--to 2016-12-01]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.evaluation.deskdrop import ReplayRun, replay_run  # noqa: E402
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402
from training.evaluation.rolling import (  # noqa: E402
    origin_windows,
    rolling_origins,
    rolling_report,
    utc_key,
)

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--from", dest="start", default="2016-06-01")
    parser.add_argument("--to", dest="end", default="2016-12-01")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    events = read_deskdrop_events(SHARED / "deskdrop")
    runs: dict[str, ReplayRun] = {}
    for start, end in origin_windows(rolling_origins(args.start, args.end)):
        key = utc_key(start)
        path = args.out / f"{key}.pkl"
        if path.exists():
            runs[key] = pickle.loads(path.read_bytes())  # our own checkpoint
        else:
            clock = time.perf_counter()
            runs[key] = replay_run(events, split_at=start, until=end)
            path.write_bytes(pickle.dumps(runs[key]))
            print(f"{key}: {time.perf_counter() - clock:.0f} s", flush=True)
        report = rolling_report(runs, seed=args.seed)
        (args.out / "report.json").write_text(json.dumps(report, indent=1))
        versus: dict = report["versus"]  # type: ignore[assignment]
        print(json.dumps({"origin": key, "versus": versus["origins"].get(key)}), flush=True)


if __name__ == "__main__":
    main()
