"""Reading input files as a stream of chunks of one contract table each.

CSV (optionally gzip/bz2/zip/xz compressed) and Parquet files are read in chunks of a
bounded number of rows, so a file of millions of rows never sits in memory whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from features.data.contract import TABLE_ORDER, TABLES
from features.data.validation import missing_columns

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")


class InputError(Exception):
    """Input that cannot be used at all: a missing file, an unknown format, no header."""


@dataclass(frozen=True)
class TableChunk:
    """Consecutive rows of one table from one file; ``first_row`` is 1-based."""

    table: str
    frame: pd.DataFrame
    file: str
    first_row: int


def file_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def table_of(path: Path) -> str:
    """The contract table a file holds, from its name (``interactions.csv.gz`` ...)."""
    stem = path.name[: -len(file_suffix(path))] if file_suffix(path) else path.name
    if stem.lower() not in TABLES:
        raise InputError(
            f"{path}: cannot tell which table this file holds; name it after one of"
            f" {', '.join(TABLE_ORDER)} (e.g. interactions.csv)"
        )
    return stem.lower()


def contract_files(path: Path) -> list[tuple[str, Path]]:
    """(table, file) pairs under ``path`` (a file or a folder), in dependency order."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        return [(table_of(path), path)]
    found: dict[str, Path] = {}
    for candidate in sorted(path.iterdir()):
        if (
            not candidate.is_file()
            or file_suffix(candidate) not in _CSV_SUFFIXES + _PARQUET_SUFFIXES
        ):
            continue
        try:
            table = table_of(candidate)
        except InputError:
            logger.info("skipping %s: not a contract table file", candidate)
            continue
        if table in found:
            raise InputError(
                f"{path}: two files for table {table}: {found[table].name}, {candidate.name}"
            )
        found[table] = candidate
    if not found:
        raise InputError(
            f"{path}: no contract table files found (expected files named like advocates.csv,"
            " content.parquet, interactions.csv.gz)"
        )
    return [(table, found[table]) for table in TABLE_ORDER if table in found]


def read_chunks(
    path: Path, table: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[TableChunk]:
    """Stream ``path`` as chunks of ``table``; raises InputError if it cannot be read."""
    suffix = file_suffix(path)
    if suffix in _PARQUET_SUFFIXES:
        frames = _parquet_frames(path, chunk_rows)
    elif suffix in _CSV_SUFFIXES:
        frames = _csv_frames(path, chunk_rows, sep="\t" if suffix.startswith(".tsv") else ",")
    else:
        raise InputError(f"{path}: unsupported file type {suffix!r} (use CSV or Parquet)")
    first_row = 1
    checked = False
    for frame in frames:
        if not checked:
            _check_columns(path, table, list(frame.columns))
            checked = True
        yield TableChunk(table, frame, str(path), first_row)
        first_row += len(frame)


def _check_columns(path: Path, table: str, columns: list[str]) -> None:
    absent = missing_columns(TABLES[table], columns)
    if absent:
        raise InputError(f"{path}: table {table} needs column(s) {', '.join(absent)}")
    unknown = sorted({c.strip().lower() for c in columns} - set(TABLES[table].field_names))
    if unknown:
        logger.warning("%s: ignoring column(s) not in the contract: %s", path, ", ".join(unknown))


def _csv_frames(path: Path, chunk_rows: int, sep: str) -> Iterator[pd.DataFrame]:
    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            compression="infer",
            encoding="utf-8",
        )
        yield from reader
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc


def _parquet_frames(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from exc
