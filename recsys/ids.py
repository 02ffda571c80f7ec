"""Mapping external ids (strings at the edges) to internal row numbers (ints inside)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np


class UnknownIdError(KeyError):
    """An external id that an :class:`IdMap` does not hold."""

    def __init__(self, kind: str, ids: Sequence[str]) -> None:
        shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        super().__init__(f"unknown {kind} id(s): {shown}")
        self.kind = kind
        self.ids = list(ids)


@dataclass(frozen=True)
class IdMap:
    """A frozen bijection between external ids and 0..n-1, in the order given."""

    external: np.ndarray  # object array of str
    kind: str = "id"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        external = np.asarray(self.external, dtype=object)
        object.__setattr__(self, "external", external)
        index = {str(value): i for i, value in enumerate(external)}
        if len(index) != len(external):
            raise ValueError(f"{self.kind} ids are not unique")
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_ids(cls, ids: Iterable[object], kind: str = "id") -> IdMap:
        """Map the distinct ids in first-seen order."""
        return cls(np.asarray(list(dict.fromkeys(str(i) for i in ids)), dtype=object), kind)

    def __len__(self) -> int:
        return len(self.external)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def to_internal(self, ids: Iterable[object], *, missing: str = "raise") -> np.ndarray:
        """Internal indices of ``ids``; unknown ids raise, or are -1 if ``missing="ignore"``."""
        if isinstance(ids, Sequence | np.ndarray) and not isinstance(ids, str):
            try:  # fast path: every id a known str (what serving sends on every request)
                return np.fromiter(map(self._index.__getitem__, ids), np.int64, count=len(ids))
            except (KeyError, TypeError):
                pass
        names = [str(i) for i in ids]
        values = [self._index.get(i, -1) for i in names]
        internal = np.asarray(values, dtype=np.int64)
        if missing == "raise" and (internal < 0).any():
            unknown = [i for i, v in zip(names, values, strict=True) if v < 0]
            raise UnknownIdError(self.kind, unknown)
        return internal

    def to_external(self, internal: np.ndarray | Sequence[int]) -> np.ndarray:
        return self.external[np.asarray(internal, dtype=np.int64)]

    def add(self, ids: Iterable[object]) -> IdMap:
        """A new map with the unseen ``ids`` appended (existing indices unchanged)."""
        new = [str(i) for i in dict.fromkeys(str(i) for i in ids) if str(i) not in self._index]
        if not new:
            return self
        return IdMap(np.concatenate([self.external, np.asarray(new, dtype=object)]), self.kind)
