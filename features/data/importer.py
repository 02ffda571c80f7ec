"""Importing chunks of contract tables into the store, validated row by row.

Valid rows are written batch by batch, each batch in one transaction; invalid rows are
reported with file, row, field and reason and never stop the valid rows around them.
References are checked against the store and against what this import already wrote.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.data import privacy
from features.data.contract import TABLES, TableSpec
from features.data.rows import unique_keys
from features.data.schema import CONTRACT_TABLES
from features.data.sources import (
    DEFAULT_CHUNK_ROWS,
    InputError,
    TableChunk,
    contract_files,
    read_chunks,
)
from features.data.store import Store
from features.data.validation import (
    Rejection,
    RejectionReason,
    ValidationContext,
    rejections_for,
    validate_chunk,
)
from recsys.progress import Progress, resolve

logger = logging.getLogger(__name__)

_REFERENCED = {"advocates": "advocate", "content": "content item", "share_events": "share event"}

#: Tables whose rows an opted-out advocate's data may not add (their audience and network).
OPT_OUT_TABLES = ("social_accounts", "org_edges")
_PERSON_MESSAGES = {
    RejectionReason.ERASED: "this employee was erased; re-enrol them to import their data",
    RejectionReason.OPTED_OUT: "this advocate opted out: their audience and ties are not stored",
}

EXIT_OK = 0
EXIT_ROWS_REJECTED = 3
EXIT_UNUSABLE_INPUT = 4


@dataclass
class ImportReport:
    """What an import stored and what it refused."""

    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    new_rows: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    omitted_rejections: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 all accepted, 3 some rows rejected, 4 some input unusable."""
        if self.errors:
            return EXIT_UNUSABLE_INPUT
        if sum(self.rejected.values()):
            return EXIT_ROWS_REJECTED
        return EXIT_OK

    def to_dict(self) -> dict[str, object]:
        tables = [t for t in TABLES if t in self.accepted or t in self.rejected]
        return {
            "accepted": {t: self.accepted[t] for t in tables},
            "rejected": {t: self.rejected[t] for t in tables},
            "new_rows": {t: self.new_rows.get(t, 0) for t in tables},
            "rejection_reasons": dict(sorted(self.reasons.items())),
            "rejections": [r.to_dict() for r in self.rejections],
            "omitted_rejections": self.omitted_rejections,
            "errors": list(self.errors),
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
        }


