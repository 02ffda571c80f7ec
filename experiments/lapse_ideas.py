"""Candidates for the lapse forecast's unmet goal (issue 16: ``lapse`` beats the better baseline
by 0.03 AUC on every window of ``deskdrop-lapse``), measured with the benchmark's protocol.

Each candidate is scored as ``advocacy evaluate deskdrop-lapse`` scores ``lapse``: monthly
origins 2016-05-01 .. 2016-12-01, rolling training on the earlier month starts whose labels
end by the origin, features from the events before each origin only. Extra columns join
:func:`recsys.forecast.lapse_features` and :class:`recsys.forecast.LapseModel` is fitted on
them unchanged (extra columns are taken as they are, no ``log1p``). Printed per candidate:
the AUC margin over the better baseline per window, its mean, and whether the Brier score is
below both baselines' on every window. None was kept (docs/lapse.md, "Tried and not kept").

Candidates
    ``bgnbd_*``: the BG/NBD customer-base model (Fader, Hardie & Lee 2005) with active days as
    transactions: ``x`` repeat active days, ``t_x`` days from the first active day to the last,
    ``T`` days from the first active day to the origin; its four parameters fitted by maximum
    likelihood (log-space, L-BFGS-B) on every advocate with history before the origin (no
    label needed); P(no activity in 30 days) = P(dead) + P(alive) * ((a+T)/(a+T+30))^(r+x)
    (the gamma posterior of the rate). As a feature (its log-odds), alone, and averaged with
    ``lapse``'s log-odds.
    ``renewal``: from the advocate's own gaps between active days, pooled towards the
    organisation's (``k`` = 5 pseudo-gaps), P(current gap > gap + 30 | gap > current gap).
    ``rates``: events and active days of the last 60 days per observed day
    (``min(60, tenure)``), ``log1p`` of 30 times that; the log started 2016-03-28, so the
    early origins' histories are truncated.
    ``time_of_week``: shares of the last 60 days' events on a weekend and in working hours
    (08-19 Brasilia time, UTC-3).
    ``org_rhythm``: the share of the advocate's active days (last 60) among the organisation's
    busiest 20% of days and the log of their days' mean relative busyness (advocates who come
    only when everyone does); ``burstiness``: the share of their 60 days' events on their
    busiest day.
    ``daily_origins``: training rows of every day (not month start) whose labels end by the
    origin, weight 1/30.4 or 1.
    ``mbgnbd_*``: the same with the MBG/NBD (Batislam et al. 2007: an advocate may also drop
    out after the first active day; BG/NBD keeps single-day advocates alive for sure).
    ``bgnbd_feature_own_origin``: the BG/NBD fitted before each row's own origin.
    ``products``: pairwise products of the ``log1p`` of 5 core features (days since last,
    events and active days of 60 days, tenure, longest gap).
    ``survival_*``: a piecewise-exponential hazard of the next event (intervals 0-1-2-4-7-14-30
    days) after every 3rd day before the origin, censored at the origin: the last 30 days'
    origins count with what is seen of them; P(lapse) = S(30 | x). ``_ph``: proportional
    hazards; ``_late_apart``: the 7-30 day intervals also get their own coefficients.
    ``small_bgnbd``: the logistic model on 6 features plus the BG/NBD log-odds.
    ``--spread``: the paired bootstrap standard deviation of ``lapse``'s margin per window.
    ``ceiling``: a diagnostic, not a candidate: ``lapse`` fitted on every other month start
    (the future included), to see what these features can reach with more rows.

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 nice -n 19 python experiments/lapse_ideas.py \\
        --data ../shared/data [--only bgnbd_feature,rates]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, logit
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.forecast import (  # noqa: E402
    ActivityLog,
    LapseModel,
    baseline,
    eligible,
    feature_names,
    lapse_features,
    lapse_labels,
)
from recsys.times import DAY, epoch_seconds  # noqa: E402
from training.evaluation.lapse import (  # noqa: E402
    DEFAULT_WINDOWS,
    activity_log,
    month_starts,
    window_metrics,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402

HORIZON = 30.0

# --- BG/NBD --------------------------------------------------------------------------------


def recency_frequency(log: ActivityLog, origin: float) -> tuple[np.ndarray, ...]:
    """Per person, active days before ``origin``: ``x`` (repeat active days), ``t_x`` and
    ``T`` (days from the first active day to the last one and to the origin) and ``has``."""
    past = log.before(origin)
    n = log.n_persons
    age = (origin - past.times) / DAY
    keys = np.unique(past.persons * 100_000 + np.floor(age).astype(np.int64))
    who, back = keys // 100_000, (keys % 100_000).astype(np.float64)
    count = np.bincount(who, minlength=n)
    first = np.zeros(n)
    np.maximum.at(first, who, back)
    last = np.full(n, np.inf)
    np.minimum.at(last, who, back)
    has = count > 0
    x = np.maximum(count - 1, 0).astype(np.float64)
    return x, np.where(has, first - last, 0.0), np.where(has, first + 1.0, 0.0), has


def bgnbd_loglik(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, t: np.ndarray, modified: bool = False
) -> np.ndarray:
    """Per-person BG/NBD log-likelihood at ``params`` = log(r, alpha, a, b); ``modified``: the
    MBG/NBD (Batislam et al. 2007), where an advocate may also drop out after the first day."""
    r, alpha, a, b = np.exp(params)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    if modified:
        alive = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + t)
        dead = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(alpha + tx)
        return common + np.logaddexp(alive, dead)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t)
    repeat = np.maximum(x, 1.0)
    dead = betaln(a + 1, b + repeat - 1) - betaln(a, b) - (r + x) * np.log(alpha + tx)
    return common + np.logaddexp(alive, np.where(x > 0, dead, -np.inf))


def bgnbd_fit(x: np.ndarray, tx: np.ndarray, t: np.ndarray, modified: bool = False) -> np.ndarray:
    """Maximum-likelihood (r, alpha, a, b), two starting points, the better kept."""

    def loss(p: np.ndarray) -> float:
        return -float(np.sum(bgnbd_loglik(p, x, tx, t, modified)))

    fits = [
        minimize(loss, np.array(start), method="L-BFGS-B", bounds=[(-8.0, 8.0)] * 4)
        for start in ([0.0, 0.0, 0.0, 0.0], [-1.0, 1.0, -1.0, 1.0])
    ]
    return np.exp(min(fits, key=lambda f: f.fun).x)


def bgnbd_lapse(
    params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    t: np.ndarray,
    tau: float = HORIZON,
    modified: bool = False,
) -> np.ndarray:
    """P(no activity in the next ``tau`` days): P(dead) + P(alive) E[exp(-lambda tau)]."""
    r, alpha, a, b = params
    ratio = (r + x) * np.log((alpha + t) / (alpha + tx))
    if modified:
        p_alive = expit(-(np.log(a) - np.log(b + x) + ratio))
    else:
        repeat = np.maximum(x, 1.0)
        p_alive = expit(-np.where(x > 0, np.log(a) - np.log(b + repeat - 1) + ratio, -np.inf))
    silent = np.exp((r + x) * np.log((alpha + t) / (alpha + t + tau)))
    return 1.0 - p_alive + p_alive * silent


# --- other features ------------------------------------------------------------------------


def _active_days(log: ActivityLog, origin: float) -> tuple[np.ndarray, np.ndarray]:
    past = log.before(origin)
    age = (origin - past.times) / DAY
    keys = np.unique(past.persons * 100_000 + np.floor(age).astype(np.int64))
    return keys // 100_000, (keys % 100_000).astype(np.float64)


def rates(log: ActivityLog, origin: float) -> np.ndarray:
    """``log1p(30 * per-day rate)`` of events and of active days in the last 60 days, the rate
    over ``min(60, tenure)`` observed days (at least 1)."""
    n = log.n_persons
    past = log.before(origin)
    age = (origin - past.times) / DAY
    first = np.zeros(n)
    np.maximum.at(first, past.persons, age)
    observed = np.clip(first, 1.0, 60.0)
    events = np.bincount(past.persons[age < 60], minlength=n)
    who, back = _active_days(log, origin)
    days = np.bincount(who[back < 60], minlength=n)
    return np.column_stack([np.log1p(events / observed * 30), np.log1p(days / observed * 30)])


def renewal(log: ActivityLog, origin: float, k: float = 5.0) -> np.ndarray:
    """Log-odds of P(gap > g + 30 | gap > g), g the current gap, from the advocate's completed
    gaps between active days with ``k`` pseudo-gaps from the organisation's."""
    n = log.n_persons
    who, back = _active_days(log, origin)
    same = who[1:] == who[:-1]
    gaps, owner = (back[1:] - back[:-1])[same], who[1:][same]
    last = np.full(n, np.inf)
    np.minimum.at(last, who, back)
    g = np.where(np.isfinite(last), last, 0.0)
    pooled = np.sort(gaps)

    def survival(v: np.ndarray) -> np.ndarray:
        above = len(pooled) - np.searchsorted(pooled, v, side="right")
        return (above + 0.5) / (len(pooled) + 1.0)

    count = np.bincount(owner, minlength=n).astype(np.float64)
    longer = np.bincount(owner, weights=(gaps > g[owner]).astype(float), minlength=n)
    longest = np.bincount(owner, weights=(gaps > g[owner] + HORIZON).astype(float), minlength=n)
    now = (longer + k * survival(g)) / (count + k)
    later = (longest + k * survival(g + HORIZON)) / (count + k)
    return logit(np.clip(later / now, 1e-4, 1 - 1e-4))


