"""Hybrid: long-term taste plus live signals, combined by a learned second stage.

Components (one :class:`~recsys.models.component.ScoreComponent` each, a parameter of the
hybrid; None leaves one out), each a score per (employee, item) at the request time
``as_of``:

- ``taste``: LightFM representations (:class:`~recsys.models.lightfm_hybrid.Taste`);
- ``affinity``: content-embedding cosine (:class:`~recsys.models.content.Affinity`), when the
  item features have its ``feature_prefix`` columns; ``affinity__centre="cold"`` centres the
  embeddings for content with no event in ``fit`` only;
- ``global_trend_short`` / ``global_trend_long``: ``log1p`` of decayed counts at two
  half-lives (:class:`~recsys.models.popular.GlobalTrend`);
- ``department_trend``: decayed counts among the employee's department
  (:class:`~recsys.models.trends.DepartmentTrend`), when the user features have its
  ``prefix`` columns;
- ``colleague_trend``: what employees of similar taste engage with now
  (:class:`~recsys.models.trends.ColleagueTrend`; new content gets it from its first
  engagers);
- ``ease``: EASE item-item weights over the employee's live history
  (:class:`~recsys.models.ease.ItemItem`), up to its ``max_items`` items;
- ``item_prior``: the item's predicted ``log1p`` interaction count from its features
  (:class:`~recsys.models.ease.ItemPrior`);
- ``freshness``: ``log1p`` of the hours since the item's time
  (:class:`~recsys.models.freshness.Freshness`), when the dataset has item times.

Not in the defaults, added through ``extra_components``: ``covisit``, what people read next
after the employee's latest items (:class:`~recsys.models.covisit.CoVisit`), and
``neighbour_trend``, what the employee's nearest co-readers engage with now
(:class:`~recsys.models.neighbours.NeighbourTrend`).

Components a dataset cannot feed are left out and logged (taste is required).

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

Defaults: the half-lives come from ``experiments/tune_deskdrop.py``; the MovieLens
benchmarks use ``training.evaluation.movielens.CONFIGS`` (``experiments/tune_hybrid.py``).

A score is the decision function ``intercept + sum(coef * (value - mean) / scale)``; the
parts are available from :meth:`components` and :meth:`contributions` (for reasons).
Ranking uses :class:`~recsys.models.hybrid_scoring.FoldedScorer`: the same sum with the
weights folded into float32 user and item blocks (one matrix product per bilinear part).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.matrix import FeatureMatrix
from recsys.models.component import COMPONENTS, FitContext, ScoreComponent
from recsys.models.content import Affinity
from recsys.models.covisit import CoVisit  # noqa: F401  (registered: saved hybrids load it)
from recsys.models.ease import ItemItem, ItemPrior
from recsys.models.freshness import Freshness
from recsys.models.hybrid_scoring import FoldedScorer, Head, pair_values
from recsys.models.lightfm_hybrid import Taste
from recsys.models.neighbours import NeighbourTrend  # noqa: F401  (registered: saved hybrids load it)
from recsys.models.popular import GlobalTrend
from recsys.models.second_stage import observe_all, random_examples, time_examples
from recsys.models.timing import ColdTimePopularity, ReleaseWindow  # noqa: F401  (registered)
from recsys.models.trends import ColleagueTrend, DepartmentTrend

logger = logging.getLogger(__name__)

#: Accepted values of ``Hybrid(second_stage=...)``.
SECOND_STAGES = ("auto", "time", "random")

#: Fewest positive (and negative) examples a head of the second stage is learned from.
MIN_WARM_POSITIVES = 1
MIN_COLD_POSITIVES = 20

#: The built-in components, in score order: parameter name -> its default settings.
DEFAULT_COMPONENTS: dict[str, Any] = {
    "taste": Taste,
    "affinity": Affinity,
    "global_trend_short": lambda: GlobalTrend(half_life_days=1 / 24),
    "global_trend_long": lambda: GlobalTrend(half_life_days=2.0),
    "department_trend": DepartmentTrend,
    "colleague_trend": ColleagueTrend,
    "ease": ItemItem,
    "item_prior": ItemPrior,
    "freshness": Freshness,
}

#: Fallback weight on the raw value of a component when no second stage can be learned.
PRIOR_COEF: dict[str, float] = {"freshness": -0.1}

#: Parameters of hybrids saved before the component redesign -> their nested names.
FLAT_PARAMS: dict[str, str] = {
    **{
        name: f"taste__{name}"
        for name in (
            "no_components",
            "epochs",
            "learning_rate",
            "loss",
            "item_alpha",
            "user_alpha",
            "num_threads",
            "user_feature_prefix",
            "item_feature_prefix",
        )
    },
    "embedding_prefix": "affinity__feature_prefix",
    "content_half_life_days": "affinity__half_life_days",
    "centre_embeddings": "affinity__centre",
    "short_half_life_days": "global_trend_short__half_life_days",
    "long_half_life_days": "global_trend_long__half_life_days",
    "department_prefix": "department_trend__prefix",
    "department_half_life_days": "department_trend__half_life_days",
    "colleague_half_life_days": "colleague_trend__half_life_days",
    "ease_lambda": "ease__lam",
    "ease_max_items": "ease__max_items",
    "prior_alpha": "item_prior__alpha",
}
#: Flat switches of those hybrids: False (or None) left the component out.
FLAT_SWITCHES = {"ease": "ease", "item_prior": "item_prior"}
WEIGHTED = ("global_trend_short", "global_trend_long", "department_trend", "colleague_trend")
DEFAULT = "default"


class Hybrid(Recommender):
    """LightFM taste + content affinity + live trends + freshness, mixed by a logistic model.

    Each component is a parameter holding its settings (a
    :class:`~recsys.models.component.ScoreComponent`, or None to leave it out), so nested
    parameters name them: ``Hybrid().set_params(taste__epochs=10, colleague_trend=None)``.
    ``extra_components`` adds registered components after the built-in ones (keyed by their
    ``name``). ``random_state`` seeds the second stage and every component that takes one.
    Fitted components are ``components_`` (name -> fitted copy); components a dataset
    cannot feed (e.g. no embedding columns) are left out and logged.

    Cold employees get the cold paths of the components (mean LightFM user, the mean
    affinity, no department); :meth:`add_users` with profile features serves new employees
    from their profile with no refit; new content (:meth:`add_items`) goes to every
    component, and :meth:`observe` feeds every one of them (live trends, affinity).
    """

    name = "hybrid"

    def __init__(
        self,
        *,
        taste: Taste | str | None = DEFAULT,
        affinity: Affinity | str | None = DEFAULT,
        global_trend_short: GlobalTrend | str | None = DEFAULT,
        global_trend_long: GlobalTrend | str | None = DEFAULT,
        department_trend: DepartmentTrend | str | None = DEFAULT,
        colleague_trend: ColleagueTrend | str | None = DEFAULT,
        ease: ItemItem | str | None = DEFAULT,
        item_prior: ItemPrior | str | None = DEFAULT,
        freshness: Freshness | str | None = DEFAULT,
        extra_components: tuple[ScoreComponent, ...] = (),
        validation_fraction: float = 0.15,
        negatives: int = 20,
        C: float = 1.0,
        second_stage: str = "auto",
        random_state: int = 42,
    ) -> None:
        # a fresh default per hybrid: nested set_params never changes another one's
        self.taste = _default("taste", taste)
        self.affinity = _default("affinity", affinity)
        self.global_trend_short = _default("global_trend_short", global_trend_short)
        self.global_trend_long = _default("global_trend_long", global_trend_long)
        self.department_trend = _default("department_trend", department_trend)
        self.colleague_trend = _default("colleague_trend", colleague_trend)
        self.ease = _default("ease", ease)
        self.item_prior = _default("item_prior", item_prior)
        self.freshness = _default("freshness", freshness)
        self.extra_components = extra_components
        self.validation_fraction = validation_fraction
        self.negatives = negatives
        self.C = C
        self.second_stage = second_stage
        self.random_state = random_state

    # -- parameters -------------------------------------------------------------------
    def settings(self) -> dict[str, ScoreComponent]:
        """The configured (unfitted) components by name, in score order."""
        out: dict[str, ScoreComponent] = {}
        for name in DEFAULT_COMPONENTS:
            component = getattr(self, name)
            if component is None:
                continue
            if not isinstance(component, ScoreComponent):
                raise TypeError(
                    f"{name} must be a score component or None, got {type(component).__name__}"
                )
            out[name] = component
        for component in self.extra_components:
            if not isinstance(component, ScoreComponent) or component.name in out:
                raise ValueError(
                    f"extra_components: {component!r} is not a score component with a new name"
                )
            out[component.name] = component
        return out

    def _saved_params(self) -> dict[str, object]:
        """JSON parameters: the nested settings, None for components left out."""
        params = self.get_params(deep=True)
        return {
            k: v
            for k, v in params.items()
            if not isinstance(v, BaseEstimator) and k != "extra_components"
        }

    @classmethod
    def _from_params(cls, params: Mapping[str, object]) -> Hybrid:
        return cls().set_params(**upgrade_params(params))

    def chosen_params(self) -> dict[str, float]:
        """Hyper-parameters chosen during fit, as ``component__name_`` (e.g. EASE's lambda)."""
        self._check_fitted()
        return {
            f"{name}__{key}": value
            for name, component in self.components_.items()
            for key, value in component.chosen().items()
        }

    # -- public extras ----------------------------------------------------------------
    def components(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """Raw component values (len(users), len(items)) by name; internal ids, -1 = cold."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        if len(users) == 1 and np.ndim(as_of) == 0:  # a feed's reasons: one employee
            rows = self.scorer_.raw_rows(int(users[0]), items, float(as_of))
            return {name: row.reshape(1, len(items)) for name, row in rows.items()}
        grid_users = np.repeat(users, len(items))
        grid_items = np.tile(items, len(users))
        values = pair_values(self.components_, grid_users, grid_items, as_of)
        return {name: v.reshape(len(users), len(items)) for name, v in values.items()}

    def contributions(
        self, users: np.ndarray, items: np.ndarray, as_of: float
    ) -> dict[str, np.ndarray]:
        """``coef * standardised value`` per component; they sum to score - ``intercept_``.

        Items scored by the cold head (:meth:`heads`) use its coefficients, and then a
        ``cold_start`` entry holds the difference of the two heads' intercepts (0 for warm
        items), so the sum still is score - ``intercept_``.
        """
        self._check_fitted()
        names = list(self.components_)
        items = np.asarray(items, np.int64)
        users = np.asarray(users, np.int64)
        if len(users) == 1 and np.ndim(as_of) == 0:  # a feed's reasons: one employee
            rows = self.scorer_.contribution_rows(int(users[0]), items, float(as_of))
            one = {name: rows[j][None, :] for j, name in enumerate(names)}
            if self.has_cold_head_:
                one["cold_start"] = self.scorer_.head_rows()[3][items][None, :].copy()
            return one
        raw = self.components(users, items, as_of)
        coef, mean, scale, shift = (a[..., items] for a in self.scorer_.head_rows())
        stacked = np.stack([raw[name] for name in names])  # (names, users, items)
        values = coef[:, None, :] * (stacked - mean[:, None, :]) / scale[:, None, :]
        out: dict[str, np.ndarray] = dict(zip(names, values, strict=True))
        if self.has_cold_head_:
            rows_shape = (len(np.atleast_1d(users)), len(items))
            out["cold_start"] = np.broadcast_to(shift, rows_shape).copy()
        return out

    def contribution_matrix(
        self, user: int, items: np.ndarray, as_of: float
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """:meth:`contributions` of one employee (-1 = cold) as names and one float64 row
        per name (``cold_start`` last when there is a cold head), the per-employee rows
        evaluated by the compiled kernels (:meth:`FoldedScorer.kernel_contribution_rows`)."""
        self._check_fitted()
        items = np.ascontiguousarray(items, np.int64)
        cold = bool(self.has_cold_head_)
        rows = self.scorer_.kernel_contribution_rows(int(user), items, float(as_of), int(cold))
        names = tuple(self.components_)
        if not cold:
            return names, rows
        rows[-1] = self.scorer_.head_rows()[3][items]
        return (*names, "cold_start"), rows

    # -- learning ---------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        settings = self._usable(dataset)
        names = list(settings)
        self.second_stage_ = self.resolve_second_stage(dataset)
        build = time_examples if self.second_stage_ == "time" else random_examples
        staged: dict[str, ScoreComponent] = {}

        def fit_part(part: Dataset) -> dict[str, ScoreComponent]:
            staged.update(self._fit_components(part, settings, reset_unseen=True))
            return staged

        x, y, cold, groups = build(
            dataset,
            names,
            fit_part,
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
        counts = dataset.item_event_counts()
        self.item_cold_ = counts == 0
        final = {n: (staged[n].refit_settings() if n in staged else c) for n, c in settings.items()}
        self.components_ = self._fit_components(dataset, final)
        self._new_scorer()

    def _usable(self, dataset: Dataset) -> dict[str, ScoreComponent]:
        """Copies of the configured components ``dataset`` can feed (the others logged),
        seeded with ``random_state``."""
        out: dict[str, ScoreComponent] = {}
        for name, component in self.settings().items():
            reason = component.left_out(dataset)
            if reason is not None:
                if name != "taste":
                    logger.info("hybrid: %s left out: %s", name, reason)
                    continue
                raise ValueError(f"hybrid: the taste component cannot be fitted: {reason}")
            copy = clone(component)
            if "random_state" in copy.get_params(deep=False):
                copy.set_params(random_state=self.random_state)
            out[name] = copy
        if "taste" not in out:
            raise ValueError("hybrid: taste must not be None (other components build on it)")
        return out

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

    def _fit_components(
        self,
        dataset: Dataset,
        settings: Mapping[str, ScoreComponent],
        *,
        reset_unseen: bool = False,
    ) -> dict[str, ScoreComponent]:
        """Fresh copies of ``settings`` fitted on ``dataset``, in order (a component may
        build on those before it)."""
        fitted: dict[str, ScoreComponent] = {}
        for name, component in settings.items():
            context = FitContext(dict(fitted), self.random_state, reset_unseen)
            fitted[name] = clone(component).fit_component(dataset, context)
        return fitted

    def _learn_head(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, min_positives: int
    ) -> Head | None:
        """A logistic head on standardised values, or None without enough examples.

        With ``groups`` (the cold head) the weights are learned on values centred within
        each ranking (the candidates of one employee, or of one event), which is what ranking
        compares: what differs between employees (a heavy user's larger taste scores) does
        not leak into them. A 1-d logistic fit on the uncentred decision values then scales
        them and sets the intercept (Platt), so the cold head stays comparable with the warm
        one. The warm head is a plain logistic regression (why: docs/recommenders.md).
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
        coef = np.asarray([PRIOR_COEF.get(name, 1.0) for name in names], np.float64)
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
        self.scorer_ = FoldedScorer(self.components_, warm, cold, lambda: self.item_cold_)
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
        return self.scorer_.score(users, items, as_of)

    def score_row(self, user: int, as_of: float, candidates: int) -> np.ndarray | None:
        """One employee's float32 scores over every item (internal id ``user``, -1 = cold),
        the values :meth:`score` gives them, or None when :meth:`score` would compute
        ``candidates`` items apart (:meth:`FoldedScorer.score_row`). Read-only use."""
        self._check_fitted()
        return self.scorer_.score_row(int(user), float(as_of), int(candidates))

    def score_parts(
        self, user: int, as_of: float, candidates: int
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """:meth:`score_row` as its static row and live rows, summed by the caller
        (:meth:`FoldedScorer.score_parts`): the feed's kernel adds them while it walks the
        items."""
        self._check_fitted()
        return self.scorer_.score_parts(int(user), float(as_of), int(candidates))

    # -- live state -------------------------------------------------------------------
    def _observe(self, users, items, times, weights) -> None:
        observe_all(self.components_, users, items, times, weights)
        self.scorer_.invalidate()
        self.scorer_.drop_users(users)

    def _add_users(self, count: int) -> None:
        for component in self.components_.values():
            component.grow_users(count)
        self.scorer_.invalidate()

    def _add_items(
        self, internal: np.ndarray, content_ids: list[str], features: FeatureMatrix | None
    ) -> None:
        times = self.item_times_[internal]
        for component in self.components_.values():
            component.grow_items(internal, content_ids, features, times)
        self.item_cold_ = np.concatenate([self.item_cold_, np.ones(len(internal), bool)])
        self.scorer_.invalidate()

    def _set_user_features(
        self, internal: np.ndarray, employee_ids: list[str], features: FeatureMatrix
    ) -> None:
        """Profiles to the components (taste and the colleague vectors from it for employees
        added after fit; the department for everyone given)."""
        for component in self.components_.values():
            component.set_profiles(internal, employee_ids, features, self.components_)
        self.scorer_.invalidate()
        self.scorer_.drop_users(internal)

    # -- persistence ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        names = list(self.components_)
        arrays = {
            "component_names": np.asarray(names, dtype=np.str_),
            "component_classes": np.asarray(
                [self.components_[n].name for n in names], dtype=np.str_
            ),
            "component_params": np.asarray(
                [json.dumps(self.components_[n].get_params()) for n in names], dtype=np.str_
            ),
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
        for key, component in self.components_.items():
            arrays |= {f"{key}__{k}": v for k, v in component.state().items()}
        return arrays

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        arrays = upgrade_state(arrays, self.item_times_)
        self.component_names_ = arrays["component_names"]
        warm = Head(
            arrays["coef"], arrays["means"], arrays["scales"], float(arrays["intercept"][0])
        )
        cold = Head(
            arrays["cold_coef"],
            arrays["cold_means"],
            arrays["cold_scales"],
            float(arrays["cold_intercept"][0]),
        )
        self._set_heads(
            warm, cold, bool(arrays["has_cold_head"][0]), int(arrays["validation_examples"][0])
        )
        self.item_cold_ = arrays["item_cold"]
        self.second_stage_ = str(arrays["second_stage"][0])
        settings = self.settings()
        components: dict[str, ScoreComponent] = {}
        saved = arrays.get("component_params")
        for j, (name, kind) in enumerate(
            zip(
                map(str, arrays["component_names"]),
                map(str, arrays["component_classes"]),
                strict=True,
            )
        ):
            prefix = f"{name}__"
            state = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            configured = settings.get(name)
            if configured is not None:
                component = clone(configured)
            else:  # an extra component: rebuilt from its class and saved parameters
                if kind not in COMPONENTS:
                    raise ValueError(
                        f"component {name!r}: unknown score component {kind!r} (known: "
                        f"{', '.join(COMPONENTS)}); import the module that registers it first"
                    )
                params = json.loads(str(saved[j])) if saved is not None else {}
                component = COMPONENTS[kind](**params)
            components[name] = component.load_state(state)
        self.components_ = components
        self._new_scorer()


# -- helpers ------------------------------------------------------------------------------
def _default(name: str, value: object) -> object:
    """The parameter's value, or a fresh default component for ``"default"``."""
    return DEFAULT_COMPONENTS[name]() if isinstance(value, str) and value == DEFAULT else value


def upgrade_params(params: Mapping[str, object]) -> dict[str, object]:
    """Parameters of a hybrid saved before the component redesign in today's names."""
    out: dict[str, object] = {}
    for key, value in params.items():
        if key in FLAT_SWITCHES:
            if value is False or value is None:
                out[FLAT_SWITCHES[key]] = None
        elif key == "colleague_half_life_days" and value is None:
            out["colleague_trend"] = None
        elif key == "weighted_trends":
            out |= {f"{name}__weighted": value for name in WEIGHTED}
        else:
            out[FLAT_PARAMS.get(key, key)] = value
    dropped = {k.split("__")[0] for k, v in out.items() if v is None and "__" not in k}
    return {k: v for k, v in out.items() if k.split("__")[0] not in dropped or "__" not in k}


def upgrade_state(arrays: dict[str, np.ndarray], item_times: np.ndarray) -> dict[str, np.ndarray]:
    """Arrays of a hybrid saved before the component redesign in today's layout: each
    component's class named, the cold head present, freshness holding its item times."""
    arrays = dict(arrays)
    names = [str(n) for n in arrays["component_names"]]
    if "component_classes" not in arrays:
        kinds = {"global_trend_short": "global_trend", "global_trend_long": "global_trend"}
        arrays["component_classes"] = np.asarray([kinds.get(n, n) for n in names], np.str_)
    if "cold_coef" not in arrays:
        for key in ("coef", "intercept", "means", "scales"):
            arrays[f"cold_{key}"] = arrays[key]
    arrays.setdefault("has_cold_head", np.asarray([False]))
    arrays.setdefault("item_cold", np.zeros(len(item_times), bool))
    arrays.setdefault("second_stage", np.asarray(["time"], np.str_))
    if "freshness" in names and "freshness__times" not in arrays:
        arrays["freshness__times"] = np.asarray(item_times, np.float64)
    return arrays
