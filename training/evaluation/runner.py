"""Offline benchmarks of recommenders: MovieLens-100K (warm and cold items), DeskDrop replay.

:func:`run_benchmark` fits each named model factory on a benchmark's training data and returns
one JSON-able dict::

    {"benchmark": str, "protocol": {...},
     "models": {name: {"<metric>": value, ..., "slices": {slice: {...}},
                       "seconds": {"fit": s, "recommend": s, ...}}},
     "seconds": s}

(the replay also times ``observe``: its ``add_items`` and ``observe`` calls).

Metric keys are ``hr@10``, ``ndcg@10``, ``mrr``, ``map@10``, ``precision@10``, ``recall@10``
and ``auc`` (those that apply to the benchmark). Undefined values are ``None``. Every model
entry has ``slices`` with at least ``all`` (the same metrics plus ``n``, the users or pairs
averaged over).

The benchmarks (:data:`BENCHMARKS`) live in their own modules:
:mod:`training.evaluation.movielens` (``movielens-100k``, ``movielens-100k-cold``) and
:mod:`training.evaluation.deskdrop` (``deskdrop-replay``, with baseline and hybrid tuning on a
validation window before the split). Names and data folders: :mod:`.registry`; the result
dict: :mod:`.report`.

Models that need what a benchmark cannot give (e.g. item features on DeskDrop) fail at fit;
in the default model list they are skipped (listed in ``protocol["skipped_models"]``), a model
asked for by name raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from recsys.times import TimeLike
from training.evaluation.deskdrop import (
    DEFAULT_SPLIT_AT,
    EVENT_WEIGHTS,
    TUNED,
    VALIDATION_DAYS,
    deskdrop_benchmark,
    deskdrop_validation_window,
)
from training.evaluation.movielens import (
    movielens_benchmark,
    movielens_cold_benchmark,
    movielens_item_features,
)
from training.evaluation.protocols import read_deskdrop_events
from training.evaluation.registry import (
    BENCHMARKS,
    DATA_FOLDERS,
    ModelFactory,
    UnknownNameError,
    check_benchmark,
    model_factories,
    resolve_data,
)

__all__ = [
    "BENCHMARKS",
    "DATA_FOLDERS",
    "DEFAULT_SPLIT_AT",
    "EVENT_WEIGHTS",
    "TUNED",
    "VALIDATION_DAYS",
    "ModelFactory",
    "UnknownNameError",
    "check_benchmark",
    "deskdrop_benchmark",
    "deskdrop_validation_window",
    "model_factories",
    "movielens_benchmark",
    "movielens_cold_benchmark",
    "movielens_item_features",
    "resolve_data",
    "run_benchmark",
]


def run_benchmark(
    benchmark: str,
    data: Path | str,
    models: Mapping[str, ModelFactory] | None = None,
    *,
    split_at: TimeLike | None = None,
    until: TimeLike | None = None,
) -> dict[str, object]:
    """Run ``benchmark`` on ``data`` (its folder/file or the shared data root) for ``models``.

    ``models`` maps names to zero-argument factories (default: every registered model that
    can fit the data). ``split_at`` / ``until`` apply to ``deskdrop-replay`` only.
    """
    check_benchmark(benchmark)
    path = resolve_data(benchmark, data)
    if benchmark == "movielens-100k":
        return movielens_benchmark(path, models)
    if benchmark == "movielens-100k-cold":
        return movielens_cold_benchmark(path, models)
    events = read_deskdrop_events(path)
    return deskdrop_benchmark(
        events, models, split_at=DEFAULT_SPLIT_AT if split_at is None else split_at, until=until
    )
