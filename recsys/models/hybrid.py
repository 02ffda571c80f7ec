"""Hybrid: long-term taste plus live signals, combined by a learned second stage.

Components, each a score per (employee, item) at the request time ``as_of`` (exact
definitions: :mod:`recsys.models.hybrid_scoring`):

- ``taste``: the score of an inner :class:`~recsys.models.lightfm_hybrid.LightFMHybrid`;
- ``affinity``: :class:`~recsys.models.content.ContentBased` cosine, when the item features
  have columns starting with ``embedding_prefix`` (otherwise omitted); ``centre_embeddings``
  is its ``centre`` (True: embeddings centred on the catalogue mean; ``"cold"``: only for
  content with no event in ``fit``, scored by the cold head);
- ``global_trend_short`` / ``global_trend_long``: ``log1p`` of
  :class:`~recsys.models.popular.RecentPopular` decayed counts at two half-lives;
- ``department_trend``: ``log1p`` of decayed counts among employees of the employee's
  department, when the user features have columns starting with ``department_prefix``
  (otherwise omitted);
- ``colleague_trend``: what employees of similar taste engage with now
  (:class:`~recsys.models.trends.ColleagueTrend`: the employee's unit LightFM vector dotted
  with the decayed sum of the vectors of each item's engagers; live through ``observe``, so
  new content gets it from its first engagers); omitted when ``colleague_half_life_days``
  is None;
- ``ease``: EASE item-item weights over the employee's live history
  (:class:`~recsys.models.ease.ItemItem`), when ``ease`` and the catalogue has at most
  ``ease_max_items`` items (otherwise omitted, logged);
- ``item_prior``: the item's ``log1p`` interaction count predicted from its features
  (:class:`~recsys.models.ease.ItemPrior`), when ``item_prior`` and there are item features;
- ``freshness``: ``log1p`` of the hours since the item's time (``item_times_``), when the
  dataset has ``item_times`` (otherwise omitted).

Two heads: content with no event in ``fit`` (``item_cold_``: unseen at fit or added later)
is scored by a cold head learned on items held out whole (see :meth:`Hybrid._learn_head`),
the rest by the warm head; :meth:`contributions` then adds ``cold_start``, the difference of
the heads' intercepts, so the parts still sum to score - ``intercept_``.

The second stage is a logistic regression over standardised components, learned on examples
built from the training events (:mod:`recsys.models.second_stage`) in one of two ways
(``second_stage``): ``"time"``, a time split of the training events (components fitted on
the events before the ``1 - validation_fraction`` quantile of event times, the first events
of (employee, item) pairs after it replayed in time order as positives, each with
``negatives`` items sampled among those available at its time and not touched before by the
employee; the live components observe the replayed events block by block), or ``"random"``,
a seeded random holdout. ``"auto"``: ``"time"`` when the dataset has ``item_times``.
Finally the components are refitted on all events.

Defaults: the trend and colleague half-lives were chosen on the DeskDrop October 2016
validation window (``experiments/tune_deskdrop.py``); the MovieLens benchmarks use
``training.evaluation.movielens.CONFIGS`` (checked on train-only validation splits,
``experiments/tune_hybrid.py``).

A score is the decision function ``intercept + sum(coef * (value - mean) / scale)``; the
parts are available from :meth:`components` and :meth:`contributions` (for reasons).
Ranking uses :class:`~recsys.models.hybrid_scoring.FoldedScorer`: the same sum with the
weights folded into float32 user and item blocks (one matrix product per bilinear part).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.content import ContentBased, _rows_by_name
from recsys.models.ease import ItemItem, ItemPrior
from recsys.models.hybrid_scoring import (
    TREND_NAMES,
    FoldedScorer,
    Head,
    pair_values,
    row_values,
)
from recsys.models.lightfm_hybrid import LightFMHybrid
from recsys.models.popular import RecentPopular
from recsys.models.second_stage import observe_parts, random_examples, time_examples
from recsys.models.trends import ColleagueTrend, DepartmentTrend, department_of_rows

logger = logging.getLogger(__name__)

#: Accepted values of ``Hybrid(second_stage=...)``.
SECOND_STAGES = ("auto", "time", "random")

#: Fewest positive (and negative) examples a head of the second stage is learned from.
MIN_WARM_POSITIVES = 1
MIN_COLD_POSITIVES = 20

#: Fallback weights (on raw values) when the second stage cannot be learned.
PRIOR_COEF: dict[str, float] = {
    "taste": 1.0,
    "affinity": 1.0,
    "global_trend_short": 1.0,
    "global_trend_long": 1.0,
    "department_trend": 1.0,
    "colleague_trend": 1.0,
    "ease": 1.0,
    "item_prior": 1.0,
    "freshness": -0.1,
}


class Hybrid(Recommender):
    """LightFM taste + content affinity + live trends + freshness, mixed by a logistic model.

    Cold employees get the cold paths of the inner models (mean LightFM user, the content
    model's mean affinity, no department); :meth:`add_users` with profile features serves
    new employees from their profile (LightFM user features, their colleague vector, their
    department's trend) with no refit; new content (:meth:`add_items`) goes to every
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
        centre_embeddings: bool | str = False,
        short_half_life_days: float = 1 / 24,
        long_half_life_days: float = 2.0,
        department_prefix: str = "department=",
        department_half_life_days: float = 2.0,
        colleague_half_life_days: float | None = 0.25,
        ease: bool = True,
        ease_lambda: float | None = None,
        ease_max_items: int = 5_000,
        item_prior: bool = True,
        prior_alpha: float = 10.0,
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
        self.centre_embeddings = centre_embeddings
        self.short_half_life_days = short_half_life_days
        self.long_half_life_days = long_half_life_days
        self.department_prefix = department_prefix
        self.department_half_life_days = department_half_life_days
        self.colleague_half_life_days = colleague_half_life_days
        self.ease = ease
        self.ease_lambda = ease_lambda
        self.ease_max_items = ease_max_items
        self.item_prior = item_prior
        self.prior_alpha = prior_alpha
        self.weighted_trends = weighted_trends
        self.validation_fraction = validation_fraction
        self.negatives = negatives
        self.C = C
        self.second_stage = second_stage
        self.random_state = random_state

    # -- public extras ----------------------------------------------------------------
    # -- public extras ----------------------------------------------------------------
    def components(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """Raw component values (len(users), len(items)) by name; internal ids, -1 = cold."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        names = [str(n) for n in self.component_names_]
        if len(users) == 1 and np.ndim(as_of) == 0:  # a feed's reasons: one employee
            cache = self.scorer_.item_rows(float(as_of))
            row = row_values(self.parts_, self.item_times_, users[0], items, as_of, names, cache)
            return {name: row[name].reshape(1, len(items)) for name in names}
        grid_users = np.repeat(users, len(items))
        grid_items = np.tile(items, len(users))
        values = pair_values(self.parts_, self.item_times_, grid_users, grid_items, as_of, names)
        return {name: values[name].reshape(len(users), len(items)) for name in names}

    def contributions(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """``coef * standardised value`` per component; they sum to score - ``intercept_``.

        Items scored by the cold head (:meth:`heads`) use its coefficients, and then a
        ``cold_start`` entry holds the difference of the two heads' intercepts (0 for warm
        items), so the sum still is score - ``intercept_``.
        """
        names = [str(n) for n in self.component_names_]
        items = np.asarray(items, np.int64)
        users = np.asarray(users, np.int64)
        if len(users) == 1 and np.ndim(as_of) == 0:  # a feed's reasons: one employee
            self._check_fitted()
            rows = self.scorer_.contribution_rows(
                int(users[0]), items, float(as_of), self.item_times_
            )
            out = {name: rows[j][None, :] for j, name in enumerate(names)}
            if self.has_cold_head_:
                out["cold_start"] = self.scorer_.head_rows()[3][items][None, :].copy()
            return out
        raw = self.components(users, items, as_of)
        coef, mean, scale, shift = (a[..., items] for a in self.scorer_.head_rows())
        stacked = np.stack([raw[name] for name in names])  # (names, users, items)
        values = coef[:, None, :] * (stacked - mean[:, None, :]) / scale[:, None, :]
        out: dict[str, np.ndarray] = dict(zip(names, values, strict=True))
        if self.has_cold_head_:
            rows = (len(np.atleast_1d(users)), len(items))
            out["cold_start"] = np.broadcast_to(shift, rows).copy()
        return out

    # -- learning ---------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        names = self._names(dataset)
        self.__dict__.pop("ease_lambda_", None)
        self.second_stage_ = self.resolve_second_stage(dataset)
        build = time_examples if self.second_stage_ == "time" else random_examples
        x, y, cold, groups = build(
            dataset,
            names,
            lambda part: self._fit_parts(part, names, reset_unseen=True),
            validation_fraction=self.validation_fraction,
            negatives=self.negatives,
            rng=np.random.default_rng(self.random_state),
            item_times=np.asarray(self.item_times_, np.float64),
        )
        self.component_names_ = np.asarray(names, dtype=np.str_)
        warm = self._learn_head(x[~cold], y[~cold], None, MIN_WARM_POSITIVES)
        cold_head = self._learn_head(x[cold], y[cold], groups[cold], MIN_COLD_POSITIVES)
        if warm is None:
            warm = self._learn_head(x, y, None, MIN_WARM_POSITIVES) or self._prior_head(names)
        self._set_heads(warm, cold_head or warm, cold_head is not None, len(y))
        counts = np.bincount(dataset.interactions.items, minlength=len(dataset.items))
        self.item_cold_ = counts == 0
        self.parts_ = self._fit_parts(dataset, names)
        self._new_scorer()

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
        if self.colleague_half_life_days is not None:
            names.append("colleague_trend")
        if self._uses_ease(dataset):
            names.append("ease")
        if self.item_prior and dataset.item_features is not None and dataset.item_features.names:
            names.append("item_prior")
        return names if dataset.item_times is None else [*names, "freshness"]

    def _uses_ease(self, dataset: Dataset) -> bool:
        if not self.ease or not len(dataset.interactions):
            return False
        if len(dataset.items) > self.ease_max_items:
            logger.info(
                "hybrid: EASE left out: %d items > ease_max_items=%d",
                len(dataset.items),
                self.ease_max_items,
            )
            return False
        return True

    def _fit_parts(
        self, dataset: Dataset, names: list[str], *, reset_unseen: bool = False
    ) -> dict[str, object]:
        """Every component model of ``names`` fitted on ``dataset``."""
        taste = _without_seen(self._empty_part("taste").fit(dataset))
        if reset_unseen:
            _reset_unseen_items(taste, dataset)
        parts: dict[str, object] = {"taste": taste}
        if "affinity" in names:
            parts["affinity"] = _without_seen(self._empty_part("affinity").fit(dataset))
        for key in TREND_NAMES:
            parts[key] = _without_seen(self._empty_part(key).fit(dataset))
        if "department_trend" in names:
            parts["department_trend"] = DepartmentTrend.fit(
                dataset,
                self.department_prefix,
                self.department_half_life_days,
                self.weighted_trends,
            )
        if "colleague_trend" in names:
            parts["colleague_trend"] = ColleagueTrend.fit(
                dataset,
                taste.user_vectors_,
                taste.cold_vector_,
                self.colleague_half_life_days,
                self.weighted_trends,
            )
        if "ease" in names:
            # lambda: given, or chosen once (on the first data fitted) and then reused
            lam = (
                self.ease_lambda
                if self.ease_lambda is not None
                else self.__dict__.get("ease_lambda_")
            )
            parts["ease"] = ItemItem.fit(dataset, lam, self.random_state)
            self.ease_lambda_ = parts["ease"].lam_
        if "item_prior" in names:
            parts["item_prior"] = ItemPrior.fit(dataset, self.prior_alpha)
        return parts

    def _learn_head(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, min_positives: int
    ) -> Head | None:
        """A logistic head on standardised values, or None without enough examples.

        With ``groups`` (the cold head) the weights are learned on values centred within
        each ranking (the candidates of one employee, or of one event), which is what ranking
        compares: what differs between employees (a heavy user's larger taste scores) does
        not leak into them. A 1-d logistic fit on the uncentred decision values then scales
        them and sets the intercept (Platt), so the cold head stays comparable with the warm
        one. (On the MovieLens validation split the centred fit lifted cold AUC and lowered
        warm ndcg, so the warm head is a plain logistic regression.)
        """
        if int((y == 1).sum()) < min_positives or int((y == 0).sum()) < min_positives:
            return None
        if groups is None:
            means = x.mean(axis=0)
            scales = x.std(axis=0)
            scales[~(scales > 1e-12)] = 1.0
            model = LogisticRegression(C=self.C, max_iter=1000).fit((x - means) / scales, y)
            coef = model.coef_[0].astype(np.float64)
            return Head(coef, means, scales, float(model.intercept_[0]))
        _, codes = np.unique(groups, return_inverse=True)
        sizes = np.bincount(codes).astype(np.float64)
        centred = (
            x
            - np.stack([np.bincount(codes, x[:, j]) / sizes for j in range(x.shape[1])], axis=1)[
                codes
            ]
        )
        means = x.mean(axis=0)
        scales = centred.std(axis=0)
        scales[~(scales > 1e-12)] = 1.0
        model = LogisticRegression(C=self.C, max_iter=1000)
        model.fit(centred / scales, y)
        coef = model.coef_[0].astype(np.float64)
        decision = ((x - means) / scales) @ coef
        if not np.ptp(decision) > 0:
            return Head(coef, means, scales, float(model.intercept_[0]))
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(decision[:, None], y)
        slope = float(platt.coef_[0, 0])
        return Head(coef * slope, means, scales, float(platt.intercept_[0]))

    @staticmethod
    def _prior_head(names: list[str]) -> Head:
        n = len(names)
        coef = np.asarray([PRIOR_COEF[name] for name in names], np.float64)
        return Head(coef, np.zeros(n), np.ones(n), 0.0)

    def _set_heads(self, warm: Head, cold: Head, has_cold: bool, examples: int) -> None:
        self.coef_, self.means_, self.scales_ = warm.coef, warm.means, warm.scales
        self.intercept_ = warm.intercept
        self.cold_coef_, self.cold_means_, self.cold_scales_ = cold.coef, cold.means, cold.scales
        self.cold_intercept_ = cold.intercept
        self.has_cold_head_ = has_cold
        self.validation_examples_ = examples

    def heads(self) -> tuple[Head, Head]:
        """The (warm, cold) second stages: cold scores content with no event in ``fit``
        (and content added later); without enough such examples both are the warm one."""
        warm = Head(self.coef_, self.means_, self.scales_, self.intercept_)
        cold = Head(self.cold_coef_, self.cold_means_, self.cold_scales_, self.cold_intercept_)
        return warm, cold

    # -- scoring ----------------------------------------------------------------------
    def _new_scorer(self) -> None:
        warm, cold = self.heads()
        names = [str(n) for n in self.component_names_]
        self.scorer_ = FoldedScorer(self.parts_, names, warm, cold, lambda: self.item_cold_)
        self.scorer_.enable_rows(getattr(self, "_row_cache_bytes", 0))

    def keep_user_rows(self, max_bytes: int) -> None:
        """Keep each employee's static score row (taste, affinity, EASE over the whole
        catalogue) between calls, up to ``max_bytes`` (0: off, the default). For servers
        ranking one employee at a time: a feed then costs the time-dependent terms only,
        until the employee's own events, new content or a new model. Scores are the same
        (up to float32 summation order)."""
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be a non-negative integer, got {max_bytes!r}")
        self._row_cache_bytes = max_bytes
        if hasattr(self, "scorer_"):
            self.scorer_.enable_rows(max_bytes)

    def warm_user_rows(self, employee_ids: Sequence[str] | None = None) -> int:
        """Compute the kept rows of these employees (default: every known one) while they
        fit :meth:`keep_user_rows`'s budget; returns how many were added. Thread-safe
        against concurrent ``recommend`` and ``observe`` (a row an event made stale while it
        was computed is not kept)."""
        self._check_fitted()
        if employee_ids is None:
            users = np.arange(len(self.users_), dtype=np.int64)
        else:
            users = self.users_.to_internal([str(e) for e in employee_ids], missing="ignore")
            users = users[users >= 0]
        return self.scorer_.warm(users)

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        return self.scorer_.score(users, items, as_of, self.item_times_)

    # -- live state -------------------------------------------------------------------
    def _observe(self, users, items, times, weights) -> None:
        observe_parts(self.parts_, users, items, times, weights)
        self.scorer_.invalidate()
        self.scorer_.drop_users(users)

    def _add_users(self, count: int) -> None:
        for part in self.parts_.values():
            part._add_users(count)
        self.scorer_.invalidate()

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        for part in self.parts_.values():
            part._add_items(internal, content_ids, features)
        self.item_cold_ = np.concatenate([self.item_cold_, np.ones(len(internal), bool)])
        self.scorer_.invalidate()

    def _set_user_features(
        self, internal: np.ndarray, employee_ids: list[str], features: FeatureMatrix
    ) -> None:
        """Profiles to the parts: taste (and the colleague vectors from it) for employees
        added after fit; the department (``department_prefix`` columns) for everyone given."""
        taste: LightFMHybrid = self.parts_["taste"]  # type: ignore[assignment]
        taste._set_user_features(internal, employee_ids, features)
        colleagues = self.parts_.get("colleague_trend")
        if isinstance(colleagues, ColleagueTrend) and len(taste.user_feature_names_):
            vectors, usable = taste.profile_rows(employee_ids, features)
            chosen = usable & (internal >= taste.n_fit_users_)
            colleagues.set_user_vectors(internal[chosen], vectors[chosen])
        departments = self.parts_.get("department_trend")
        if isinstance(departments, DepartmentTrend):
            rows = _rows_by_name(features, employee_ids, departments.department_names_)
            found = department_of_rows(rows)
            given = found >= 0
            departments.set_departments(internal[given], found[given])
        self.scorer_.invalidate()
        self.scorer_.drop_users(internal)

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
            "cold_coef": self.cold_coef_,
            "cold_intercept": np.asarray([self.cold_intercept_]),
            "cold_means": self.cold_means_,
            "cold_scales": self.cold_scales_,
            "has_cold_head": np.asarray([self.has_cold_head_]),
            "item_cold": self.item_cold_,
        }
        for key, part in self.parts_.items():
            arrays |= {f"{key}__{k}": v for k, v in part._state().items()}
        return arrays

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.component_names_ = arrays["component_names"]
        warm = Head(
            arrays["coef"], arrays["means"], arrays["scales"], float(arrays["intercept"][0])
        )
        cold = warm
        if "cold_coef" in arrays:
            cold = Head(
                arrays["cold_coef"],
                arrays["cold_means"],
                arrays["cold_scales"],
                float(arrays["cold_intercept"][0]),
            )
        has_cold = bool(arrays["has_cold_head"][0]) if "has_cold_head" in arrays else False
        self._set_heads(warm, cold, has_cold, int(arrays["validation_examples"][0]))
        self.item_cold_ = arrays.get("item_cold", np.zeros(len(self.item_times_), bool))
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
        self._new_scorer()

    def _empty_part(self, name: str):
        if name == "taste":
            return LightFMHybrid(
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
            )
        if name == "affinity":
            return ContentBased(
                feature_prefix=self.embedding_prefix,
                half_life_days=self.content_half_life_days,
                centre=self.centre_embeddings,
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
        if name == "colleague_trend":
            return ColleagueTrend(self.colleague_half_life_days or 1.0, self.weighted_trends)
        if name == "ease":
            return ItemItem(self.ease_lambda, self.random_state)
        if name == "item_prior":
            return ItemPrior(self.prior_alpha)
        raise ValueError(f"unknown component {name!r}")


# -- helpers ------------------------------------------------------------------------------
def _has_columns(features: FeatureMatrix | None, prefix: str) -> bool:
    return features is not None and any(n.startswith(prefix) for n in features.names)


def _without_seen(part: Recommender) -> Recommender:
    """A part without its own seen-item sets: the hybrid keeps them once (parts are never
    asked to rank on their own; their live state is fed by ``_observe``)."""
    part.seen_ = []
    return part


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
