"""Typed contract frames as database parameters, per driver."""

from __future__ import annotations

import json

import pandas as pd

from features.data.contract import Kind, TableSpec

# SQLAlchemy's storage formats for SQLite, so values written here read back as usual.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


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