def time_of_week(log: ActivityLog, origin: float) -> np.ndarray:
    """Shares of the last 60 days' events on a weekend and on weekdays 08-19 (UTC-3)."""
    n = log.n_persons
    past = log.before(origin)
    recent = (origin - past.times) / DAY < 60
    local = past.times[recent] - 3 * 3600
    weekday = (np.floor(local / DAY).astype(np.int64) + 3) % 7  # 0 = Monday
    hour = (local % DAY) / 3600
    who = past.persons[recent]
    total = np.maximum(np.bincount(who, minlength=n), 1)
    weekend = np.bincount(who, weights=(weekday >= 5).astype(float), minlength=n)
    office = (weekday < 5) & (hour >= 8) & (hour < 19)
    work = np.bincount(who, weights=office.astype(float), minlength=n)
    return np.column_stack([weekend / total, work / total])


def rhythm(log: ActivityLog, origin: float) -> np.ndarray:
    """Over the last 60 days: the share of the advocate's active days among the organisation's
    busiest 20% of days (by active advocates), the log of the mean relative busyness of their
    active days, and the share of their events on their busiest day (burstiness)."""
    n = log.n_persons
    past = log.before(origin)
    age = (origin - past.times) / DAY
    recent = age < 60
    day, who_events = np.floor(age[recent]).astype(np.int64), past.persons[recent]
    keys = np.unique(who_events * 100 + day)
    who, back = keys // 100, keys % 100
    busyness = np.bincount(back, minlength=60).astype(np.float64)
    busy = busyness[back] >= np.quantile(busyness, 0.8)
    days = np.maximum(np.bincount(who, minlength=n), 1)
    share_busy = np.bincount(who, weights=busy.astype(float), minlength=n) / days
    relative = np.bincount(who, weights=busyness[back] / busyness.mean(), minlength=n) / days
    per_day = np.bincount(who_events * 100 + day, minlength=n * 100).reshape(n, 100).max(axis=1)
    events = np.maximum(np.bincount(who_events, minlength=n), 1)
    return np.column_stack([share_busy, np.log(np.maximum(relative, 1e-3)), per_day / events])


