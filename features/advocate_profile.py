"""Advocate profile features: who an advocate is, from the ``advocates`` table only.

Built for every advocate, opted-out ones included: they still receive a feed, and these are
the fields they gave the product by using it (no behaviour is profiled here; see
:mod:`features.sharing_history` for that, which excludes them).

Columns (``FeatureMatrix.names``)
- ``department=<v>``, ``role=<v>``, ``region=<v>``, ``country=<v>``: one-hot over the values
  learned in ``fit``, plus ``<field>=__other__`` for values first seen later; a missing value
  is an all-zero block.
- ``seniority=<level>``: one-hot over the contract's ``SENIORITIES`` (+ ``__other__``);
  ``seniority_level``: ordinal in [0, 1] (intern 0 ... executive 1; missing 0) and
  ``seniority_missing``: 1 when the level is missing or not a contract level.
- ``language=<code>``: multi-hot over the learned language codes.
- ``tenure_years``: years from ``hire_date`` to ``as_of`` (a hire date after ``as_of`` gives 0);
  ``tenure_missing``: 1 when there is no hire date (then ``tenure_years`` is 0).
- ``interest=<tag>``: multi-hot over the ``max_interests`` most frequent tags seen in ``fit``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.builder import check_fitted, multi_hot, one_hot, select_rows, vocabulary
from features.data.contract import SENIORITIES
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.times import DAY

logger = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.25


class AdvocateProfile:
    """One-hot/multi-hot profile fields, seniority as an ordinal, tenure as of ``as_of``.

    Parameters
    ----------
    max_interests:
        Size of the interest vocabulary (most frequent tags in ``fit``).
    min_interest_count:
        A tag needs this many advocates in ``fit`` to get a column.
    max_roles:
        Size of the role vocabulary; rarer roles share ``role=__other__``.
    max_countries:
        Size of the country vocabulary; rarer countries share ``country=__other__``.
    """

    def __init__(
        self,
        *,
        max_interests: int = 100,
        min_interest_count: int = 1,
        max_roles: int = 200,
        max_countries: int = 100,
    ) -> None:
        self.max_interests = max_interests
        self.min_interest_count = min_interest_count
        self.max_roles = max_roles
        self.max_countries = max_countries

    def fit(self, snapshot: Snapshot) -> AdvocateProfile:
        """Learn the vocabularies from all advocates of ``snapshot``."""
        advocates = snapshot.advocates
        self.departments_ = vocabulary(advocates["department"])
        self.roles_ = vocabulary(advocates["role"], limit=self.max_roles)
        self.regions_ = vocabulary(advocates["region"])
        self.countries_ = vocabulary(advocates["country"], limit=self.max_countries)
        self.languages_ = vocabulary(_flatten(advocates["languages"]))
        self.interests_ = vocabulary(
            _flatten(advocates["interests"]),
            min_count=self.min_interest_count,
            limit=self.max_interests,
        )
        logger.info(
            "advocate profile vocabularies: %d departments, %d roles, %d interests",
            len(self.departments_),
            len(self.roles_),
            len(self.interests_),
        )
        return self

    def transform(self, snapshot: Snapshot, ids: Sequence[str] | None = None) -> FeatureMatrix:
        """Profile rows for ``ids`` (default: every advocate, opted-out ones included)."""
        check_fitted(self, "interests_")
        advocates = select_rows(snapshot.advocates, "employee_id", ids)
        parts = [
            one_hot(_values(advocates["department"]), self.departments_, "department"),
            one_hot(_values(advocates["role"]), self.roles_, "role"),
            _seniority(advocates["seniority"]),
            one_hot(_values(advocates["region"]), self.regions_, "region"),
            one_hot(_values(advocates["country"]), self.countries_, "country"),
            multi_hot(_lists(advocates["languages"]), self.languages_, "language"),
            _tenure(advocates["hire_date"], snapshot.as_of),
            multi_hot(_lists(advocates["interests"]), self.interests_, "interest"),
        ]
        values = sp.hstack([p[0] for p in parts], format="csr", dtype=np.float32)
        names = tuple(n for p in parts for n in p[1])
        external = advocates["employee_id"].astype(str).to_numpy(dtype=object)
        return FeatureMatrix(values, names, IdMap(external, "advocate"))


def _values(column: pd.Series) -> list[object]:
    """Cells as a list, missing values (NaN, NA, None) as None."""
    return column.astype(object).where(column.notna(), None).tolist()


def _lists(column: pd.Series) -> list[list[str]]:
    """List cells as lists of str (missing -> empty)."""
    return [
        [str(v) for v in cell] if isinstance(cell, list | tuple | np.ndarray) else []
        for cell in column
    ]


def _flatten(column: pd.Series) -> list[str]:
    return [item for cell in _lists(column) for item in cell]


def _seniority(column: pd.Series) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot over the contract levels, the ordinal level in [0, 1] and a missing flag."""
    levels = _values(column)
    onehot, names = one_hot(levels, list(SENIORITIES), "seniority")
    rank = {level: i / (len(SENIORITIES) - 1) for i, level in enumerate(SENIORITIES)}
    ordinal = np.array([rank.get(str(v).lower(), np.nan) for v in levels], dtype=np.float32)
    missing = np.isnan(ordinal)
    extra = np.column_stack([np.nan_to_num(ordinal), missing]).astype(np.float32)
    return sp.hstack([onehot, sp.csr_matrix(extra)], format="csr"), [
        *names,
        "seniority_level",
        "seniority_missing",
    ]


def _tenure(column: pd.Series, as_of: pd.Timestamp) -> tuple[sp.csr_matrix, list[str]]:
    """Years since hire as of ``as_of`` (>= 0) and a missing-hire-date flag."""
    hired = pd.to_datetime(column, errors="coerce")
    if hired.dt.tz is not None:
        hired = hired.dt.tz_convert("UTC").dt.tz_localize(None)
    moment = as_of.tz_convert("UTC").tz_localize(None)
    days = (moment - hired).dt.total_seconds().to_numpy(dtype=float) / DAY
    missing = np.isnan(days)
    years = np.clip(np.nan_to_num(days), 0.0, None) / DAYS_PER_YEAR
    values = np.column_stack([years, missing]).astype(np.float32)
    return sp.csr_matrix(values), ["tenure_years", "tenure_missing"]
