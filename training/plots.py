"""PNG plots of a training for its MLflow run (matplotlib, Agg backend: no display needed).

- ``metric_by_slice.png``: the primary metric of every model per holdout slice (``all``,
  ``new_content``, ``new_person``), the shipped model next to its baselines;
- ``score_distribution.png``: the recommender's top-k scores in the sanity sample, and the
  influencer scores when the scorer produced candidates;
- ``influencer_reasons.png``: how often each feature is a reason for flagged candidates;
- ``benchmark_<metric>.png`` (:func:`benchmark_plot`): a benchmark's metric per model.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SLICES = ("all", "new_content", "new_person")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_plots(result: Any, folder: Path) -> list[Path]:
    """Every plot of a :class:`training.pipeline.TrainResult` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    metric = result.config.gate.primary_metric
    paths = [
        metric_by_slice(
            result.evaluation,
            metric,
            result.config.recommender.model,
            folder / "metric_by_slice.png",
        ),
        score_distribution(
            {"recommender top-k": result.sanity.get("scores", np.zeros(0))}
            | influencer_scores(result.influencer_candidates),
            folder / "score_distribution.png",
        ),
    ]
    if result.influencer_candidates:
        paths.append(
            reason_frequencies(result.influencer_candidates, folder / "influencer_reasons.png")
        )
    return paths


def metric_by_slice(evaluation: Mapping[str, Any], metric: str, shipped: str, path: Path) -> Path:
    """Grouped bars: ``metric`` per slice, one bar per model (the shipped one first)."""
    plt = _pyplot()
    models = list(evaluation.get("models", {}))
    models.sort(key=lambda m: (m != shipped, m))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(SLICES))
    for j, model in enumerate(models):
        slices = evaluation["models"][model].get("slices", {})
        values = [(slices.get(s) or {}).get(metric) for s in SLICES]
        heights = [np.nan if v is None else v for v in values]
        label = f"{model} (shipped)" if model == shipped else model
        ax.bar(x + j * width, heights, width, label=label)
    ax.set_xticks(x + width * (len(models) - 1) / 2, SLICES)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} on the holdout window, per slice")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def score_distribution(scores: Mapping[str, np.ndarray], path: Path) -> Path:
    """One histogram per named score array."""
    plt = _pyplot()
    named = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
    fig, axes = plt.subplots(1, max(len(named), 1), figsize=(5 * max(len(named), 1), 3.5))
    for ax, (name, values) in zip(np.atleast_1d(axes), named.items(), strict=False):
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=40)
        ax.set_title(f"{name} ({len(finite)} scores)")
        ax.set_xlabel("score")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def influencer_scores(candidates: Sequence[Any] | None) -> dict[str, np.ndarray]:
    if not candidates:
        return {}
    return {"influencer score": np.asarray([c.score for c in candidates], dtype=float)}


def reason_frequencies(candidates: Sequence[Any], path: Path, *, top: int = 15) -> Path:
    """Horizontal bars: features named as reasons of flagged candidates (all when none)."""
    plt = _pyplot()
    flagged = [c for c in candidates if getattr(c, "flagged", False)]
    chosen = flagged or list(candidates)
    counts = Counter(r.feature for c in chosen for r in c.reasons).most_common(top)
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(counts), 3) + 1))
    labels = [name for name, _ in counts][::-1]
    ax.barh(labels, [n for _, n in counts][::-1])
    ax.set_xlabel(f"{len(chosen)} {'flagged ' if flagged else ''}candidates naming the feature")
    ax.set_title("influencer reasons")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def benchmark_plot(result: Mapping[str, Any], metric: str, path: Path) -> Path:
    """Bars of ``metric`` per model of a runner result."""
    plt = _pyplot()
    models = result.get("models", {})
    names = sorted(models, key=lambda m: -(models[m].get(metric) or 0.0))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(names, [models[m].get(metric) or 0.0 for m in names])
    ax.set_ylabel(metric)
    ax.set_title(f"{result.get('benchmark')}: {metric}")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