#: Interval bounds (days after a training origin) of the piecewise-exponential survival model.
CUTS = np.array([0.0, 1.0, 2.0, 4.0, 7.0, 14.0, HORIZON])


def days_to_next(log: ActivityLog, origin: float) -> np.ndarray:
    """Per person, days from ``origin`` to their first event at or after it (inf: none)."""
    start = int(np.searchsorted(log.times, origin, side="left"))
    later, who = log.times[start:], log.persons[start:]
    _, first = np.unique(who, return_index=True)
    out = np.full(log.n_persons, np.inf)
    out[who[first]] = (later[first] - origin) / DAY
    return out


def survival_scorer(
    log: ActivityLog, names: tuple[str, ...], step: int = 3, late_from: int | None = None
) -> Scorer:
    """A piecewise-exponential hazard of the next event after every ``step``-th day before the
    test origin T (the time to it censored at T, so the fresh origins of the last 30 days count
    with what is seen of them), Poisson likelihood with the exposure as weight; P(lapse) =
    S(30 | x). ``late_from``: the intervals from that index get their own coefficients too
    (not proportional hazards)."""
    transform = LapseModel(names)._transform
    first = np.floor(log.times[0] / DAY) * DAY + DAY
    days: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def rows(t: float) -> tuple[np.ndarray, np.ndarray]:
        if t not in days:
            mask = eligible(log, t)
            days[t] = (transform(lapse_features(log, t)[mask]), days_to_next(log, t)[mask])
        return days[t]

    def design(z: np.ndarray, k: np.ndarray) -> np.ndarray:
        parts = [z] if late_from is None else [z, z * (k >= late_from)[:, None]]
        return np.column_stack([*parts, np.eye(len(CUTS) - 1)[k]])

    def scorer(x_train, y_train, x, origin):
        chosen = [float(t) for t in np.arange(origin - DAY, first - 1, -step * DAY)]
        xs, ys, exposure, interval = [], [], [], []
        for t in chosen:
            z, until = rows(t)
            if not len(until):
                continue
            censor = min((origin - t) / DAY, HORIZON)
            seen = np.minimum(until, censor)
            for k in range(len(CUTS) - 1):
                inside = np.minimum(seen, CUTS[k + 1]) - CUTS[k]
                at = inside > 0
                xs.append(z[at])
                hit = (until < censor) & (until >= CUTS[k]) & (until < CUTS[k + 1])
                ys.append(hit[at].astype(float))
                exposure.append(inside[at])
                interval.append(np.full(int(at.sum()), k))
        z_all, k_all = np.vstack(xs), np.concatenate(interval)
        mean, scale = z_all.mean(axis=0), z_all.std(axis=0)
        scale[scale == 0] = 1.0
        e, y = np.concatenate(exposure), np.concatenate(ys)
        fit = PoissonRegressor(alpha=1e-4, max_iter=2_000)
        fit.fit(design((z_all - mean) / scale, k_all), y / e, sample_weight=e)
        z = (transform(x) - mean) / scale
        hazard = np.zeros(len(z))
        for k in range(len(CUTS) - 1):
            rate = fit.predict(design(z, np.full(len(z), k)))
            hazard += rate * (CUTS[k + 1] - CUTS[k])
        return np.exp(-hazard)

    return scorer


