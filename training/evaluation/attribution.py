"""The ``synthetic-attribution`` benchmark: every attribution model against the planted
causal truth of synthetic organisations, all in the same run.

Per seed: a synthetic organisation (``features.data.synthetic``) is written as contract
files and imported into a fresh SQLite store, exactly as a company's data would be; every
registered model attributes all its conversions (``training.attribution_job``: same paths,
same lookback, same channel). Each model's credit per advocate and per content item is
compared with the true causal credit (the conversions each one's clicks caused, from the
generator's latent causes, never from a contract table):

- ``spearman``: rank correlation between estimated and true credit over every advocate
  (content item) with a tracked click or a true conversion;
- ``nae``: normalised absolute error, sum |estimate - truth| / sum truth over the same set
  (0 is perfect; crediting baseline conversions to shares counts as error).

The goal: a data-driven model beats ``last_touch`` on both measures (higher spearman,
lower nae), at both levels, on every seed.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from features.data.importer import import_path
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate, write
from features.data.validation import ValidationContext
from recsys.attribution import MODELS
from training.attribution_job import DEFAULT_CHANNEL, Attribution, AttributionRequest, attribute

LEVELS = {"advocate": "advocate", "content": "content"}
DATA_DRIVEN = ("markov", "shapley")
BASELINE = "last_touch"


def run_synthetic_attribution(
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    employees: int = 3000,
    content: int = 600,
    days: int = 120,
    interactions_per_employee: float = 60.0,
    lookback_days: float = 30.0,
    channel: str = DEFAULT_CHANNEL,
    models: tuple[str, ...] | None = None,
) -> dict:
    """Evaluate ``models`` (default: every registered one) on each seed's organisation."""
    started = time.perf_counter()
    names = tuple(models or sorted(MODELS))
    runs = {}
    for seed in seeds:
        config = OrgConfig(
            employees=employees,
            content=content,
            days=days,
            seed=seed,
            interactions_per_employee=interactions_per_employee,
        )
        runs[str(seed)] = _run_seed(config, names, lookback_days, channel)
    return {
        "benchmark": "synthetic-attribution",
        "protocol": {
            "seeds": list(seeds),
            "employees": employees,
            "content": content,
            "days": days,
            "interactions_per_employee": interactions_per_employee,
            "lookback_days": lookback_days,
            "channel": channel,
            "truth": "conversions caused by each advocate's / content item's clicks (planted)",
            "measures": "spearman (higher is better), nae = sum|est-true|/sum true (lower)",
        },
        "seeds": runs,
        "summary": _summary(runs, names),
        "goal": _goal(runs, names),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _run_seed(config: OrgConfig, names: tuple[str, ...], lookback: float, channel: str) -> dict:
    org = generate(config)
    with tempfile.TemporaryDirectory(prefix="advocacy-attribution-") as folder:
        write(org, Path(folder) / "org")
        store = Store.open(f"sqlite:///{Path(folder) / 'store.db'}")
        try:
            context = ValidationContext(config.end + timedelta(days=1))
            report = import_path(store, Path(folder) / "org", context=context)
            if report.errors:
                raise ValueError(f"synthetic organisation did not import: {report.errors}")
            truth = org.attribution_truth
            result = {
                "data": _data(org),
                "models": {
                    name: _score(
                        attribute(
                            store,
                            AttributionRequest(model=name, lookback_days=lookback, channel=channel),
                        ),
                        truth,
                    )
                    for name in names
                },
            }
        finally:
            store.dispose()
    return result


def _data(org) -> dict[str, object]:
    causes = org.conversion_truth["caused_by_click_id"]
    return {
        "link_clicks": len(org.tables["link_clicks"]),
        "conversions": len(org.tables["conversions"]),
        "caused_by_clicks": int(causes.notna().sum()),
    }


def _score(result: Attribution, truth: pd.DataFrame) -> dict[str, object]:
    scores: dict[str, object] = {"seconds": round(result.seconds, 3)}
    for level, attribute_name in LEVELS.items():
        true = truth.loc[truth["level"] == level].set_index("id")["true_conversions"]
        estimated = pd.Series(
            {row[attribute_name]: row["conversions"] for row in result.roll_up(attribute_name)},
            dtype="float64",
        )
        ids = true.index.union(estimated.index)
        t = true.reindex(ids, fill_value=0.0).to_numpy(np.float64)
        e = estimated.reindex(ids, fill_value=0.0).to_numpy(np.float64)
        rho = spearmanr(e, t).statistic if len(ids) > 1 else float("nan")
        scores[level] = {
            "spearman": round(float(rho), 4),
            "nae": round(float(np.abs(e - t).sum() / max(t.sum(), 1e-12)), 4),
            "n": len(ids),
        }
    return scores


def _summary(runs: dict, names: tuple[str, ...]) -> dict[str, dict]:
    summary = {}
    for name in names:
        entry = {}
        for level in LEVELS:
            for measure in ("spearman", "nae"):
                values = [run["models"][name][level][measure] for run in runs.values()]
                entry[f"{level}_{measure}_mean"] = round(float(np.mean(values)), 4)
                worst = min(values) if measure == "spearman" else max(values)
                entry[f"{level}_{measure}_worst"] = round(float(worst), 4)
        summary[name] = entry
    return summary


def _goal(runs: dict, names: tuple[str, ...]) -> dict[str, bool]:
    """Per data-driven model: beats last touch on both measures, both levels, every seed."""
    if BASELINE not in names:
        return {}
    goal = {}
    for name in (n for n in DATA_DRIVEN if n in names):
        goal[name] = all(
            run["models"][name][level]["spearman"] > run["models"][BASELINE][level]["spearman"]
            and run["models"][name][level]["nae"] < run["models"][BASELINE][level]["nae"]
            for run in runs.values()
            for level in LEVELS
        )
    return goal
