"""Benchmark and model names: what ``advocacy evaluate`` accepts, and where the data lives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from recsys.base import Recommender

ModelFactory = Callable[[], Recommender]

#: Benchmark name -> its primary metric (tables sort by it, best first).
BENCHMARKS: dict[str, str] = {
    "movielens-100k": "map@10",
    "movielens-100k-cold": "auc",
    "deskdrop-replay": "ndcg@10",
}

#: Benchmark name -> the folder under the shared data root it reads.
DATA_FOLDERS: dict[str, str] = {
    "movielens-100k": "movielens-100k",
    "movielens-100k-cold": "movielens-100k",
    "deskdrop-replay": "deskdrop",
}


class UnknownNameError(ValueError):
    """An unknown benchmark or model name."""


def model_factories(names: Sequence[str] | None = None) -> dict[str, ModelFactory]:
    """Factories of the registered models ``names`` (default: all of ``MODELS``)."""
    from recsys.models import MODELS

    if names is None:
        return dict(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise UnknownNameError(
            f"unknown model(s): {', '.join(unknown)}; known: {', '.join(sorted(MODELS))}"
        )
    return {name: MODELS[name] for name in names}


def is_registered_default(name: str, factory: ModelFactory) -> bool:
    """True when ``factory`` is the registered class of ``name`` itself (default parameters):
    benchmarks may then swap in their tuned configuration."""
    from recsys.models import MODELS

    return MODELS.get(name) is factory


def check_benchmark(benchmark: str) -> None:
    if benchmark not in BENCHMARKS:
        raise UnknownNameError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")


def resolve_data(benchmark: str, path: Path | str) -> Path:
    """The benchmark's data: ``path`` itself, or its dataset folder under a shared data root."""
    check_benchmark(benchmark)
    path = Path(path)
    nested = path / DATA_FOLDERS[benchmark]
    if nested.exists():
        return nested
    if not path.exists():
        raise FileNotFoundError(f"data path not found: {path}")
    return path


def factories(models: Mapping[str, ModelFactory] | None) -> dict[str, ModelFactory]:
    """``models`` as a dict, or every registered model when ``None``."""
    return model_factories() if models is None else dict(models)
