"""Typed contract frames as database parameters, per driver."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from features.data.contract import Conflict, Kind, TableSpec

# SQLAlchemy's storage formats for SQLite, so values written here read back as usual.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"

# Arrow types of the non-text kinds in COPY CSV (every other kind is text).
_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.BOOL: pa.bool_(),
    Kind.DATE: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("us"),
}


def unique_keys(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per key, as row-by-row upserts would leave it.

    The last row of a key for entity tables (each row updates the one before), the first
    for fact tables (later rows are ignored).
    """
    keep = "last" if spec.on_conflict is Conflict.UPDATE else "first"
    duplicated = frame.duplicated(subset=list(spec.key), keep=keep)
    return frame.loc[~duplicated.to_numpy()] if duplicated.any() else frame


def records(spec: TableSpec, frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts of plain Python values (naive UTC datetimes, None for missing)."""
    columns = {f.name: _python_values(frame[f.name], f.kind) for f in spec.fields}
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def sqlite_tuples(spec: TableSpec, frame: pd.DataFrame, order: list[str]) -> list[tuple]:
    """Rows as tuples in ``order``, already in the form sqlite3 stores them."""
    kinds = {f.name: f.kind for f in spec.fields}
    columns = [_sqlite_values(frame[name], kinds[name]) for name in order]
    return list(zip(*columns, strict=True))


def copy_csv(spec: TableSpec, frame: pd.DataFrame) -> pa.Buffer:
    """Rows as CSV for PostgreSQL's ``COPY ... (FORMAT csv)``, columns in contract order.

    No header. Text is always quoted and a missing value is an empty unquoted field, so
    NULL and an empty string stay apart. Floats are written shortest round-trip (NaN as
    NULL), timestamps as naive UTC with microseconds, dates as ISO, lists as JSON arrays.
    """
    columns = {f.name: _arrow_values(frame[f.name], f.kind) for f in spec.fields}
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.table(columns), sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


def _arrow_values(series: pd.Series, kind: Kind) -> pa.Array:
    if kind is Kind.TIMESTAMP:
        series = series.dt.tz_convert(None)
    elif kind is Kind.LIST:
        series = pd.Series([json.dumps(v) for v in series.tolist()], dtype=object)
    return pa.array(series, type=_ARROW_TYPES.get(kind, pa.string()), from_pandas=True)


def _python_values(series: pd.Series, kind: Kind) -> list[object]:
    if kind is Kind.TIMESTAMP:
        values = series.dt.tz_convert(None).dt.to_pydatetime()
        missing = series.isna().to_numpy()
        return [None if m else v for v, m in zip(values, missing, strict=True)]
    if kind in (Kind.INT, Kind.FLOAT, Kind.BOOL):
        return series.astype(object).where(series.notna(), None).tolist()
    return series.tolist()


def _sqlite_values(series: pd.Series, kind: Kind) -> list[object]:
    if kind is Kind.TIMESTAMP:
        text = series.dt.tz_convert(None).dt.strftime(SQLITE_DATETIME)
        return text.astype(object).where(series.notna(), None).tolist()
    if kind is Kind.DATE:
        return [None if v is None else v.isoformat() for v in series.tolist()]
    if kind is Kind.LIST:
        return [json.dumps(v) for v in series.tolist()]
    if kind is Kind.BOOL:
        return (
            series.astype(object)
            .where(series.notna(), None)
            .map(lambda v: v if v is None else int(v))
            .tolist()
        )
    return _python_values(series, kind)
