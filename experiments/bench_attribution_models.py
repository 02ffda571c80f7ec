"""Benchmark: every attribution model's fit + credit time and peak memory on synthetic paths.

Paths: ``--converting`` + ``--non-converting`` visitors, geometric path lengths (mean
``--mean-length`` touches), channels drawn with Zipf-like popularity ``1 / (rank + 10) ** zipf``
over ``--channels`` codes (``--zipf 0`` = uniform). Conversions follow a planted noisy-OR: each
path's conversion probability is ``1 - 0.98 * prod (1 - q_c)`` and exactly ``--converting`` paths
are drawn to convert in proportion to it. Touches are ~1 day apart; a path ends up to a few
days after its last touch.

Prints one JSON document: per model the seconds of ``fit`` and ``credit`` (best of
``--repeats``, no tracing) and the peak MB that fit + credit allocate (a second run under
``tracemalloc``, which numpy reports to), plus ``roll_up``, the process's peak RSS,
``markov_bound``: on a smaller input whose transition graph is one strongly connected component
small enough to invert, the largest relative error of the two-cycle bound that
:class:`MarkovAttribution` uses in components above ``exact_component_size``, and
``shapley_long_path``: the seconds of the exact (quadrature) Shapley values of one path of
``--long-path`` touches and how far they sum from ``v(N)``.

    OPENBLAS_NUM_THREADS=1 python experiments/bench_attribution_models.py
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc

import numpy as np

from recsys.attribution import MODELS, MarkovAttribution, TouchPaths, make_model, roll_up
from recsys.attribution.shapley import noisy_or_shapley

DAY = 86_400.0


def synthetic(
    n_channels: int,
    converting: int,
    non_converting: int,
    mean_length: float,
    zipf: float,
    seed: int,
) -> TouchPaths:
    rng = np.random.default_rng(seed)
    n_paths = converting + non_converting
    lengths = rng.geometric(1.0 / mean_length, n_paths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    popularity = 1.0 / (np.arange(n_channels) + 10.0) ** zipf
    channel = rng.choice(n_channels, int(indptr[-1]), p=popularity / popularity.sum())
    activation = rng.beta(1.0, 30.0, n_channels)
    path = np.repeat(np.arange(n_paths), lengths)
    stay = np.exp(np.bincount(path, np.log1p(-activation[channel]), n_paths))
    probability = 1.0 - 0.98 * stay
    keys = np.log(probability) - np.log(-np.log(rng.random(n_paths)))  # Gumbel top-k
    converted = np.zeros(n_paths, bool)
    converted[np.argpartition(-keys, converting)[:converting]] = True
    start = rng.uniform(0, 90 * DAY, n_paths)
    gaps = rng.exponential(DAY, len(channel))
    gaps[indptr[:-1]] = 0.0
    touch_time = np.cumsum(gaps)
    touch_time += np.repeat(start - touch_time[indptr[:-1]], lengths)
    end_time = touch_time[indptr[1:] - 1] + rng.exponential(2 * DAY, n_paths)
    return TouchPaths(indptr, channel, touch_time, end_time, converted, n_channels)


def measure(name: str, paths: TouchPaths, repeats: int, memory: bool) -> dict:
    fit_s, credit_s = [], []
    for _ in range(repeats):
        model = make_model(name)
        started = time.perf_counter()
        model.fit(paths)
        fitted = time.perf_counter()
        credit = model.credit(paths)
        fit_s.append(fitted - started)
        credit_s.append(time.perf_counter() - fitted)
    sums = np.bincount(paths.path_index(), credit, paths.n_paths)[paths.converted]
    row = {
        "model": name,
        "fit_seconds": round(min(fit_s), 3),
        "credit_seconds": round(min(credit_s), 3),
        "total_seconds": round(min(fit_s) + min(credit_s), 3),
        "max_path_sum_error": float(np.abs(sums - 1).max()),
    }
    if memory:
        tracemalloc.start()
        make_model(name).fit(paths).credit(paths)
        row["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    if name == "markov":
        model = MarkovAttribution().fit(paths)
        row["hit_exact_share"] = round(float(model.hit_exact_.mean()), 4)
    if hasattr(model, "n_iter_"):
        row["n_iter"] = int(model.n_iter_)
    return row


def shapley_long_path(n: int, seed: int) -> dict:
    """Exact Shapley values of one ``n``-touch noisy-OR game (activations up to 0.3)."""
    activation = np.random.default_rng(seed).uniform(0.0, 0.3, n)
    started = time.perf_counter()
    values = noisy_or_shapley(np.array([0, n]), activation)
    seconds = time.perf_counter() - started
    error = abs(values.sum() - (1.0 - np.prod(1.0 - activation)))
    return {"touches": n, "seconds": round(seconds, 3), "sum_error": float(error)}


def markov_bound(seed: int) -> dict:
    """The two-cycle bound against the exact dense inverse on one 2,000-channel component."""
    paths = synthetic(2000, 2000, 18000, 2.0, 1.0, seed)
    exact = MarkovAttribution(exact_component_size=2000).fit(paths)
    bound = MarkovAttribution(exact_component_size=2).fit(paths)
    seen = exact.visits_ > 0
    relative = bound.hit_[seen] / exact.hit_[seen] - 1
    effect = bound.removal_effect_[seen] / np.maximum(exact.removal_effect_[seen], 1e-300) - 1
    return {
        "channels": 2000,
        "touches": paths.n_touches,
        "exact_share": float(exact.hit_exact_.mean()),
        "max_relative_error_hit": float(relative.max()),
        "mean_relative_error_hit": float(relative.mean()),
        "max_relative_error_removal_effect": float(effect.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--converting", type=int, default=50_000)
    parser.add_argument("--non-converting", type=int, default=450_000)
    parser.add_argument("--mean-length", type=float, default=2.0)
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--long-path", type=int, default=5000)
    args = parser.parse_args()
    started = time.perf_counter()
    paths = synthetic(
        args.channels, args.converting, args.non_converting, args.mean_length, args.zipf, args.seed
    )
    result = {
        "input": {
            "paths": paths.n_paths,
            "converting": int(paths.converted.sum()),
            "touches": paths.n_touches,
            "channels": paths.n_channels,
            "zipf": args.zipf,
            "generate_seconds": round(time.perf_counter() - started, 2),
        },
        "models": [],
    }
    for name in args.models.split(","):
        result["models"].append(measure(name, paths, args.repeats, not args.no_memory))
    credit = make_model("linear").credit(paths)
    started = time.perf_counter()
    roll_up(paths, credit, paths.channel, np.ones(paths.n_paths), args.channels)
    result["roll_up_seconds"] = round(time.perf_counter() - started, 3)
    result["markov_bound"] = markov_bound(args.seed)
    result["shapley_long_path"] = shapley_long_path(args.long_path, args.seed)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