# --- the protocol --------------------------------------------------------------------------

Extra = Callable[[float, float], np.ndarray]  # (row origin, test origin) -> extra columns
Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]


class Bench:
    """The benchmark's origins, rows and baselines, computed once."""

    def __init__(self, log: ActivityLog) -> None:
        self.log = log
        self.names = feature_names(log.kind_names)
        self.origins = sorted(epoch_seconds(w) for w in DEFAULT_WINDOWS)
        self.grid = month_starts(float(log.times[0]), max(self.origins))
        self.rows = {
            t: (lapse_features(log, t), lapse_labels(log, t, HORIZON), eligible(log, t))
            for t in sorted(set(self.grid) | set(self.origins))
        }
        self.baseline_auc: dict[float, float] = {}
        self.baseline_brier: dict[float, float] = {}

    def training_origins(self, origin: float) -> list[float]:
        return [t for t in self.grid if t + HORIZON * DAY <= origin and self.rows[t][2].any()]

    def run(self, extra: Extra | None = None, scorer: Scorer | None = None) -> list[tuple]:
        """Per scored window: (origin, AUC margin, Brier below both baselines)."""
        out = []
        for origin in self.origins:
            train = self.training_origins(origin)
            if not train:
                continue
            parts = [self._rows(t, origin, extra) for t in train]
            x_train = np.vstack([p[0] for p in parts])
            y_train = np.concatenate([p[1] for p in parts])
            x, y = self._rows(origin, origin, extra)
            if scorer is None:
                extras = tuple(f"extra_{i}" for i in range(x.shape[1] - len(self.names)))
                model = LapseModel((*self.names, *extras)).fit(x_train, y_train)
                p = model.predict_proba(x)
            else:
                p = scorer(x_train, y_train, x, origin)
            metrics = window_metrics(y, p)
            best_auc, best_brier = self._baselines(origin, x_train, y_train, x, y)
            out.append((origin, metrics["auc"] - best_auc, metrics["brier"] < best_brier))
        return out

    def _rows(self, t: float, origin: float, extra: Extra | None) -> tuple[np.ndarray, ...]:
        x, y, mask = self.rows[t]
        if extra is not None:
            x = np.column_stack([x, extra(t, origin)])
        return x[mask], y[mask]

    def _baselines(self, origin: float, x_train, y_train, x, y) -> tuple[float, float]:
        if origin not in self.baseline_auc:
            k = len(self.names)
            scores = [
                window_metrics(
                    y, baseline(b, self.names).fit(x_train[:, :k], y_train).predict_proba(x[:, :k])
                )
                for b in ("recency", "frequency")
            ]
            self.baseline_auc[origin] = max(s["auc"] for s in scores)
            self.baseline_brier[origin] = min(s["brier"] for s in scores)
        return self.baseline_auc[origin], self.baseline_brier[origin]


