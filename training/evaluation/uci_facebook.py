"""``uci-facebook``: the content performance forecast on the real UCI Facebook metrics posts.

Data
    ``dataset_Facebook.csv`` (Moro, Rita & Vala 2016; UCI): 500 posts of a cosmetics brand's
    page. The separator (``;`` in the UCI original, ``,`` in some copies) is read from the
    header line. Inputs: ``Type`` (Photo/Status/Link/Video, coded in sorted order),
    ``Category`` (1-3), ``Post Month`` (1-12), ``Post Weekday`` (1-7), ``Post Hour`` (0-23),
    ``Paid`` (0/1). Targets: ``Lifetime Engaged Users`` and ``Lifetime Post Consumers``.
Missing values
    A post is used when its six inputs and two targets are present; a post missing any of them
    is left out and counted per column in ``protocol["dropped_rows"]``. Missing values in the
    columns the benchmark does not read are listed in ``protocol["missing_unread"]`` (in the
    shared copy: ``like`` 1 and ``share`` 4, no post dropped). A present value out of its range
    (a month 13, a negative target, an unparsable number) is an error naming the column.
Protocol
    Shuffled K-fold (``folds``, default 5), repeated ``repeats`` times (default 3) with the
    seeds ``seed, seed + 1, ...``: every model is fitted on K-1 folds and forecasts the held-out
    fold, so each repeat gives one out-of-fold forecast per post. The metrics of each target
    (:func:`recsys.forecast.forecast_metrics`: MAPE, median APE, Spearman, interval coverage
    and relative width) are computed over a repeat's 500 forecasts and averaged over repeats
    (``sd``: their standard deviation over repeats).
Models (all :class:`recsys.forecast.ContentForecast`, log1p targets, 80% intervals)
    ``content``: ridge on indicators of type, category and month, sin/cos of weekday and hour,
    and paid. ``content_boosting`` (on request): gradient boosting on the six raw columns.
    Baselines ``mean_by_type`` and ``mean_by_category``: the mean of ``log1p(target)`` per
    group (a geometric mean, so the comparison with the model is on the same scale).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from recsys.forecast import ContentForecast, forecast_metrics
from training.evaluation.report import result

BENCHMARK = "uci-facebook"
FILE = Path("uci-facebook-metrics") / "dataset_Facebook.csv"
#: Column of the file -> feature name.
INPUTS = {
    "Type": "type",
    "Category": "category",
    "Post Month": "month",
    "Post Weekday": "weekday",
    "Post Hour": "hour",
    "Paid": "paid",
}
TARGETS = {
    "Lifetime Engaged Users": "lifetime_engaged_users",
    "Lifetime Post Consumers": "lifetime_post_consumers",
}
#: Feature -> allowed (min, max) of a present value.
RANGES = {"category": (1, 3), "month": (1, 12), "weekday": (1, 7), "hour": (0, 23), "paid": (0, 1)}
FEATURES = tuple(INPUTS.values())
METRICS = ("mape", "mdape", "spearman", "coverage", "width")
DEFAULT_MODELS = ("content", "mean_by_type", "mean_by_category")
LEVEL = 0.8


def model_specs() -> dict[str, ContentForecast]:
    """Every model of the benchmark by name (unfitted)."""
    common = {"features": FEATURES, "targets": tuple(TARGETS.values()), "level": LEVEL}
    return {
        "content": ContentForecast(
            categorical=("type", "category", "month"),
            periods=(("weekday", 7.0), ("hour", 24.0)),
            model="ridge",
            alpha=1.0,
            **common,
        ),
        "content_boosting": ContentForecast(categorical=("type",), model="boosting", **common),
        "mean_by_type": ContentForecast(categorical=("type",), model="group_mean", **common),
        "mean_by_category": ContentForecast(
            categorical=("category",), model="group_mean", **common
        ),
    }


def data_file(path: Path) -> Path:
    """The CSV given by ``path``: the file, or inside a folder (or the shared data root)."""
    if path.is_dir():
        for candidate in (path / FILE, path / FILE.name):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"{BENCHMARK}: {FILE} not found under {path}")
    if not path.is_file():
        raise FileNotFoundError(f"data path not found: {path}")
    return path


def read_posts(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Inputs ``(n, 6)`` (columns :data:`FEATURES`), targets ``(n, 2)`` and what was left out
    (see the module docstring)."""
    with path.open(encoding="utf-8") as handle:
        header = handle.readline()
    frame = pd.read_csv(path, sep=";" if header.count(";") > header.count(",") else ",")
    frame.columns = [str(c).strip() for c in frame.columns]
    wanted = [*INPUTS, *TARGETS]
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise ValueError(f"{BENCHMARK}: {path} has no column(s) {absent}")
    missing = frame.isna()
    dropped = {c: int(missing[c].sum()) for c in wanted if missing[c].any()}
    unread = {c: int(n) for c, n in missing.sum().items() if n and c not in wanted}
    kept = frame.loc[~missing[wanted].any(axis=1)]
    types = kept["Type"].astype(str).str.strip()
    kinds = sorted(types.unique())
    columns = [types.map(kinds.index).to_numpy(np.float64)]
    columns += [_numbers(kept[c], INPUTS[c]) for c in list(INPUTS)[1:]]
    x = np.column_stack(columns)
    y = np.column_stack([_numbers(kept[c], TARGETS[c]) for c in TARGETS])
    for j, name in enumerate(FEATURES):
        low, high = RANGES.get(name, (-np.inf, np.inf))
        _check(x[:, j], name, (x[:, j] < low) | (x[:, j] > high), f"outside {low}..{high}")
    for t, name in enumerate(TARGETS.values()):
        _check(y[:, t], name, y[:, t] < 0, "negative")
    info = {
        "posts": len(frame),
        "used": len(kept),
        "dropped_rows": dropped,
        "dropped_total": len(frame) - len(kept),
        "missing_unread": unread,
        "types": kinds,
    }
    return x, y, info