class Importer:
    """Validate and store streams of :class:`TableChunk`.

    Each stream is one input (a file, or a dataset adapter); an :class:`InputError`
    raised by a stream is recorded and the next stream is imported.
    """

    def __init__(
        self,
        store: Store,
        context: ValidationContext,
        *,
        max_rejections: int = 1000,
    ) -> None:
        self.store = store
        self.context = context
        self.max_rejections = max_rejections
        self._keys: dict[str, set[str]] = {}
        self._erased: set[str] | None = None  # hashes (features.data.privacy)
        self._opted_out: set[str] | None = None

    def run(
        self, streams: Iterable[Iterator[TableChunk]], progress: Progress | None = None
    ) -> ImportReport:
        """Import every stream; ``progress`` gets one stage per table run of a stream
        ("import <table>", rows read)."""
        report = ImportReport()
        started = time.perf_counter()
        before: dict[str, int] = {}
        for stream in streams:
            try:
                self._import_stream(stream, report, before, resolve(progress))
            except InputError as exc:
                logger.error("%s", exc)
                report.errors.append(str(exc))
        report.new_rows = {t: self.store.count(t) - n for t, n in before.items()}
        report.seconds = time.perf_counter() - started
        return report

    def _import_stream(
        self,
        stream: Iterator[TableChunk],
        report: ImportReport,
        before: dict[str, int],
        progress: Progress,
    ) -> None:
        """Import the chunks of ``stream``, one progress stage per run of one table."""
        with ExitStack() as stages:
            table, step = None, None
            for chunk in stream:
                if chunk.table != table:
                    stages.close()
                    table = chunk.table
                    step = stages.enter_context(progress.stage(f"import {table}", unit="rows"))
                if chunk.table not in before:
                    before[chunk.table] = self.store.count(chunk.table)
                self._import_chunk(chunk, report)
                step.advance(len(chunk.frame))  # type: ignore[union-attr]

    def _import_chunk(self, chunk: TableChunk, report: ImportReport) -> None:
        spec = TABLES[chunk.table]
        validated = validate_chunk(
            spec, chunk.frame, file=chunk.file, first_row=chunk.first_row, context=self.context
        )
        frame, rejections = self._check_references(spec, validated.frame, chunk.file)
        rejections = validated.rejections + rejections
        report.accepted[spec.name] += len(frame)
        report.rejected[spec.name] += len(chunk.frame) - len(frame)
        frame = unique_keys(spec, frame)
        self.store.write_frame(spec.name, frame)
        self._remember_keys(spec, frame)
        self._collect(report, rejections)

    def _collect(self, report: ImportReport, rejections: list[Rejection]) -> None:
        report.reasons.update(str(r.reason) for r in rejections)
        room = max(self.max_rejections - len(report.rejections), 0)
        report.rejections.extend(rejections[:room])
        report.omitted_rejections += max(len(rejections) - room, 0)

    def _check_references(
        self, spec: TableSpec, frame: pd.DataFrame, file: str
    ) -> tuple[pd.DataFrame, list[Rejection]]:
        """Rows naming an erased employee (reason ``erased``), audience snapshots and edges
        of opted-out advocates (``opted_out``), then unknown references are rejected; an
        erased content author is cleared (the item is the company's)."""
        frame = self._clear_erased_authors(spec, frame)
        bad = np.zeros(len(frame), dtype=bool)
        rejections = self._reject_people(spec, frame, file, bad)
        for fk in spec.foreign_keys:
            known = self._key_set(fk.target)
            unknown = ~frame[fk.field].isin(known).to_numpy(dtype=bool) & ~bad
            if unknown.any():
                what = _REFERENCED[fk.target]
                message = f"no {what} with this id in the store or this import"
                rejections += rejections_for(
                    spec,
                    frame,
                    unknown,
                    field=fk.field,
                    reason=RejectionReason.UNKNOWN_FOREIGN_KEY,
                    message=message,
                    file=file,
                )
                bad |= unknown
        return frame.loc[~bad], rejections

    def _reject_people(
        self, spec: TableSpec, frame: pd.DataFrame, file: str, bad: np.ndarray
    ) -> list[Rejection]:
        """Mark (in ``bad``) and report rows of erased or (where it applies) opted-out people."""
        rejections: list[Rejection] = []
        checks = [(RejectionReason.ERASED, self._erased_in)]
        if spec.name in OPT_OUT_TABLES:
            checks.append((RejectionReason.OPTED_OUT, self._opted_out_in))
        for reason, found_in in checks:
            for column in privacy.IMPORT_COLUMNS.get(spec.name, ()):
                found = found_in(frame[column])
                if not found:
                    continue
                hit = frame[column].isin(found).to_numpy(dtype=bool) & ~bad
                message = _PERSON_MESSAGES[reason]
                rejections += rejections_for(
                    spec, frame, hit, field=column, reason=reason, message=message, file=file
                )
                bad |= hit
        return rejections

    def _erased_in(self, values: pd.Series) -> set[str]:
        if self._erased is None:
            self._erased = privacy.erased_hashes(self.store)
        if not self._erased:  # the usual case: no work per chunk
            return set()
        return privacy.erased_among(values.unique(), self._erased)

    def _opted_out_in(self, values: pd.Series) -> set[str]:
        if self._opted_out is None:
            flag = CONTRACT_TABLES["advocates"].c.opted_out.is_(True)
            self._opted_out = self.store.key_set("advocates", "employee_id", where=flag)
        return self._opted_out.intersection(values.unique())

    def _clear_erased_authors(self, spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
        column = privacy.CLEARED_COLUMNS.get(spec.name)
        if column is None or column not in frame:
            return frame
        erased = self._erased_in(frame[column].dropna())
        if not erased:
            return frame
        hit = frame[column].isin(erased)
        logger.warning("%d %s row(s) name an erased %s: cleared", hit.sum(), spec.name, column)
        frame = frame.copy()
        frame.loc[hit, column] = None
        return frame

    def _key_set(self, target: str) -> set[str]:
        if target not in self._keys:
            if target == "share_events":
                self._keys[target] = self.store.share_event_ids()
            else:
                self._keys[target] = self.store.key_set(target, TABLES[target].key[0])
        return self._keys[target]

    def _remember_keys(self, spec: TableSpec, frame: pd.DataFrame) -> None:
        if spec.name == "advocates" and self._opted_out is not None and "opted_out" in frame:
            flags = frame["opted_out"].fillna(False).astype(bool)
            self._opted_out.difference_update(frame.loc[~flags, "employee_id"])
            self._opted_out.update(frame.loc[flags, "employee_id"])
        if spec.name in ("advocates", "content") and spec.name in self._keys:
            self._keys[spec.name].update(frame[spec.key[0]])
        if spec.name == "interactions" and "share_events" in self._keys:
            self._keys["share_events"].update(frame.loc[frame["event_type"] == "share", "event_id"])


FORMATS = ("contract", "deskdrop", "movielens")


def open_streams(
    path: Path, fmt: str = "contract", chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> list[Iterator[TableChunk]]:
    """The import streams of ``path`` read as ``fmt``; raises InputError if unusable."""
    if fmt == "contract":
        return [read_chunks(file, table, chunk_rows) for table, file in contract_files(path)]
    if fmt == "deskdrop":
        from features.data.deskdrop import deskdrop_streams

        return deskdrop_streams(path)
    if fmt == "movielens":
        from features.data.movielens import movielens_streams

        return movielens_streams(path)
    raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def import_path(
    store: Store,
    path: Path,
    *,
    fmt: str = "contract",
    context: ValidationContext,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every table found at ``path``; unusable input is reported, not raised."""
    try:
        streams = open_streams(path, fmt, chunk_rows)
    except InputError as exc:
        return ImportReport(errors=[str(exc)])
    return Importer(store, context).run(streams, progress)