def candidates(bench: Bench) -> dict[str, Callable[[], list[tuple]]]:
    """Name -> a thunk running the candidate."""
    log, names = bench.log, bench.names
    times = sorted(bench.rows)
    rf = {t: recency_frequency(log, t) for t in times}
    fitted: dict[tuple[float, bool], np.ndarray] = {}

    def bg_family(modified: bool = False, own: bool = False) -> Extra:
        """The (M)BG/NBD log-odds, fitted on every advocate with history before the test
        origin (``own``: before each row's origin)."""

        def extra(t: float, origin: float) -> np.ndarray:
            at = t if own else origin
            if (at, modified) not in fitted:
                x, tx, big_t, has = rf[at]
                fitted[at, modified] = bgnbd_fit(x[has], tx[has], big_t[has], modified)
            x, tx, big_t, _ = rf[t]
            p = bgnbd_lapse(fitted[at, modified], x, tx, big_t, modified=modified)
            return logit(np.clip(p, 1e-6, 1 - 1e-6))

        return extra

    bgnbd = bg_family()

    core = [
        names.index(c)
        for c in ("days_since_last", "events_60d", "active_days_60d", "tenure_days", "gap_max_days")
    ]

    def products(t: float, origin: float) -> np.ndarray:
        z = np.log1p(bench.rows[t][0][:, core])
        pairs = [(i, j) for i in range(len(core)) for j in range(i + 1, len(core))]
        return np.column_stack([z[:, i] * z[:, j] for i, j in pairs])

    def alone(x_train, y_train, x, origin):
        return expit(x[:, -1])

    def averaged(x_train, y_train, x, origin):
        k = len(names)
        model = LapseModel(names).fit(x_train[:, :k], y_train)
        return expit(0.5 * model.decision_function(x[:, :k]) + 0.5 * x[:, -1])

    small = ("days_since_last", "tenure_days", "events_60d")
    small += ("active_days_30d", "active_days_60d", "activity_trend")
    columns = [names.index(s) for s in small] + [len(names)]

    def small_model(x_train, y_train, x, origin):
        model = LapseModel((*small, "bgnbd")).fit(x_train[:, columns], y_train)
        return model.predict_proba(x[:, columns])

    def ceiling(x_train, y_train, x, origin):
        others = [t for t in bench.grid if t != origin and t + HORIZON * DAY <= bench.origins[-1]]
        parts = [bench._rows(t, origin, None) for t in others if bench.rows[t][2].any()]
        model = LapseModel(names).fit(
            np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        )
        return model.predict_proba(x)

    def daily(weight: float) -> Scorer:
        start = np.floor(log.times[0] / DAY) * DAY + DAY
        days = {}
        for t in np.arange(start, bench.origins[-1], DAY):
            mask = eligible(log, t)
            if mask.any():
                days[float(t)] = (lapse_features(log, t)[mask], lapse_labels(log, t, HORIZON)[mask])

        def scorer(x_train, y_train, x, origin):
            chosen = [t for t in days if t + HORIZON * DAY <= origin]
            xs = LapseModel(names)._transform(np.vstack([days[t][0] for t in chosen]))
            ys = np.concatenate([days[t][1] for t in chosen])
            w = np.full(len(ys), weight)
            mean = np.average(xs, axis=0, weights=w)
            scale = np.sqrt(np.average((xs - mean) ** 2, axis=0, weights=w))
            scale[scale == 0] = 1.0
            fit = LogisticRegression(C=0.3, max_iter=5_000).fit(
                (xs - mean) / scale, ys, sample_weight=w
            )
            return fit.predict_proba((LapseModel(names)._transform(x) - mean) / scale)[:, 1]

        return scorer

    cache: dict[str, dict[float, np.ndarray]] = {}

    def once(name: str, f: Callable[[ActivityLog, float], np.ndarray]) -> Extra:
        def extra(t: float, origin: float) -> np.ndarray:
            values = cache.setdefault(name, {})
            if t not in values:
                values[t] = f(log, t)
            return values[t]

        return extra

    rate_columns = once("rates", rates)
    return {
        "lapse (today)": lambda: bench.run(),
        "bgnbd_feature": lambda: bench.run(bgnbd),
        "bgnbd_feature_own_origin": lambda: bench.run(bg_family(own=True)),
        "bgnbd_alone": lambda: bench.run(bgnbd, alone),
        "mbgnbd_feature": lambda: bench.run(bg_family(modified=True)),
        "mbgnbd_alone": lambda: bench.run(bg_family(modified=True), alone),
        "bgnbd_averaged": lambda: bench.run(bgnbd, averaged),
        "small_bgnbd": lambda: bench.run(bgnbd, small_model),
        "renewal": lambda: bench.run(once("renewal", renewal)),
        "renewal_alone": lambda: bench.run(once("renewal", renewal), alone),
        "rates": lambda: bench.run(rate_columns),
        "rate_events": lambda: bench.run(lambda t, o: rate_columns(t, o)[:, :1]),
        "rate_active_days": lambda: bench.run(lambda t, o: rate_columns(t, o)[:, 1:]),
        "rates_bgnbd": lambda: bench.run(
            lambda t, o: np.column_stack([rate_columns(t, o), bgnbd(t, o)])
        ),
        "products": lambda: bench.run(products),
        "time_of_week": lambda: bench.run(once("time_of_week", time_of_week)),
        "org_rhythm": lambda: bench.run(lambda t, o: once("rhythm", rhythm)(t, o)[:, :2]),
        "burstiness": lambda: bench.run(lambda t, o: once("rhythm", rhythm)(t, o)[:, 2:]),
        "daily_origins_w1/30.4": lambda: bench.run(scorer=daily(1 / 30.4)),
        "daily_origins_w1": lambda: bench.run(scorer=daily(1.0)),
        "survival_ph": lambda: bench.run(scorer=survival_scorer(log, names)),
        "survival_late_apart": lambda: bench.run(scorer=survival_scorer(log, names, late_from=3)),
        "ceiling (diagnostic)": lambda: bench.run(scorer=ceiling),
    }


