"""What the ranking policy knows of content and employees, as arrays over internal ids.

Codes (regions, departments, languages, topics, types) are matched case-insensitively
after stripping blanks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# Mirrors features.data.contract.APPROVAL_STATUSES (recsys does not import features).
APPROVAL_STATUSES = ("draft", "approved", "rejected", "retired")


def _code(value: object) -> str:
    return str(value).strip().casefold()


@dataclass(frozen=True)
class CodeSets:
    """A set of codes per row, stored as CSR (``indptr``, ``codes``) with a vocabulary."""

    indptr: np.ndarray  # int64, n_rows + 1
    codes: np.ndarray  # int64 codes into vocabulary
    vocabulary: tuple[str, ...]
    rows: np.ndarray = field(init=False, repr=False)  # row of each stored code
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sizes = np.diff(self.indptr)
        object.__setattr__(self, "rows", np.repeat(np.arange(len(sizes)), sizes))
        index = {_code(v): i for i, v in enumerate(self.vocabulary)}
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_lists(cls, lists: Sequence[Iterable[object] | None]) -> CodeSets:
        """Distinct codes of each row (matched case-insensitively); the vocabulary keeps
        the first spelling seen, in first-seen order, for display."""
        index: dict[str, int] = {}
        vocabulary: list[str] = []
        rows = []
        for values in lists:
            row = []
            for value in values or ():
                key = _code(value)
                if key not in index:
                    index[key] = len(vocabulary)
                    vocabulary.append(str(value).strip())
                row.append(index[key])
            rows.append(list(dict.fromkeys(row)))
        indptr = np.zeros(len(rows) + 1, np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        codes = np.asarray([c for r in rows for c in r], dtype=np.int64)
        return cls(indptr, codes, tuple(vocabulary))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def sizes(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row(self, i: int) -> np.ndarray:
        return self.codes[self.indptr[i] : self.indptr[i + 1]]

    def code_of(self, value: object) -> int:
        """The code of ``value``, or -1 if absent (or ``None``)."""
        return -1 if value is None else self._index.get(_code(value), -1)

    def rows_containing_any(self, values: Iterable[object]) -> np.ndarray:
        """Bool per row: does its set hold any of ``values``?"""
        wanted = [c for c in (self.code_of(v) for v in values) if c >= 0]
        hit = np.zeros(len(self), dtype=bool)
        hit[self.rows[np.isin(self.codes, wanted)]] = True
        return hit


@dataclass(frozen=True)
class Catalogue:
    """Content attributes the policy needs, one entry per internal content id."""

    approved: np.ndarray  # bool
    published_at: np.ndarray  # float64 unix seconds, NaN = not published
    expires_at: np.ndarray  # float64 unix seconds, NaN = never expires
    content_type: np.ndarray  # int64 codes into type_vocabulary
    type_vocabulary: tuple[str, ...]
    topics: CodeSets
    allowed_regions: CodeSets
    allowed_departments: CodeSets
    allowed_languages: CodeSets

    @classmethod
    def from_lists(
        cls,
        *,
        approval_status: Sequence[str],
        published_at: Sequence[float | None],
        content_type: Sequence[str],
        expires_at: Sequence[float | None] | None = None,
        topics: Sequence[Iterable[str] | None] | None = None,
        allowed_regions: Sequence[Iterable[str] | None] | None = None,
        allowed_departments: Sequence[Iterable[str] | None] | None = None,
        allowed_languages: Sequence[Iterable[str] | None] | None = None,
    ) -> Catalogue:
        """Build from plain lists aligned with internal ids (``None`` lists = no value)."""
        n = len(approval_status)
        status = [_code(s) for s in approval_status]
        unknown = sorted(set(status) - set(APPROVAL_STATUSES))
        if unknown:
            raise ValueError(f"unknown approval_status values: {unknown}")
        types = CodeSets.from_lists([[t] for t in content_type])
        catalogue = cls(
            approved=np.asarray([s == "approved" for s in status], dtype=bool),
            published_at=_times(published_at),
            expires_at=_times([None] * n if expires_at is None else expires_at),
            content_type=types.codes,
            type_vocabulary=types.vocabulary,
            topics=CodeSets.from_lists(topics or [None] * n),
            allowed_regions=CodeSets.from_lists(allowed_regions or [None] * n),
            allowed_departments=CodeSets.from_lists(allowed_departments or [None] * n),
            allowed_languages=CodeSets.from_lists(allowed_languages or [None] * n),
        )
        catalogue._check_lengths(n)
        return catalogue

    def __len__(self) -> int:
        return len(self.approved)

    def _check_lengths(self, n: int) -> None:
        parts = {
            "published_at": len(self.published_at),
            "expires_at": len(self.expires_at),
            "content_type": len(self.content_type),
            "topics": len(self.topics),
            "allowed_regions": len(self.allowed_regions),
            "allowed_departments": len(self.allowed_departments),
            "allowed_languages": len(self.allowed_languages),
        }
        wrong = {name: size for name, size in parts.items() if size != n}
        if wrong:
            raise ValueError(f"catalogue fields not of length {n}: {wrong}")


def _times(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)


@dataclass(frozen=True)
class Employee:
    """The attributes eligibility looks at (``None`` / empty = unknown)."""

    region: str | None = None
    department: str | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audience:
    """Employee attributes by employee id."""

    employees: Mapping[str, Employee]

    @classmethod
    def from_lists(
        cls,
        employee_ids: Sequence[str],
        regions: Sequence[str | None],
        departments: Sequence[str | None],
        languages: Sequence[Iterable[str] | None],
    ) -> Audience:
        rows = zip(employee_ids, regions, departments, languages, strict=True)
        return cls({str(e): Employee(r, d, tuple(ls or ())) for e, r, d, ls in rows})

    def __getitem__(self, employee_id: str) -> Employee:
        """The employee's attributes; an unknown employee has none (sees unrestricted content)."""
        return self.employees.get(str(employee_id), Employee())
