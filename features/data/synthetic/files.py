"""Writing a synthetic organisation as contract text in csv or parquet files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.data.contract import TABLE_ORDER, TABLES, Kind
from features.data.synthetic.config import SyntheticOrg
from recsys.progress import Progress, resolve

logger = logging.getLogger(__name__)


def write(
    org: SyntheticOrg,
    out_dir: Path,
    fmt: Literal["csv", "parquet"] = "csv",
    progress: Progress | None = None,
) -> list[Path]:
    """Write each contract table and the ground truth as ``fmt``; return the paths.
    ``progress`` gets one stage, "write tables", advanced by each table's rows.

    The ground truth goes to ``ground_truth_influencers``, ``ground_truth_attribution``,
    ``ground_truth_conversions`` and, with planted violations, ``ground_truth_screening``,
    with planted time-of-week effects ``ground_truth_slots`` (names that are no contract
    table's, so importing the folder skips them; see ``SyntheticOrg``). Values are written as
    contract text (ISO 8601 UTC timestamps, ``YYYY-MM-DD`` dates, ``true``/``false``, ``a;b``
    lists, missing = empty) in both formats; parquet files hold the same strings. Output
    depends only on ``org``.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        f"{name}.{fmt}": (org.tables[name].loc[:, list(TABLES[name].field_names)], kinds)
        for name in TABLE_ORDER
        if name in org.tables
        for kinds in [[TABLES[name].field(c).kind for c in TABLES[name].field_names]]
    }
    for name, gt in (
        ("influencers", org.ground_truth),
        ("attribution", org.attribution_truth),
        ("conversions", org.conversion_truth),
        ("screening", org.screening_truth),
        ("slots", org.slot_truth),
    ):
        if name in ("screening", "slots") and not len(gt):
            continue  # only organisations with planted violations / effects have the file
        frames[f"ground_truth_{name}.{fmt}"] = (gt, [_infer_kind(gt[c]) for c in gt.columns])
    paths = []
    total = sum(len(frame) for frame, _ in frames.values())
    with resolve(progress).stage("write tables", total, "rows") as step:
        for file, (frame, kinds) in frames.items():
            paths.append(_write_frame(frame, kinds, out_dir / file, fmt))
            step.advance(len(frame))
    logger.info("wrote %d files to %s", len(paths), out_dir)
    return paths


def _infer_kind(column: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(column):
        return Kind.BOOL
    if pd.api.types.is_integer_dtype(column):
        return Kind.INT
    return Kind.FLOAT if pd.api.types.is_float_dtype(column) else Kind.STRING


def _format(column: pd.Series, kind: Kind) -> pa.Array:
    """Contract text of one column as an Arrow string array (null = missing)."""
    if kind is Kind.LIST:
        joined = [";".join(v) if isinstance(v, list | tuple) and len(v) else None for v in column]
        return pa.array(joined, pa.string())
    if kind in (Kind.TIMESTAMP, Kind.DATE):
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert(None)  # naive UTC
        arr = pa.array(column.to_numpy().astype("datetime64[s]"), from_pandas=True)
        pattern = "%Y-%m-%dT%H:%M:%SZ" if kind is Kind.TIMESTAMP else "%Y-%m-%d"
        return pc.strftime(arr, format=pattern)
    arr = pa.array(column.array, from_pandas=True)
    if kind is Kind.BOOL:
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string())


def _write_frame(frame: pd.DataFrame, kinds: list[Kind], path: Path, fmt: str) -> Path:
    """Write in chunks of rows so large tables never exist as one block of strings."""
    schema = pa.schema([(c, pa.string()) for c in frame.columns])
    chunk = 500_000
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else None
    try:
        for lo in range(0, max(len(frame), 1), chunk):
            part = frame.iloc[lo : lo + chunk]
            cols = [_format(part[c], k) for c, k in zip(frame.columns, kinds, strict=True)]
            table = pa.Table.from_arrays(cols, schema=schema)
            if writer is not None:
                writer.write_table(table)
            else:
                table.to_pandas().to_csv(
                    path,
                    mode="w" if lo == 0 else "a",
                    header=lo == 0,
                    index=False,
                    lineterminator="\n",
                )
    finally:
        if writer is not None:
            writer.close()
    return path
