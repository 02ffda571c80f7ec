"""What the ranking policy knows of content and employees, as arrays over internal ids.

Codes (regions, departments, languages, topics, types) are matched case-insensitively
after stripping blanks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import numpy as np

# Mirror features.data.contract (recsys does not import features).
APPROVAL_STATUSES = ("draft", "approved", "rejected", "retired")
NETWORKS = ("linkedin", "x", "facebook", "instagram", "xing", "other")


def normal_code(value: object) -> str:
    """A code as matched everywhere: blanks stripped, case folded."""
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
        index = {normal_code(v): i for i, v in enumerate(self.vocabulary)}
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
                key = normal_code(value)
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
        return -1 if value is None else self._index.get(normal_code(value), -1)

    def rows_containing_any(self, values: Iterable[object]) -> np.ndarray:
        """Bool per row: does its set hold any of ``values``?"""
        wanted = [c for c in (self.code_of(v) for v in values) if c >= 0]
        hit = np.zeros(len(self), dtype=bool)
        if wanted:
            hit[self.rows[np.isin(self.codes, wanted)]] = True
        return hit

    @classmethod
    def empty(cls, n_rows: int) -> CodeSets:
        """``n_rows`` empty sets."""
        return cls(np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int64), ())


@dataclass(frozen=True)
class Catalogue:
    """Content attributes the policy needs, one entry per internal content id.

    ``networks`` (target networks; empty = any) and ``language`` (the text's language, at
    most one code) serve request filters; ``content_ids`` (optional) names each row so a
    feed can check the catalogue is aligned with a model's ``items_``. ``screened`` is False
    for content that content screening holds or blocks, or has not screened yet (None: all
    True).
    """

    approved: np.ndarray  # bool
    published_at: np.ndarray  # float64 unix seconds, NaN = not published
    expires_at: np.ndarray  # float64 unix seconds, NaN = never expires
    content_type: np.ndarray  # int64 codes into type_vocabulary
    type_vocabulary: tuple[str, ...]
    topics: CodeSets
    allowed_regions: CodeSets
    allowed_departments: CodeSets
    allowed_languages: CodeSets
    networks: CodeSets | None = None  # None: filled with empty sets
    language: CodeSets | None = None  # None: filled with empty sets
    content_ids: tuple[str, ...] | None = None
    screened: np.ndarray | None = None  # bool; None: filled with True

    def __post_init__(self) -> None:
        n = len(self.approved)
        for name in ("networks", "language"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, CodeSets.empty(n))
        if self.screened is None:
            object.__setattr__(self, "screened", np.ones(n, dtype=bool))
        if self.content_ids is not None:
            object.__setattr__(self, "content_ids", tuple(map(str, self.content_ids)))

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
        networks: Sequence[Iterable[str] | None] | None = None,
        language: Sequence[str | None] | None = None,
        content_ids: Sequence[str] | None = None,
        screened: Sequence[bool] | None = None,
    ) -> Catalogue:
        """Build from plain lists aligned with internal ids (``None`` lists = no value)."""
        n = len(approval_status)
        status = [normal_code(s) for s in approval_status]
        unknown = sorted(set(status) - set(APPROVAL_STATUSES))
        if unknown:
            raise ValueError(f"approval_status: unknown values {unknown}")
        _check_networks(networks or ())
        types = CodeSets.from_lists([[t] for t in content_type])
        languages = None if language is None else [[v] if v else [] for v in language]
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
            networks=CodeSets.from_lists(networks or [None] * n),
            language=CodeSets.from_lists(languages or [None] * n),
            content_ids=None if content_ids is None else tuple(map(str, content_ids)),
            screened=None if screened is None else np.asarray(screened, dtype=bool),
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
            "networks": len(self.networks),  # type: ignore[arg-type]
            "language": len(self.language),  # type: ignore[arg-type]
            "screened": len(self.screened),  # type: ignore[arg-type]
        }
        if self.content_ids is not None:
            parts["content_ids"] = len(self.content_ids)
            if len(set(self.content_ids)) != len(self.content_ids):
                raise ValueError("content_ids: ids are not unique")
        wrong = {name: size for name, size in parts.items() if size != n}
        if wrong:
            raise ValueError(f"catalogue fields not of length {n}: {wrong}")

    @cached_property
    def topic_lists(self) -> list[list[int]]:
        """Topic codes per item as Python lists (for per-item loops; computed once)."""
        flat = self.topics.codes.tolist()
        bounds = self.topics.indptr.tolist()
        return [flat[a:b] for a, b in pairwise(bounds)]

    @cached_property
    def type_list(self) -> list[int]:
        """Content type code per item as a Python list (computed once)."""
        return self.content_type.tolist()

    def live(self, as_of: float) -> np.ndarray:
        """Bool per item: approved, passed by screening, published at or before ``as_of``
        and not expired."""
        published = self.published_at <= as_of  # NaN (never published) is False
        return self.approved & self.screened & published & ~(self.expires_at <= as_of)


def _check_networks(lists: Iterable[Iterable[str] | None]) -> None:
    unknown = {normal_code(v) for values in lists for v in values or ()} - set(NETWORKS)
    if unknown:
        raise ValueError(f"networks: unknown values {sorted(unknown)}; known: {list(NETWORKS)}")


def _times(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)


@dataclass(frozen=True)
class Employee:
    """What the feed knows of an employee (``None`` / empty = unknown).

    ``region``, ``department`` and ``languages`` decide eligibility; ``interests`` (topic
    tags) let a fresh item's reason name a topic they follow; ``role`` is carried for
    callers and is not used by eligibility (the contract has no per-role restriction).
    """

    region: str | None = None
    department: str | None = None
    languages: tuple[str, ...] = ()
    role: str | None = None
    interests: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("languages", "interests"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"Employee.{name} must be a sequence of codes, not a string")
            object.__setattr__(self, name, tuple(str(v) for v in value or ()))
        for name in ("region", "department", "role"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"Employee.{name} must be a string or None, got {value!r}")


@dataclass(frozen=True)
class FeedAudience:
    """Employees by id: their attributes, and the content each already shared or dismissed.

    ``shared`` / ``dismissed`` map an employee id to content ids (external); the feed never
    offers those again to that employee.
    """

    employees: Mapping[str, Employee]
    shared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dismissed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_lists(
        cls,
        employee_ids: Sequence[str],
        regions: Sequence[str | None],
        departments: Sequence[str | None],
        languages: Sequence[Iterable[str] | None],
        *,
        roles: Sequence[str | None] | None = None,
        interests: Sequence[Iterable[str] | None] | None = None,
        shared: Mapping[str, Iterable[str]] | None = None,
        dismissed: Mapping[str, Iterable[str]] | None = None,
    ) -> FeedAudience:
        n = len(employee_ids)
        rows = zip(
            employee_ids,
            regions,
            departments,
            languages,
            roles or [None] * n,
            interests or [None] * n,
            strict=True,
        )
        employees = {
            str(e): Employee(r, d, tuple(ls or ()), role, tuple(tags or ()))
            for e, r, d, ls, role, tags in rows
        }
        return cls(employees, _id_lists(shared), _id_lists(dismissed))

    def __contains__(self, employee_id: object) -> bool:
        return str(employee_id) in self.employees

    def __len__(self) -> int:
        return len(self.employees)

    def __getitem__(self, employee_id: str) -> Employee:
        """The employee's attributes; an unknown employee has none (sees unrestricted content)."""
        return self.employees.get(str(employee_id), Employee())

    def shared_by(self, employee_id: str) -> tuple[str, ...]:
        return self.shared.get(str(employee_id), ())

    def dismissed_by(self, employee_id: str) -> tuple[str, ...]:
        return self.dismissed.get(str(employee_id), ())


def _id_lists(lists: Mapping[str, Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    return {str(k): tuple(dict.fromkeys(map(str, v))) for k, v in (lists or {}).items()}
