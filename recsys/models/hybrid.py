"""Hybrid: long-term taste plus live signals, combined by a learned second stage.

Components, each a score per (employee, item) at the request time ``as_of``:

- ``taste``: the score of an inner :class:`~recsys.models.lightfm_hybrid.LightFMHybrid`;
- ``affinity``: :class:`~recsys.models.content.ContentBased` cosine, when the item features
  have columns starting with ``embedding_prefix`` (otherwise omitted);
- ``global_trend_short`` / ``global_trend_long``: ``log1p`` of
  :class:`~recsys.models.popular.RecentPopular` decayed counts at two half-lives;
- ``department_trend``: ``log1p`` of decayed counts among employees of the employee's
  department, when the user features have columns starting with ``department_prefix``
  (otherwise omitted);
- ``freshness``: ``log1p`` of the hours since the item's time (``item_times_``), when the
  dataset has ``item_times`` (otherwise omitted).

The second stage is a logistic regression over standardised components, learned on examples
built from the training events in one of two ways (``second_stage``):

- ``"time"``: a time split of the training events: components are fitted on the events before ``T``
(the ``1 - validation_fraction`` quantile of event times); then the first events of
(employee, item) pairs after ``T`` are replayed in time order, and each one gives a positive
and ``negatives`` items sampled (seeded) among the items available at its time and not
touched by the employee before it, with components computed at that time (live components
having observed every earlier event). Finally the components are refitted on all events.

MovieLens config: tuning on a per-user 80/20 split of the MovieLens-100K train split only
(``experiments/tune_hybrid.py``) picked ``no_components=128, epochs=60, learning_rate=0.02,
C=0.01`` (second stage "random" by the ``"auto"`` rule); the gaps between LightFM settings
there were small (~0.005 ndcg@10). The defaults are unchanged, so DeskDrop behaves as before.

A score is the decision function ``intercept + sum(coef * (value - mean) / scale)``; the
parts are available from :meth:`components` and :meth:`contributions` (for reasons).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.content import ContentBased
from recsys.models.lightfm_hybrid import LightFMHybrid
from recsys.models.popular import RecentPopular

DAY = 86_400.0
HOUR = 3_600.0

#: Accepted values of ``Hybrid(second_stage=...)``.
SECOND_STAGES = ("auto", "time", "random")

#: Fallback weights (on raw values) when the second stage cannot be learned.
PRIOR_COEF: dict[str, float] = {
    "taste": 1.0,
    "affinity": 1.0,
    "global_trend_short": 1.0,
    "global_trend_long": 1.0,
    "department_trend": 1.0,
    "freshness": -0.1,
}


class Hybrid(Recommender):
    """LightFM taste + content affinity + live trends + freshness, mixed by a logistic model.

    Cold employees get the cold paths of the inner models (mean LightFM user, the content
    model's mean affinity, no department); new content (:meth:`add_items`) goes to every
    component model, and :meth:`observe` feeds every one of them (live trends, affinity).
    """

    name = "hybrid"

    def __init__(
        self,
        *,
        no_components: int = 64,
        epochs: int = 30,
        learning_rate: float = 0.05,
        loss: str = "warp",
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        num_threads: int = 1,
        user_feature_prefix: str = "",
        item_feature_prefix: str = "",
        embedding_prefix: str = "emb_",
        content_half_life_days: float | None = 30.0,
        short_half_life_days: float = 0.25,
        long_half_life_days: float = 2.0,
        department_prefix: str = "department=",
        department_half_life_days: float = 2.0,
        weighted_trends: bool = False,
        validation_fraction: float = 0.15,
        negatives: int = 20,
        C: float = 1.0,
        second_stage: str = "auto",
        random_state: int = 42,
    ) -> None:
        self.no_components = no_components
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.loss = loss
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.num_threads = num_threads
        self.user_feature_prefix = user_feature_prefix
        self.item_feature_prefix = item_feature_prefix
        self.embedding_prefix = embedding_prefix
        self.content_half_life_days = content_half_life_days
        self.short_half_life_days = short_half_life_days
        self.long_half_life_days = long_half_life_days
        self.department_prefix = department_prefix
        self.department_half_life_days = department_half_life_days
        self.weighted_trends = weighted_trends
        self.validation_fraction = validation_fraction
        self.negatives = negatives
        self.C = C
        self.second_stage = second_stage
        self.random_state = random_state

    # -- public extras ----------------------------------------------------------------
    def components(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """Raw component values (len(users), len(items)) by name; internal ids, -1 = cold."""
        self._check_fitted()
        return _components(
            self.parts_, self.item_times_, users, items, as_of, "freshness" in self.component_names_
        )

    def contributions(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """``coef * standardised value`` per component; they sum to score - intercept."""
        raw = self.components(users, items, as_of)
        return {
            name: self.coef_[j] * (raw[name] - self.means_[j]) / self.scales_[j]
            for j, name in enumerate(self.component_names_)
        }

    # -- learning ---------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        names = self._names(dataset)
        self.second_stage_ = self.resolve_second_stage(dataset)
        if self.second_stage_ == "time":
            features = self._second_stage_examples(dataset, names)
        else:
            features = self._random_stage_examples(dataset, names)
        self.component_names_ = np.asarray(names, dtype=np.str_)
        self._learn_weights(names, *features)
        self.parts_ = self._fit_parts(dataset)

    def resolve_second_stage(self, dataset: Dataset) -> str:
        """``"time"`` or ``"random"``: ``second_stage``, with ``"auto"`` resolved by the rule
        "the dataset has ``item_times``" -> ``"time"``, otherwise ``"random"``."""
        if self.second_stage not in SECOND_STAGES:
            raise ValueError(
                f"second_stage must be one of {SECOND_STAGES}, got {self.second_stage!r}"
            )
        if self.second_stage != "auto":
            return self.second_stage
        return "random" if dataset.item_times is None else "time"

    def _names(self, dataset: Dataset) -> list[str]:
        names = ["taste"]
        if _has_columns(dataset.item_features, self.embedding_prefix):
            names.append("affinity")
        names += ["global_trend_short", "global_trend_long"]
        if _has_columns(dataset.user_features, self.department_prefix):
            names.append("department_trend")
        return names if dataset.item_times is None else [*names, "freshness"]

    def _fit_parts(self, dataset: Dataset) -> dict[str, object]:
        """Every component model fitted on ``dataset``."""
        parts: dict[str, object] = {
            "taste": LightFMHybrid(
                no_components=self.no_components,
                epochs=self.epochs,
                learning_rate=self.learning_rate,
                loss=self.loss,
                item_alpha=self.item_alpha,
                user_alpha=self.user_alpha,
                random_state=self.random_state,
                num_threads=self.num_threads,
                user_feature_prefix=self.user_feature_prefix,
                item_feature_prefix=self.item_feature_prefix,
            ).fit(dataset)
        }
        if _has_columns(dataset.item_features, self.embedding_prefix):
            parts["affinity"] = ContentBased(
                feature_prefix=self.embedding_prefix, half_life_days=self.content_half_life_days
            ).fit(dataset)
        for key, half_life in (
            ("global_trend_short", self.short_half_life_days),
            ("global_trend_long", self.long_half_life_days),
        ):
            parts[key] = RecentPopular(half_life_days=half_life, weighted=self.weighted_trends).fit(
                dataset
            )
        if _has_columns(dataset.user_features, self.department_prefix):
            parts["department_trend"] = DepartmentTrend.fit(
                dataset,
                self.department_prefix,
                self.department_half_life_days,
                self.weighted_trends,
            )
        return parts

    def _second_stage_examples(
        self, dataset: Dataset, names: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of the replayed validation events; empty when there are none."""
        empty = np.zeros((0, len(names))), np.zeros(0, np.int64)
        events = dataset.interactions
        if len(events) < 4:
            return empty
        times = events.times.astype(np.float64)
        split = float(np.quantile(times, 1.0 - self.validation_fraction))
        before = times < split
        if before.sum() < 2 or before.all():
            return empty
        early = dataclasses.replace(dataset, interactions=events.select(before))
        parts = self._fit_parts(early)
        _reset_unseen_items(parts["taste"], early)
        order = np.argsort(times, kind="stable")
        late = order[~before[order]]
        touched = [set() for _ in range(len(dataset.users))]
        for u, i in zip(events.users[before], events.items[before], strict=True):
            touched[u].add(int(i))
        rng = np.random.default_rng(self.random_state)
        item_times = np.asarray(self.item_times_, np.float64)
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        late_times = times[late]
        starts = np.flatnonzero(np.r_[True, np.diff(late_times) > 0])
        ends = np.r_[starts[1:], len(late)]
        for start, end in zip(starts, ends, strict=True):
            group = late[start:end]
            t = float(times[group[0]])
            available = np.flatnonzero(item_times <= t)
            for e in group:
                user, item = int(events.users[e]), int(events.items[e])
                if item in touched[user]:
                    continue
                pool = available[~np.isin(available, list(touched[user] | {item}))]
                if not len(pool):
                    continue
                chosen = rng.choice(pool, size=min(self.negatives, len(pool)), replace=False)
                candidates = np.r_[item, np.sort(chosen)].astype(np.int64)
                values = _components(
                    parts, item_times, np.asarray([user]), candidates, t, "freshness" in names
                )
                rows.append(np.column_stack([values[n][0] for n in names]))
                labels.append(np.r_[1, np.zeros(len(chosen), np.int64)])
            for e in group:
                touched[int(events.users[e])].add(int(events.items[e]))
            _observe_parts(
                parts,
                events.users[group],
                events.items[group],
                times[group],
                events.weights[group],
            )
        if not rows:
            return empty
        return np.vstack(rows), np.concatenate(labels)

    def _random_stage_examples(
        self, dataset: Dataset, names: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of a seeded random holdout of the events; empty when there is none."""
        empty = np.zeros((0, len(names))), np.zeros(0, np.int64)
        events = dataset.interactions
        n = len(events)
        n_items = len(dataset.items)
        if n < 4:
            return empty
        rng = np.random.default_rng(self.random_state)
        size = round(self.validation_fraction * n)
        if size < 1 or size >= n - 1:
            return empty
        held = np.zeros(n, bool)
        held[rng.choice(n, size=size, replace=False)] = True
        users = np.asarray(events.users, np.int64)
        items = np.asarray(events.items, np.int64)
        pair = users * n_items + items
        rest_pairs = np.unique(pair[~held])
        positives = np.unique(pair[held & ~np.isin(pair, rest_pairs)])
        if not len(positives):
            return empty
        rest = dataclasses.replace(dataset, interactions=events.select(~held))
        parts = self._fit_parts(rest)
        _reset_unseen_items(parts["taste"], rest)
        as_of = float(np.asarray(events.times, np.float64).max())
        item_times = np.asarray(self.item_times_, np.float64)
        freshness = "freshness" in names
        touched = np.unique(pair)
        popularity = np.bincount(items[~held], minlength=n_items) + 1.0
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        pos_users = positives // n_items
        for user in np.unique(pos_users):
            mine = positives[pos_users == user] % n_items
            seen = touched[(touched >= user * n_items) & (touched < (user + 1) * n_items)]
            pool = np.setdiff1d(np.arange(n_items), seen % n_items)
            if not len(pool):
                continue
            count = min(self.negatives * len(mine), len(pool))
            weights = popularity[pool] / popularity[pool].sum()
            chosen = np.sort(rng.choice(pool, size=count, replace=False, p=weights))
            candidates = np.r_[mine, chosen].astype(np.int64)
            values = _components(
                parts, item_times, np.asarray([user]), candidates, as_of, freshness
            )
            rows.append(np.column_stack([values[name][0] for name in names]))
            labels.append(np.r_[np.ones(len(mine), np.int64), np.zeros(count, np.int64)])
        if not rows:
            return empty
        return np.vstack(rows), np.concatenate(labels)

    def _learn_weights(self, names: list[str], x: np.ndarray, y: np.ndarray) -> None:
        n = len(names)
        if len(y) and len(np.unique(y)) == 2:
            means = x.mean(axis=0)
            scales = x.std(axis=0)
            scales[~(scales > 1e-12)] = 1.0
            model = LogisticRegression(C=self.C, max_iter=1000)
            model.fit((x - means) / scales, y)
            self.coef_ = model.coef_[0].astype(np.float64)
            self.intercept_ = float(model.intercept_[0])
            self.means_, self.scales_ = means, scales
            self.validation_examples_ = len(y)
            return
        self.coef_ = np.asarray([PRIOR_COEF[name] for name in names], np.float64)
        self.intercept_ = 0.0
        self.means_, self.scales_ = np.zeros(n), np.ones(n)
        self.validation_examples_ = 0

    # -- scoring ----------------------------------------------------------------------
    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        raw = self.components(users, items, as_of)
        score = np.full((len(users), len(items)), self.intercept_)
        for j, name in enumerate(self.component_names_):
            score += self.coef_[j] * (raw[str(name)] - self.means_[j]) / self.scales_[j]
        return score

    # -- live state -------------------------------------------------------------------
    def _observe(self, users, items, times, weights) -> None:
        _observe_parts(self.parts_, users, items, times, weights)

    def _add_users(self, count: int) -> None:
        for part in self.parts_.values():
            part._add_users(count)

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        for part in self.parts_.values():
            part._add_items(internal, content_ids, features)

    # -- persistence ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        arrays = {
            "component_names": self.component_names_,
            "coef": self.coef_,
            "intercept": np.asarray([self.intercept_]),
            "means": self.means_,
            "scales": self.scales_,
            "validation_examples": np.asarray([self.validation_examples_], np.int64),
            "second_stage": np.asarray([self.second_stage_], dtype=np.str_),
        }
        for key, part in self.parts_.items():
            arrays |= {f"{key}__{k}": v for k, v in part._state().items()}
        return arrays

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.component_names_ = arrays["component_names"]
        self.coef_ = arrays["coef"]
        self.intercept_ = float(arrays["intercept"][0])
        self.means_ = arrays["means"]
        self.scales_ = arrays["scales"]
        self.validation_examples_ = int(arrays["validation_examples"][0])
        stage = arrays.get("second_stage")
        self.second_stage_ = "time" if stage is None else str(stage[0])
        parts: dict[str, object] = {}
        for name in map(str, self.component_names_):
            if name == "freshness":
                continue
            prefix = f"{name}__"
            state = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            part = self._empty_part(name)
            part._set_state(state)
            parts[name] = part
        self.parts_ = parts

    def _empty_part(self, name: str):
        if name == "taste":
            return LightFMHybrid(
                no_components=self.no_components,
                random_state=self.random_state,
                user_feature_prefix=self.user_feature_prefix,
                item_feature_prefix=self.item_feature_prefix,
            )
        if name == "affinity":
            return ContentBased(
                feature_prefix=self.embedding_prefix, half_life_days=self.content_half_life_days
            )
        if name == "global_trend_short":
            return RecentPopular(
                half_life_days=self.short_half_life_days, weighted=self.weighted_trends
            )
        if name == "global_trend_long":
            return RecentPopular(
                half_life_days=self.long_half_life_days, weighted=self.weighted_trends
            )
        if name == "department_trend":
            return DepartmentTrend(self.department_half_life_days, self.weighted_trends)
        raise ValueError(f"unknown component {name!r}")


class DepartmentTrend:
    """Decayed event counts per (department, item), relative to the latest event seen."""

    def __init__(self, half_life_days: float, weighted: bool) -> None:
        if half_life_days <= 0:
            raise ValueError(f"department_half_life_days must be > 0, got {half_life_days}")
        self.half_life_days = half_life_days
        self.weighted = weighted

    @classmethod
    def fit(
        cls, dataset: Dataset, prefix: str, half_life_days: float, weighted: bool
    ) -> DepartmentTrend:
        model = cls(half_life_days, weighted)
        selected = dataset.user_features.select(prefix)  # type: ignore[union-attr]
        rows = dataclasses.replace(dataset, user_features=selected).user_feature_rows()
        rows = np.asarray(rows.toarray() if sp.issparse(rows) else rows, np.float64)
        has = np.any(rows != 0, axis=1)
        model.user_department_ = np.where(has, rows.argmax(axis=1), -1).astype(np.int64)
        model.decayed_ = np.zeros((len(selected.names), len(dataset.items)))
        model.reference_ = float(dataset.interactions.times.max(initial=0))
        events = dataset.interactions
        model._observe(events.users, events.items, events.times, events.weights)
        return model

    def _decay(self, seconds) -> np.ndarray:
        return np.exp2(-np.asarray(seconds, np.float64) / (self.half_life_days * DAY))

    def _observe(self, users, items, times, weights) -> None:
        if len(times) == 0:
            return
        times = np.asarray(times, np.float64)
        latest = float(times.max())
        if latest > self.reference_:
            self.decayed_ *= self._decay(latest - self.reference_)
            self.reference_ = latest
        departments = self.user_department_[np.asarray(users, np.int64)]
        keep = departments >= 0
        values = np.asarray(weights, np.float64) if self.weighted else np.ones(len(times))
        values = values * self._decay(self.reference_ - times)
        np.add.at(self.decayed_, (departments[keep], np.asarray(items)[keep]), values[keep])

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        departments = np.full(len(users), -1, np.int64)
        known = users >= 0
        departments[known] = self.user_department_[users[known]]
        out = np.zeros((len(users), len(items)))
        has = departments >= 0
        factor = self._decay(max(as_of - self.reference_, 0.0))
        out[has] = self.decayed_[np.ix_(departments[has], items)] * factor
        return out

    def _add_users(self, count: int) -> None:
        self.user_department_ = np.concatenate([self.user_department_, np.full(count, -1)])

    def _add_items(self, internal, content_ids, features) -> None:
        extra = np.zeros((self.decayed_.shape[0], len(internal)))
        self.decayed_ = np.hstack([self.decayed_, extra])

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_department": self.user_department_,
            "decayed": self.decayed_,
            "reference": np.asarray([self.reference_]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_department_ = arrays["user_department"]
        self.decayed_ = arrays["decayed"]
        self.reference_ = float(arrays["reference"][0])


# -- helpers ------------------------------------------------------------------------------
def _has_columns(features: FeatureMatrix | None, prefix: str) -> bool:
    return features is not None and any(n.startswith(prefix) for n in features.names)


def _components(
    parts: dict[str, object],
    item_times: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    as_of: float,
    freshness: bool = True,
) -> dict[str, np.ndarray]:
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    shape = (len(users), len(items))
    out: dict[str, np.ndarray] = {}
    for name, part in parts.items():
        values = np.asarray(part._score(users, items, as_of), np.float64)
        if name != "taste" and name != "affinity":
            values = np.log1p(np.maximum(values, 0.0))
        out[name] = np.broadcast_to(values, shape)
    if not freshness:
        return out
    age = np.maximum(as_of - np.asarray(item_times, np.float64)[items], 0.0) / HOUR
    out["freshness"] = np.broadcast_to(np.log1p(age), shape)
    return out


def _observe_parts(parts: dict[str, object], users, items, times, weights) -> None:
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.asarray(times, np.float64)
    weights = np.asarray(weights, np.float32)
    for part in parts.values():
        part._observe(users, items, times, weights)


def _reset_unseen_items(taste: LightFMHybrid, dataset: Dataset) -> None:
    """Items with no event in ``dataset`` get the representation new content gets live."""
    counts = np.bincount(dataset.interactions.items, minlength=len(dataset.items))
    unseen = np.flatnonzero(counts == 0)
    if not len(unseen):
        return
    ids = [str(c) for c in dataset.items.external[unseen]]
    vectors, bias = taste._new_item_rows(ids, dataset.item_features)
    taste.item_vectors_[unseen] = vectors
    taste.item_bias_[unseen] = bias
