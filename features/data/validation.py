"""Row validation of contract tables, vectorised over a chunk of rows.

Every value is read as text first (CSV and Parquet alike), then parsed by the kind of
its contract field. A row with any problem is rejected whole and every problem found in
it is reported; the valid rows of the same chunk come out typed and ready to store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd

from features.data.contract import FieldSpec, Kind, TableSpec
from features.data.currencies import ISO_4217
from features.data.times import utc

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_VALUE_PREVIEW = 80


class RejectionReason(StrEnum):
    """Why a row was rejected."""

    MISSING_VALUE = "missing_value"
    BAD_TYPE = "bad_type"
    NOT_ALLOWED = "not_allowed"
    OUT_OF_RANGE = "out_of_range"
    UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    UNKNOWN_FOREIGN_KEY = "unknown_foreign_key"
    INCONSISTENT = "inconsistent"
    ERASED = "erased"  # an employee erased (features.data.privacy) and not re-enrolled
    OPTED_OUT = "opted_out"  # audience snapshots and edges of an opted-out advocate


@dataclass(frozen=True)
class Rejection:
    """One problem with one field of one row of an input file."""

    file: str
    table: str
    row: int  # 1-based data row in the file (the header is not counted)
    field: str
    reason: RejectionReason
    value: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "table": self.table,
            "row": self.row,
            "field": self.field,
            "reason": str(self.reason),
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ValidatedChunk:
    """The typed valid rows of a chunk and the problems of the others."""

    frame: pd.DataFrame  # valid rows only, contract columns, typed; index = file row number
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: int = 0


@dataclass(frozen=True)
class _Problem:
    mask: np.ndarray
    field: str
    reason: RejectionReason
    message: str


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs besides the rows: the clock and its tolerance."""

    now: datetime
    future_tolerance: timedelta = timedelta(hours=1)

    @property
    def latest_allowed(self) -> pd.Timestamp:
        return utc(self.now) + pd.Timedelta(self.future_tolerance)


def missing_columns(spec: TableSpec, columns: list[str]) -> list[str]:
    """Required fields without a default that a file does not have at all."""
    present = {c.strip().lower() for c in columns}
    return [name for name in spec.required_fields if name not in present]


def validate_chunk(
    spec: TableSpec,
    frame: pd.DataFrame,
    *,
    file: str,
    first_row: int,
    context: ValidationContext,
) -> ValidatedChunk:
    """Validate ``frame`` (rows ``first_row``, ``first_row + 1``, ... of ``file``)."""
    n = len(frame)
    frame = frame.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    text = {
        f.name: _text(frame[f.name], f.kind) if f.name in frame else _empty(n) for f in spec.fields
    }
    parsed: dict[str, pd.Series] = {}
    problems: list[_Problem] = []
    for field_spec in spec.fields:
        values, field_problems = _parse_field(field_spec, text[field_spec.name], context)
        parsed[field_spec.name] = values
        problems.extend(field_problems)
    problems.extend(_cross_field_problems(spec.name, parsed))
    typed = pd.DataFrame(parsed)
    typed.index = pd.RangeIndex(first_row, first_row + n)
    return _split(spec, typed, text, problems, file=file)


def rejections_for(
    spec: TableSpec,
    frame: pd.DataFrame,
    mask: np.ndarray,
    *,
    field: str,
    reason: RejectionReason,
    message: str,
    file: str,
) -> list[Rejection]:
    """Rejections for the rows of a typed ``frame`` selected by ``mask``."""
    values = frame[field].to_numpy()
    return [
        Rejection(file, spec.name, int(row), field, reason, _preview(value), message)
        for row, value in zip(frame.index[mask], values[mask], strict=True)
    ]


def _split(
    spec: TableSpec,
    typed: pd.DataFrame,
    text: dict[str, pd.Series],
    problems: list[_Problem],
    *,
    file: str,
) -> ValidatedChunk:
    bad = np.zeros(len(typed), dtype=bool)
    rejections: list[Rejection] = []
    rows = typed.index.to_numpy()
    for problem in problems:
        if not problem.mask.any():
            continue
        bad |= problem.mask
        raw = text[problem.field].to_numpy(dtype=object)
        rejections.extend(
            Rejection(
                file,
                spec.name,
                int(row),
                problem.field,
                problem.reason,
                _preview(value),
                problem.message,
            )
            for row, value in zip(rows[problem.mask], raw[problem.mask], strict=True)
        )
    rejections.sort(key=lambda r: r.row)
    return ValidatedChunk(typed.loc[~bad], rejections, int(bad.sum()))


