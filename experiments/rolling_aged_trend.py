"""A candidate for the hybrid's weak DeskDrop slices (content 7+ days old, people with one
earlier event): an extra ``aged_trend`` component, measured on each origin's validation days.

``AgedTrend``: the short global trend's value (``log1p`` of the decayed count, half-life
``half_life_days``) times ``log1p`` of the content's age in days at the request time, so the
second stage can weigh "engaged with right now" more on old content than on fresh content
(its linear score cannot do that with the trend and freshness apart; ``recent_popular`` leads
on content 7+ days old).

For each origin with a checkpoint of ``experiments/rolling_checkpoints.py`` in ``--runs``:
the hybrid with the parameters chosen before that origin (``protocol.tuning.hybrid``), with
and without the component, is fitted before the origin's validation days and replayed on them
(nothing at or after the origin is read); prints nDCG@10 overall and per weak slice. With
``--test`` (only after the validation verdict): the candidate is also replayed on the
origin's month and the origin's checkpoint with its hybrid ranks replaced is written to
``--out``, for :func:`~training.evaluation.rolling.rolling_report`. ``--min-age-days D``:
the indicator form (the trend times ``age >= D``); ``--skip-base``: the candidate only.
Neither form was kept (docs/recommenders.md)::

    OPENBLAS_NUM_THREADS=1 nice -n 10 python experiments/rolling_aged_trend.py \\
        --runs /tmp/rolling [--test|--test-only --out /tmp/rolling-aged]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.models import Hybrid  # noqa: E402
from recsys.models.popular import GlobalTrend  # noqa: E402
from recsys.times import DAY  # noqa: E402
from training.evaluation.deskdrop import (  # noqa: E402
    VALIDATION_DAYS,
    ReplayRun,
    ReplaySetup,
    deskdrop_validation_window,
    replay_ranks,
    weighted_log,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SLICES = ("all", "content_age_0-1d", "content_age_7-30d", "content_age_30d_plus", "person_events_1")


class AgedTrend(GlobalTrend):
    """``log1p`` of the decayed count times ``log1p`` of the item's age in days, or times
    ``age >= min_age_days`` when that is set (the trend of old content only)."""

    name = "aged_trend"

    def __init__(
        self, *, half_life_days: float = 1.0, weighted: bool = False, min_age_days: float = 0.0
    ) -> None:
        super().__init__(half_life_days=half_life_days, weighted=weighted)
        self.min_age_days = min_age_days

    def fit_component(self, dataset, context):
        super().fit_component(dataset, context)
        self.item_times_ = np.asarray(dataset.item_times, np.float64)
        return self

    def grow_items(self, internal, content_ids, features, times) -> None:
        super().grow_items(internal, content_ids, features, times)
        self.item_times_ = np.concatenate([self.item_times_, np.asarray(times, np.float64)])

    def _age(self, item_times: np.ndarray, times) -> np.ndarray:
        days = np.maximum(np.asarray(times, np.float64) - item_times, 0.0) / DAY
        return (
            (days >= self.min_age_days).astype(np.float64) if self.min_age_days else np.log1p(days)
        )

    def pairs(self, users, items, times):
        return super().pairs(users, items, times) * self._age(self.item_times_[items], times)

    def item_values(self, as_of):
        return super().item_values(as_of) * self._age(self.item_times_, as_of)

    def state(self):
        return super().state() | {"item_times": self.item_times_}

    def load_state(self, arrays):
        super().load_state(arrays)
        self.item_times_ = np.asarray(arrays["item_times"], np.float64)
        return self


def hybrid(chosen: dict | None, aged: bool, min_age_days: float = 0.0) -> Hybrid:
    model = Hybrid().set_params(**(chosen or {}))
    if aged:
        short = model.global_trend_short.half_life_days
        aged_trend = AgedTrend(half_life_days=short, min_age_days=min_age_days)
        model.set_params(extra_components=(aged_trend,))
    return model


def slices(setup: ReplaySetup, model: Hybrid) -> dict[str, float]:
    values, _ = setup.evaluate(model.fit(setup.dataset))
    return {s: round(float(values[s]["ndcg@10"] or 0.0), 4) for s in SLICES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--test", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--test-only", action="store_true", help="skip the validation replays")
    parser.add_argument("--skip-base", action="store_true", help="validate the candidate only")
    parser.add_argument("--min-age-days", type=float, default=0.0, help="indicator form")
    args = parser.parse_args()
    events = read_deskdrop_events(SHARED / "deskdrop")
    log = weighted_log(events)
    for path in sorted(args.runs.glob("*.pkl")):
        run: ReplayRun = pickle.loads(path.read_bytes())  # our own checkpoint
        protocol: dict = run.result["protocol"]  # type: ignore[assignment]
        chosen = protocol["tuning"]["hybrid"]["chosen"]
        start, end = deskdrop_validation_window(protocol["split_at"], VALIDATION_DAYS)
        setup = ReplaySetup.build(events[events["timestamp"] < end], start, end, log)
        line: dict[str, object] = {"origin": path.stem, "chosen": chosen}
        for aged in () if args.test_only else (False, True)[args.skip_base :]:
            model = hybrid(chosen, aged, args.min_age_days)
            line["aged" if aged else "base"] = slices(setup, model)
        if (args.test or args.test_only) and args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            test = run.setup
            model = hybrid(chosen, True, args.min_age_days).fit(test.dataset)
            ranks, _ = replay_ranks(model, test.replay, test.log, test.content_str)
            values = test.slices(ranks)
            line["test"] = {s: values[s]["ndcg@10"] for s in SLICES}
            models = dict(run.result["models"])  # type: ignore[call-overload]
            overall = {k: v for k, v in values["all"].items() if k != "n"}
            models["hybrid"] = {**models["hybrid"], **overall, "slices": values}
            result = run.result | {"models": models}
            replaced = dataclasses.replace(run, result=result, ranks=run.ranks | {"hybrid": ranks})
            (args.out / path.name).write_bytes(pickle.dumps(replaced))
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
