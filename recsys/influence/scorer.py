"""The micro-influencer scorer: a calibrated additive logistic model with exact reasons.

Model
    Each feature in ``features`` becomes a piecewise-linear curve (:class:`AdditiveBasis`,
    ``n_knots`` quantile knots; 0 = linear) and an L2 logistic regression on the basis predicts
    the label (1 = the advocate was in the organisation's top decile of engagement per share in
    the next period, see ``features.influence_labels``). The probability is calibrated with
    Platt scaling fitted on ``cv``-fold out-of-fold predictions (scikit-learn's
    ``CalibratedClassifierCV(method="sigmoid", ensemble=False)``): the final logistic model
    sees every labelled row and one sigmoid maps its log-odds to the calibrated score. With
    fewer than ``cv`` rows in a class the logistic model's own probability is used
    (``calibration_`` says which).
Reasons
    The calibrated log-odds are an exact sum: ``logit(score) = base_ + sum_j c_j(x)``, with
    ``c_j(x) = -a * (w_j . B_j(x_j) - centre_j)`` (``w_j`` the coefficients of feature ``j``'s
    basis columns, ``centre_j`` their mean over the training rows, ``a`` the Platt slope).
    :meth:`InfluenceScorer.contributions` returns them and a reason is a feature with a large
    ``|c_j|``: nothing else is consulted.
Flag
    ``flagged`` = score >= ``flag_threshold`` (default 0.5: more likely than not in the next
    period's top decile, five times the 10% base rate) and the audience is in the micro
    ``band`` on at least one network with no network at macro size, and engagement per share
    at least ``min_lift`` times what the follower count predicts (``engagement_lift_ratio``,
    shrunk for short records; the rule is skipped when the matrix has no such column), and at
    least ``min_flag_shares`` measured shares (one viral post is not a record).
Tier and confidence
    ``tier`` from the largest network's followers (``tier_thresholds``); ``confidence`` from the
    number of measured shares (``confidence_shares``: below the first = low, below the second =
    medium, else high), stated in words.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from recsys.influence.basis import AdditiveBasis, Basis, StepBasis, SumBasis
from recsys.influence.boosting import Stumps, boost_stumps
from recsys.influence.candidate import Candidate, Confidence
from recsys.influence.reasons import info, percentiles, pick, score_drivers
from recsys.influence.tiers import DEFAULT_BAND, DEFAULT_TIERS, check_pair, in_band, tiers
from recsys.matrix import FeatureMatrix

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_FEATURES = (
    "log_followers_max",
    "engagement_lift",
    "log_engagement_rate",
    "engagement_consistency",
    "log_shares_measured",
    "log_clicks_per_share",
    "activity_trend",
    "log_org_pagerank_rel",
    "n_networks",
)
LEARNERS = ("spline", "boosted", "blend")
_PARAMS = (
    "features", "learner", "n_knots", "C", "max_rounds", "learning_rate", "min_leaf",
    "validation_fraction", "calibration", "cv", "flag_threshold", "band", "tier_thresholds",
    "min_flag_shares", "min_lift", "confidence_shares", "max_reasons", "random_state",
)  # fmt: skip


class InfluenceScorer(BaseEstimator):
    """Scores advocates as micro-influencer candidates (see the module docstring)."""

    basis_: Basis  # set by fit (or load): the additive, step or summed basis of the learner

    def __init__(
        self,
        *,
        features: Sequence[str] = DEFAULT_FEATURES,
        learner: str = "spline",
        n_knots: int = 5,
        C: float = 1.0,
        max_rounds: int = 1000,
        learning_rate: float = 0.05,
        min_leaf: int = 20,
        validation_fraction: float = 0.2,
        calibration: str = "sigmoid",
        cv: int = 5,
        flag_threshold: float = 0.5,
        band: tuple[float, float] = DEFAULT_BAND,
        tier_thresholds: tuple[float, float] = DEFAULT_TIERS,
        min_flag_shares: int = 3,
        min_lift: float = 2.0,
        confidence_shares: tuple[int, int] = (3, 10),
        max_reasons: int = 4,
        random_state: int | None = 42,
    ) -> None:
        self.features = features
        self.learner = learner
        self.n_knots = n_knots
        self.C = C
        self.max_rounds = max_rounds
        self.learning_rate = learning_rate
        self.min_leaf = min_leaf
        self.validation_fraction = validation_fraction
        self.calibration = calibration
        self.cv = cv
        self.flag_threshold = flag_threshold
        self.band = band
        self.tier_thresholds = tier_thresholds
        self.min_flag_shares = min_flag_shares
        self.min_lift = min_lift
        self.confidence_shares = confidence_shares
        self.max_reasons = max_reasons
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        features: FeatureMatrix,
        labels: Sequence[float] | np.ndarray,
        *,
        info: dict | None = None,
    ) -> InfluenceScorer:
        """Learn from labelled rows; rows whose label is NaN (no outcome) are left out."""
        self._check_params()
        y = np.asarray(labels, dtype=float)
        if y.shape != (features.shape[0],):
            raise ValueError(f"labels: expected {features.shape[0]} values, got shape {y.shape}")
        known = ~np.isnan(y)
        if not np.isin(y[known], (0.0, 1.0)).all():
            raise ValueError("labels must be 0, 1 or NaN (no outcome)")
        x = self._matrix(features)[known]
        y = y[known].astype(int)
        counts = np.bincount(y, minlength=2)
        if counts.min() == 0:
            raise ValueError(
                f"labels need both classes, got {counts[0]} zeros and {counts[1]} ones"
            )
        if self.learner == "blend":
            raise ValueError("learner='blend' is for fit_pairs; use 'spline' or 'boosted' here")
        if self.learner == "boosted":
            extra = self._fit_boosted_labels(x, y, counts)
        else:
            extra = self._fit_spline_labels(x, y, counts)
        self.training_ = {"rows": len(y), "positives": int(counts[1]), **extra, **(info or {})}
        self.set_reference(features)
        return self

    def _fit_spline_labels(self, x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> dict:
        self.basis_ = AdditiveBasis(self.n_knots).fit(x)
        design = self.basis_.transform(x)
        model = LogisticRegression(C=self.C, max_iter=5000)
        if self.calibration == "sigmoid" and counts.min() >= self.cv:
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            calibrated = CalibratedClassifierCV(model, method="sigmoid", cv=folds, ensemble=False)
            calibrated.fit(design, y)
            inner = calibrated.calibrated_classifiers_[0]
            fitted, sigmoid = inner.estimator, inner.calibrators[0]
            self.platt_ = np.array([float(sigmoid.a_), float(sigmoid.b_)])
            self.calibration_ = f"sigmoid (Platt), {self.cv}-fold out-of-fold"
        else:
            if self.calibration == "sigmoid":
                logger.warning("fewer than cv=%d rows in a class: no Platt scaling", self.cv)
            fitted = model.fit(design, y)
            self.platt_ = np.array([-1.0, 0.0])  # identity: the logistic model's probability
            self.calibration_ = "logistic (uncalibrated log-loss fit)"
        self._set_linear(fitted.coef_[0], float(fitted.intercept_[0]), design)
        return {}

    def _fit_boosted_labels(self, x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> dict:
        """Boosted stumps on the logistic loss; Platt scaling on out-of-fold log-odds."""
        stumps = self._boost(x, y, "labels")
        self.basis_ = StepBasis(stumps.thresholds).fit()
        if self.calibration == "sigmoid" and counts.min() >= self.cv:
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            out_of_fold = np.zeros(len(y))
            for train, test in folds.split(x, y):
                part = self._boost(x[train], y[train], "labels")
                out_of_fold[test] = _stumps_score(part, x[test])
            sigmoid = LogisticRegression(C=1e6).fit(out_of_fold[:, None], y)
            self.platt_ = -np.array([float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])])
            self.calibration_ = f"sigmoid (Platt), {self.cv}-fold out-of-fold"
        else:
            if self.calibration == "sigmoid":
                logger.warning("fewer than cv=%d rows in a class: no Platt scaling", self.cv)
            self.platt_ = np.array([-1.0, 0.0])
            self.calibration_ = "logistic (uncalibrated log-loss fit)"
        design = self.basis_.transform(x)
        self._set_linear(np.concatenate(stumps.steps), stumps.intercept, design)
        return {"rounds": stumps.rounds}

    def _boost(self, x: np.ndarray, y: np.ndarray, loss: str) -> Stumps:
        return boost_stumps(
            x,
            y.astype(float),
            loss=loss,
            max_rounds=int(self.max_rounds),
            learning_rate=float(self.learning_rate),
            min_leaf=int(self.min_leaf),
            validation_fraction=float(self.validation_fraction),
            random_state=self.random_state,
        )

    def fit_pairs(
        self,
        first: FeatureMatrix,
        second: FeatureMatrix,
        choice: Sequence[float] | np.ndarray,
        *,
        info: dict | None = None,
    ) -> InfluenceScorer:
        """Learn from judged pairs (``choice`` 1 = ``first`` is more influential): a
        Bradley-Terry logistic model on basis differences, no intercept, no calibration; the
        score is the strength ``expit(sum_j c_j)`` and ``score(A) - score(B)`` orders pairs."""
        self._check_params()
        y = np.asarray(choice, dtype=float)
        if y.shape != (first.shape[0],) or second.shape[0] != first.shape[0]:
            raise ValueError("first, second and choice must have the same number of rows")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("choice must be 0 or 1")
        a, b = self._matrix(first), self._matrix(second)
        self.platt_ = np.array([-1.0, 0.0])
        self.calibration_ = "pairwise (Bradley-Terry strength, not a probability)"
        both = np.vstack([a, b])
        extra: dict = {}
        parts: list[AdditiveBasis | StepBasis] = []
        coefs: list[np.ndarray] = []
        if self.learner in ("spline", "blend"):
            spline = AdditiveBasis(self.n_knots).fit(both)
            diff = spline.transform(a) - spline.transform(b)
            model = LogisticRegression(C=self.C, max_iter=5000, fit_intercept=False)
            model.fit(np.vstack([diff, -diff]), np.concatenate([y, 1 - y]).astype(int))
            parts.append(spline)
            coefs.append(model.coef_[0])
        if self.learner in ("boosted", "blend"):
            stumps = self._boost(both, y, "pairs")
            parts.append(StepBasis(stumps.thresholds).fit())
            coefs.append(np.concatenate(stumps.steps))
            extra = {"rounds": stumps.rounds}
        self.basis_ = parts[0] if len(parts) == 1 else SumBasis(parts)
        coef = np.concatenate(coefs)
        self._set_linear(coef, 0.0, self.basis_.transform(both))
        self.training_ = {"pairs": len(y), **extra, **(info or {})}
        self.set_reference(first)
        return self

    def _set_linear(self, coef: np.ndarray, intercept: float, design: np.ndarray) -> None:
        self.coef_ = np.asarray(coef, dtype=float)
        self.intercept_ = intercept
        groups = self.basis_.groups_
        per_feature = design * self.coef_
        sums = np.zeros((len(design), len(self.feature_names_)))
        np.add.at(sums.T, groups, per_feature.T)
        self.centres_ = sums.mean(axis=0)
        a, b = self.platt_
        self.base_ = float(-(a * (intercept + self.centres_.sum()) + b))

    def set_reference(self, features: FeatureMatrix) -> InfluenceScorer:
        """Use ``features``' rows as the organisation that percentiles compare against."""
        self._check_fitted("feature_names_")
        self.reference_ = {
            column: np.sort(self._display(features, column))
            for column in sorted({info(f).display for f in self.feature_names_})
        }
        return self

    # ------------------------------------------------------------------ scoring
    def contributions(self, features: FeatureMatrix) -> np.ndarray:
        """Per-feature terms of the calibrated log-odds: ``logit(score) = base_ + row sum``."""
        self._check_fitted("coef_")
        design = self.basis_.transform(self._matrix(features))
        sums = np.zeros((len(design), len(self.feature_names_)))
        np.add.at(sums.T, self.basis_.groups_, (design * self.coef_).T)
        return -self.platt_[0] * (sums - self.centres_)

    def decision_function(self, features: FeatureMatrix) -> np.ndarray:
        """Calibrated log-odds."""
        self._check_fitted("coef_")
        return self.base_ + self.contributions(features).sum(axis=1)

    def predict_proba(self, features: FeatureMatrix) -> np.ndarray:
        """The score: calibrated probability of the top decile next period, per row."""
        return expit(self.decision_function(features))

    def predict(self, features: FeatureMatrix) -> np.ndarray:
        """Whether each row is flagged (see the module docstring)."""
        return self._flags(features, self.predict_proba(features))

    def in_band(self, features: FeatureMatrix) -> np.ndarray:
        per_network = [
            n for n in features.names if n.startswith("followers_") and n != "followers_max"
        ]
        columns = per_network or ["followers_max"]
        followers = np.column_stack([features.column(c) for c in columns])
        return in_band(followers, self.band, self.tier_thresholds[1])

    def _flags(self, features: FeatureMatrix, score: np.ndarray) -> np.ndarray:
        shares = self._optional(features, "shares_measured")
        lift = self._optional(features, "engagement_lift_ratio", default=np.inf)
        return (
            (score >= self.flag_threshold)
            & self.in_band(features)
            & (shares >= self.min_flag_shares)
            & (lift >= self.min_lift)
        )

    def score(self, features: FeatureMatrix) -> list[Candidate]:
        """A :class:`Candidate` per row, in row order (no review state)."""
        contributions = self.contributions(features)
        score = expit(self.base_ + contributions.sum(axis=1))
        flagged = self._flags(features, score)
        band = self.in_band(features)
        followers = self._optional(features, "followers_max")
        tier = tiers(followers, self.tier_thresholds)
        shares = self._optional(features, "shares_measured")
        columns = {c: self._display(features, c) for c in self.reference_}
        ranks = {c: percentiles(v, self.reference_[c]) for c, v in columns.items()}
        ids = features.ids.external
        chosen = pick(contributions, most=self.max_reasons)
        out = []
        for i in range(len(ids)):
            reasons = score_drivers(
                self.feature_names_,
                contributions[i],
                chosen[i],
                {c: v[i] for c, v in columns.items()},
                {c: v[i] for c, v in ranks.items()},
            )
            out.append(
                Candidate(
                    employee_id=str(ids[i]),
                    score=float(score[i]),
                    tier=str(tier[i]),
                    flagged=bool(flagged[i]),
                    reasons=reasons,
                    confidence=self.confidence(shares[i]),
                    followers_max=float(followers[i]),
                    in_band=bool(band[i]),
                )
            )
        return out

    def confidence(self, shares: float) -> Confidence:
        low, high = self.confidence_shares
        n = int(shares)
        if n < low:
            return Confidence(
                "low",
                f"{n} measured share(s): too few to tell a consistent record from one lucky post",
            )
        if n < high:
            return Confidence("medium", f"{n} measured shares: a short record")
        return Confidence("high", f"{n} measured shares")

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` and ``arrays.npz`` (plain arrays, no pickle) to ``folder``."""
        self._check_fitted("coef_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params = {k: _jsonable(getattr(self, k)) for k in _PARAMS}
        manifest = {
            "kind": "influence_scorer",
            "format_version": FORMAT_VERSION,
            "params": params,
            "feature_names": list(self.feature_names_),
            "calibration": self.calibration_,
            "training": self.training_,
            "reference_columns": list(self.reference_),
            "base": self.base_,
            "intercept": self.intercept_,
        }
        arrays = {
            **self.basis_.arrays(),
            "coef": self.coef_,
            "centres": self.centres_,
            "platt": self.platt_,
        }
        arrays |= {f"reference_{i}": v for i, v in enumerate(self.reference_.values())}
        np.savez(folder / "arrays.npz", **arrays)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> InfluenceScorer:
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no influence scorer at {folder}: {path.name} is missing")
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != "influence_scorer":
            raise ValueError(f"{path} is not an influence scorer (kind {manifest.get('kind')!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {manifest.get('format_version')}")
        params = manifest["params"]
        for key in ("features", "band", "tier_thresholds", "confidence_shares"):
            params[key] = tuple(params[key])
        scorer = cls(**params)
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        scorer.feature_names_ = tuple(manifest["feature_names"])
        if scorer.learner == "boosted":
            scorer.basis_ = StepBasis.from_arrays(arrays)
        elif scorer.learner == "blend":
            scorer.basis_ = SumBasis.from_arrays(int(params["n_knots"]), arrays)
        else:
            scorer.basis_ = AdditiveBasis.from_arrays(int(params["n_knots"]), arrays)
        scorer.coef_, scorer.centres_ = arrays["coef"], arrays["centres"]
        scorer.platt_ = arrays["platt"]
        scorer.intercept_, scorer.base_ = float(manifest["intercept"]), float(manifest["base"])
        scorer.calibration_, scorer.training_ = manifest["calibration"], manifest["training"]
        scorer.reference_ = {
            c: arrays[f"reference_{i}"] for i, c in enumerate(manifest["reference_columns"])
        }
        return scorer

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        if not self.features:
            raise ValueError("features: name at least one feature column")
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, got {self.learner!r}")
        if int(self.max_rounds) < 1 or int(self.min_leaf) < 1:
            raise ValueError(
                f"max_rounds and min_leaf must be >= 1, got {self.max_rounds}, {self.min_leaf}"
            )
        if not 0.0 < float(self.learning_rate) <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if not 0.0 <= float(self.flag_threshold) <= 1.0:
            raise ValueError(f"flag_threshold must be in [0, 1], got {self.flag_threshold}")
        if self.calibration not in ("sigmoid", "none"):
            raise ValueError(f"calibration must be 'sigmoid' or 'none', got {self.calibration!r}")
        if int(self.cv) < 2:
            raise ValueError(f"cv must be >= 2, got {self.cv}")
        check_pair("band", self.band)
        check_pair("tier_thresholds", self.tier_thresholds)
        low, high = self.confidence_shares
        if not 0 <= low <= high:
            raise ValueError("confidence_shares must be (low, high) with 0 <= low <= high")
        self.feature_names_ = tuple(self.features)

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError("InfluenceScorer is not fitted: call fit(features, labels) first")

    def _matrix(self, features: FeatureMatrix) -> np.ndarray:
        missing = [n for n in self.feature_names_ if n not in features.names]
        if missing:
            raise ValueError(f"features: missing column(s) {missing} (have {len(features.names)})")
        values = np.column_stack([features.column(n) for n in self.feature_names_]).astype(float)
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f"features: column {self.feature_names_[col]!r} is not finite for"
                f" {features.ids.external[row]!r} ({int(bad.sum())} non-finite value(s))"
            )
        return values

    def _display(self, features: FeatureMatrix, column: str) -> np.ndarray:
        if column in features.names:
            return np.asarray(features.column(column), dtype=float)
        fallback = next(f for f in self.feature_names_ if info(f).display == column)
        return np.asarray(features.column(fallback), dtype=float)

    @staticmethod
    def _optional(features: FeatureMatrix, column: str, default: float = 0.0) -> np.ndarray:
        if column in features.names:
            return np.asarray(features.column(column), dtype=float)
        return np.full(features.shape[0], default)


def _stumps_score(stumps: Stumps, x: np.ndarray) -> np.ndarray:
    """The boosted log-odds of the rows of ``x``."""
    design = StepBasis(stumps.thresholds).fit().transform(x)
    steps = np.concatenate(stumps.steps) if stumps.steps else np.zeros(0)
    return stumps.intercept + design @ steps


def _jsonable(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