def _preview(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= _VALUE_PREVIEW else text[: _VALUE_PREVIEW - 1] + "…"


def _empty(n: int) -> pd.Series:
    return pd.Series([pd.NA] * n, dtype="string")


def _text(series: pd.Series, kind: Kind) -> pd.Series:
    """Any column as stripped text; empty text is missing; lists (Parquet, frames) as JSON."""
    if kind is Kind.LIST and series.dtype == object:
        series = series.map(_list_as_json)
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _list_as_json(value: object) -> object:
    if isinstance(value, list | tuple | np.ndarray):
        return json.dumps([str(item) for item in value])
    return value


def _parse_field(
    spec: FieldSpec, text: pd.Series, context: ValidationContext
) -> tuple[pd.Series, list[_Problem]]:
    missing = text.isna().to_numpy()
    if spec.default is not None:
        text = text.fillna(
            str(spec.default).lower() if spec.kind is Kind.BOOL else str(spec.default)
        )
        missing = np.zeros(len(text), dtype=bool)
    problems = []
    if spec.required and missing.any():
        problems.append(
            _Problem(missing, spec.name, RejectionReason.MISSING_VALUE, "required value is missing")
        )
    values, invalid = _PARSERS[spec.kind](spec, text, context)
    problems.extend(p for p in invalid if p.mask.any())
    return values, problems


def _parse_string(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    values = text.str.lower() if spec.lowercase else text
    return values.astype(object).where(values.notna(), None), []


def _parse_code(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    values = text.str.lower()
    present = values.notna().to_numpy()
    problems = []
    if spec.kind is Kind.ENUM:
        allowed = values.isin(spec.choices).to_numpy(dtype=bool)
        problems.append(
            _Problem(
                present & ~allowed,
                spec.name,
                RejectionReason.NOT_ALLOWED,
                f"must be one of: {', '.join(spec.choices)}",
            )
        )
    else:
        bad = present & ~values.str.fullmatch(r"[a-z0-9][a-z0-9_\-./ ]{0,63}").fillna(
            False
        ).to_numpy(dtype=bool)
        problems.append(
            _Problem(
                bad,
                spec.name,
                RejectionReason.BAD_TYPE,
                "must be a short code (letters, digits, -_./)",
            )
        )
    return values.astype(object).where(values.notna(), None), problems


def _parse_currency(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    values = text.str.upper()
    present = values.notna().to_numpy()
    shaped = values.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy(dtype=bool)
    known = values.isin(ISO_4217).to_numpy(dtype=bool)
    problems = [
        _Problem(
            present & ~shaped,
            spec.name,
            RejectionReason.BAD_TYPE,
            "must be a three-letter ISO 4217 currency code, e.g. EUR",
        ),
        _Problem(
            present & shaped & ~known,
            spec.name,
            RejectionReason.NOT_ALLOWED,
            "is not an ISO 4217 currency code",
        ),
    ]
    return values.astype(object).where(values.notna(), None), problems


def _parse_number(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    numbers = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
    present = text.notna().to_numpy()
    finite = np.isfinite(numbers)
    problems = []
    if spec.kind is Kind.INT:
        is_int = finite & (np.mod(np.where(finite, numbers, 0), 1) == 0)
        problems.append(
            _Problem(present & ~is_int, spec.name, RejectionReason.BAD_TYPE, "must be an integer")
        )
        ok = is_int
    else:
        problems.append(
            _Problem(present & ~finite, spec.name, RejectionReason.BAD_TYPE, "must be a number")
        )
        ok = finite
    if spec.min_value is not None:
        low = numbers <= spec.min_value if spec.exclusive_min else numbers < spec.min_value
        relation = ">" if spec.exclusive_min else ">="
        problems.append(
            _Problem(
                present & ok & low,
                spec.name,
                RejectionReason.OUT_OF_RANGE,
                f"must be {relation} {spec.min_value:g}",
            )
        )
    if spec.kind is Kind.INT:
        values = pd.Series(np.where(ok, numbers, 0), index=text.index).astype("Int64")
        return values.mask(~ok), problems
    return pd.Series(np.where(ok, numbers, np.nan), index=text.index), problems


def _parse_bool(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    lower = text.str.lower()
    true = lower.isin(_TRUE).to_numpy(dtype=bool)
    false = lower.isin(_FALSE).to_numpy(dtype=bool)
    present = text.notna().to_numpy()
    problem = _Problem(
        present & ~(true | false), spec.name, RejectionReason.BAD_TYPE, "must be true or false"
    )
    values = pd.Series(true, index=text.index, dtype="boolean").mask(~(true | false))
    return values, [problem]


def _parse_timestamp(spec: FieldSpec, text: pd.Series, context: ValidationContext):
    stamps = _to_utc(text)
    present = text.notna().to_numpy()
    unparsable = present & stamps.isna().to_numpy()
    problems = [
        _Problem(
            unparsable,
            spec.name,
            RejectionReason.UNPARSABLE_TIMESTAMP,
            "must be an ISO 8601 time, e.g. 2026-03-01T09:30:00Z",
        )
    ]
    if spec.future_checked:
        future = (stamps > context.latest_allowed).fillna(False).to_numpy(dtype=bool)
        problems.append(
            _Problem(
                future,
                spec.name,
                RejectionReason.FUTURE_TIMESTAMP,
                f"lies in the future (later than {context.latest_allowed.isoformat()})",
            )
        )
    return stamps, problems


def _parse_date(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    stamps = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = text.notna().to_numpy() & stamps.isna().to_numpy()
    problem = _Problem(bad, spec.name, RejectionReason.BAD_TYPE, "must be a date YYYY-MM-DD")
    dates = stamps.dt.date.astype(object).where(stamps.notna(), None)
    return dates, [problem]


def _parse_list(spec: FieldSpec, text: pd.Series, _: ValidationContext):
    bad = np.zeros(len(text), dtype=bool)
    values: list[list[str]] = []
    for i, raw in enumerate(text.to_numpy(dtype=object)):
        items = _split_list(raw)
        if items is None:
            bad[i] = True
            items = []
        values.append([item.lower() for item in items] if spec.lowercase else items)
    problem = _Problem(
        bad, spec.name, RejectionReason.BAD_TYPE, "must be a;b;c or a JSON array of strings"
    )
    return pd.Series(values, index=text.index, dtype=object), [problem]


def _split_list(raw: object) -> list[str] | None:
    if raw is None or raw is pd.NA:
        return []
    text = str(raw)
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(items, list) or not all(isinstance(i, str | int) for i in items):
            return None
        return [str(i).strip() for i in items if str(i).strip()]
    return [part.strip() for part in text.split(";") if part.strip()]


def _to_utc(text: pd.Series) -> pd.Series:
    """ISO 8601 text to UTC timestamps; a value without a zone is taken as UTC."""
    stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    return stamps.astype("datetime64[us, UTC]")


def _cross_field_problems(table: str, parsed: dict[str, pd.Series]) -> list[_Problem]:
    checks = _CROSS_CHECKS.get(table, ())
    return [problem for check in checks if (problem := check(parsed)).mask.any()]


def _expiry_after_publication(parsed: dict[str, pd.Series]) -> _Problem:
    bad = (parsed["expires_at"] <= parsed["published_at"]).fillna(False).to_numpy(dtype=bool)
    return _Problem(
        bad, "expires_at", RejectionReason.INCONSISTENT, "must be later than published_at"
    )


def _share_has_network(parsed: dict[str, pd.Series]) -> _Problem:
    share = (parsed["event_type"] == "share").to_numpy(dtype=bool)
    no_network = parsed["network"].isna().to_numpy()
    return _Problem(
        share & no_network,
        "network",
        RejectionReason.MISSING_VALUE,
        "a share needs the network it was shared to",
    )


def _value_has_currency(parsed: dict[str, pd.Series]) -> _Problem:
    valued = parsed["value"].notna().to_numpy()
    no_currency = parsed["currency"].isna().to_numpy()
    return _Problem(
        valued & no_currency,
        "currency",
        RejectionReason.MISSING_VALUE,
        "a conversion value needs its ISO 4217 currency",
    )


def _no_self_edge(parsed: dict[str, pd.Series]) -> _Problem:
    same = (parsed["employee_a"] == parsed["employee_b"]).fillna(False).to_numpy(dtype=bool)
    return _Problem(
        same, "employee_b", RejectionReason.INCONSISTENT, "an edge needs two different employees"
    )


_CROSS_CHECKS: dict[str, tuple[Callable[[dict[str, pd.Series]], _Problem], ...]] = {
    "content": (_expiry_after_publication,),
    "interactions": (_share_has_network,),
    "org_edges": (_no_self_edge,),
    "conversions": (_value_has_currency,),
}

_PARSERS = {
    Kind.STRING: _parse_string,
    Kind.TOKEN: _parse_code,
    Kind.ENUM: _parse_code,
    Kind.INT: _parse_number,
    Kind.FLOAT: _parse_number,
    Kind.BOOL: _parse_bool,
    Kind.TIMESTAMP: _parse_timestamp,
    Kind.DATE: _parse_date,
    Kind.LIST: _parse_list,
    Kind.CURRENCY: _parse_currency,
}
