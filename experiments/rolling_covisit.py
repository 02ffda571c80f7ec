"""The session co-visitation component (:class:`~recsys.models.covisit.CoVisit`) on the rolling
DeskDrop origins: decided on each origin's validation days, then replayed on its month.

For each origin (``--origins``, month starts): the hybrid with the parameters the rolling
benchmark chose before that origin (:data:`CHOSEN`, from its per-origin tuning on the 31
validation days before it; docs/recommenders.md) is fitted before the validation window and
replayed on it (nothing at or after the origin is read), without the component and with each
``--variant`` (JSON parameters of ``CoVisit``; ``{}``: its defaults). With ``--test`` the
same models are also fitted before the origin and replayed on its month (the window of
``advocacy evaluate deskdrop-replay --rolling monthly``). ``--blocks N``: the second stage's
replay in N blocks (default 200). Prints one JSON line per origin and model: nDCG@10 overall
and on the weak slices, and seconds::

    OPENBLAS_NUM_THREADS=1 nice -n 19 python experiments/rolling_covisit.py \\
        --origins 2016-06-01,2016-07-01 --variant '{}' --variant '{"window_hours": 3}' [--test]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import recsys.models.hybrid  # noqa: E402
from recsys.models import Hybrid  # noqa: E402
from recsys.models.covisit import CoVisit  # noqa: E402
from recsys.models.second_stage import time_examples  # noqa: E402
from training.evaluation.deskdrop import (  # noqa: E402
    VALIDATION_DAYS,
    ReplaySetup,
    deskdrop_validation_window,
    weighted_log,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402
from training.evaluation.rolling import origin_windows, rolling_origins  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SLICES = ("all", "content_age_0-1d", "content_age_1-7d", "content_age_7-30d", "person_events_1")
SHORT, SIX_HOURS, ONE_DAY = 0.5 / 24, 0.25, 1.0
#: The hybrid's parameters chosen by the rolling benchmark's tuning before each origin.
CHOSEN: dict[str, dict[str, float]] = {
    origin: {
        "global_trend_short__half_life_days": SHORT,
        "colleague_trend__half_life_days": SIX_HOURS if origin < "2016-10" else ONE_DAY,
    }
    for origin in (f"2016-{m:02d}-01" for m in range(6, 13))
}


def hybrid(origin: str, variant: dict | None, params: dict) -> Hybrid:
    model = Hybrid().set_params(**CHOSEN[origin], **params)
    if variant is not None:
        model.set_params(extra_components=(CoVisit(**variant),))
    return model


def measure(setup: ReplaySetup, model: Hybrid) -> dict[str, object]:
    clock = time.perf_counter()
    values, _ = setup.evaluate(model.fit(setup.dataset))
    out: dict[str, object] = {s: round(float(values[s]["ndcg@10"] or 0.0), 4) for s in SLICES}
    return out | {"seconds": round(time.perf_counter() - clock, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", default="2016-06-01,2016-07-01,2016-10-01")
    parser.add_argument("--variant", action="append", default=[], help="CoVisit params, JSON")
    parser.add_argument("--test", action="store_true", help="also replay the origins' months")
    parser.add_argument("--skip-base", action="store_true", help="no run without the component")
    parser.add_argument("--skip-validation", action="store_true")
    parser.add_argument("--hybrid", default="{}", help="more Hybrid params for every model, JSON")
    parser.add_argument("--blocks", type=int, help="second-stage blocks (default: the hybrid's)")
    args = parser.parse_args()
    if args.blocks:  # an experiment only: the hybrid has no parameter for it
        recsys.models.hybrid.time_examples = functools.partial(time_examples, blocks=args.blocks)
    events = read_deskdrop_events(SHARED / "deskdrop")
    log = weighted_log(events)
    origins = args.origins.split(",")
    params = json.loads(args.hybrid)
    variants: list[dict | None] = [] if args.skip_base else [None]
    variants += [json.loads(v) for v in args.variant]
    for origin in origins:
        setups: dict[str, ReplaySetup] = {}
        if not args.skip_validation:
            start, end = deskdrop_validation_window(origin, VALIDATION_DAYS)
            setups["validation"] = ReplaySetup.build(
                events[events["timestamp"] < end], start, end, log
            )
        if args.test:
            month = origin_windows(rolling_origins(origin, origin))[0]
            setups["test"] = ReplaySetup.build(events, month[0], month[1], log)
        for part, setup in setups.items():
            for variant in variants:
                line = {"origin": origin, "part": part, "covisit": variant, "hybrid": params}
                model = hybrid(origin, variant, params)
                print(json.dumps(line | measure(setup, model)), flush=True)


if __name__ == "__main__":
    main()