def margin_spread(bench: Bench, draws: int = 300, seed: int = 0) -> list[tuple[float, float]]:
    """Per window: ``lapse``'s AUC margin over ``frequency`` and its paired bootstrap standard
    deviation (the window's advocates resampled, the fitted models fixed)."""
    rng = np.random.default_rng(seed)
    k = bench.names.index("events_60d")
    out = []
    for origin in bench.origins:
        train = bench.training_origins(origin)
        if not train:
            continue
        parts = [bench._rows(t, origin, None) for t in train]
        model = LapseModel(bench.names)
        model.fit(np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        x, y = bench._rows(origin, origin, None)
        p, f = model.predict_proba(x), -x[:, k]
        margin = roc_auc_score(y, p) - roc_auc_score(y, f)
        spread = []
        for _ in range(draws):
            i = rng.integers(0, len(y), len(y))
            spread.append(roc_auc_score(y[i], p[i]) - roc_auc_score(y[i], f[i]))
        out.append((margin, float(np.std(spread))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data", help="folder with deskdrop/")
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--spread", action="store_true", help="only the margins' bootstrap SD")
    args = parser.parse_args()
    bench = Bench(activity_log(read_deskdrop_events(Path(args.data) / "deskdrop")))
    if args.spread:
        for margin, sd in margin_spread(bench):
            print(f"margin {margin:+.4f}  bootstrap sd {sd:.4f}")
        return
    chosen = {n for n in args.only.split(",") if n}
    for name, thunk in candidates(bench).items():
        if chosen and name not in chosen:
            continue
        result = thunk()
        margins = " | ".join(f"{m:+.3f}" for _, m, _ in result)
        brier = "yes" if all(b for _, _, b in result) else "no"
        mean = np.mean([m for _, m, _ in result])
        print(f"| {name} | {margins} | {mean:+.4f} | {brier} |", flush=True)


if __name__ == "__main__":
    main()