def _numbers(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        example = column[bad].iloc[0]
        raise ValueError(f"{BENCHMARK}: column {name!r} has a non-number value {example!r}")
    return values.to_numpy(np.float64)


def _check(values: np.ndarray, name: str, bad: np.ndarray, what: str) -> None:
    if bad.any():
        raise ValueError(
            f"{BENCHMARK}: column {name!r} has {int(bad.sum())} value(s) {what}"
            f" (e.g. {values[bad][0]:g})"
        )


def uci_facebook(
    path: Path,
    *,
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    models: Sequence[str] = DEFAULT_MODELS,
) -> dict[str, object]:
    """The benchmark (module docstring) on the CSV at ``path``."""
    started = time.perf_counter()
    specs = model_specs()
    unknown = sorted(set(models) - set(specs))
    if unknown:
        raise ValueError(f"{BENCHMARK}: unknown model(s) {unknown}; known: {sorted(specs)}")
    if folds < 2 or repeats < 1:
        raise ValueError(f"{BENCHMARK}: need folds >= 2 and repeats >= 1")
    x, y, info = read_posts(path)
    runs: dict[str, list[dict[str, dict]]] = {name: [] for name in models}
    seconds = dict.fromkeys(models, 0.0)
    for repeat in range(repeats):
        splits = list(KFold(folds, shuffle=True, random_state=seed + repeat).split(x))
        for name in models:
            clock = time.perf_counter()
            point, lower, upper = _out_of_fold(specs[name], x, y, splits)
            seconds[name] += time.perf_counter() - clock
            runs[name].append(
                {
                    target: forecast_metrics(y[:, t], point[:, t], lower[:, t], upper[:, t])
                    for t, target in enumerate(TARGETS.values())
                }
            )
    entries = {
        name: {
            **{target: _summary([r[target] for r in runs[name]]) for target in TARGETS.values()},
            "seconds": round(seconds[name], 3),
        }
        for name in models
    }
    protocol = {
        "data": str(path),
        **info,
        "folds": folds,
        "repeats": repeats,
        "seeds": [seed + r for r in range(repeats)],
        "split": "shuffled K-fold per repeat; metrics over each repeat's out-of-fold forecasts,"
        " then mean and sd over repeats",
        "inputs": list(FEATURES),
        "targets": dict(zip(TARGETS.values(), TARGETS, strict=True)),
        "level": LEVEL,
        "interval": "log-scale quantiles of out-of-fold residuals within the training folds",
        "baselines": "mean of log1p(target) by type / by category",
    }
    return result(BENCHMARK, protocol, entries, started)


def _out_of_fold(
    spec: ContentForecast, x: np.ndarray, y: np.ndarray, splits: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    point, lower, upper = (np.zeros_like(y) for _ in range(3))
    for train, held in splits:
        model = ContentForecast(**spec.get_params()).fit(x[train], y[train])
        point[held] = model.predict(x[held])
        lower[held], upper[held] = model.predict_interval(x[held])
    return point, lower, upper


def _summary(repeats: list[dict[str, float | int]]) -> dict[str, float | int]:
    out: dict[str, float | int] = {m: float(np.mean([r[m] for r in repeats])) for m in METRICS}
    out |= {f"{m}_sd": float(np.std([r[m] for r in repeats])) for m in METRICS}
    out["n"] = int(repeats[0]["n"])
    return out
