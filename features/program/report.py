"""Program reports: the figures of an advocacy programme per group, with totals and change.

:func:`program_report` answers a :class:`~features.program.request.ReportRequest` from the
store's rollups (see :mod:`features.program.rollups`) with a few grouped SQL queries per
period (:mod:`features.program.aggregates`); the figures are defined in
:mod:`features.program.figures`.

Rows are the groups with activity in the period: a share, or a conversion credited to one
of the group's shares (no rows without a grouping). Each row holds its figures, the
previous period's figures for the same key (:mod:`features.program.periods`) and the
relative change of each figure. The totals row covers the whole period with the request's
filters and no grouping.

Privacy:

- Opted-out advocates never appear as individuals: rows grouped or filtered by
  ``advocate`` leave their activity out (their rows do not exist). Their activity counts in
  every other row and in the totals (unless the report is filtered by advocate).
- k-suppression (``min_group_size`` = k): a row of a grouping that does not name advocates
  whose group has fewer than k *active advocates* (distinct advocates with a share in the
  group in the period) keeps its key, is flagged ``suppressed`` and carries no figures;
  ``ProgramReport.suppressed`` counts such rows. Conversions credited in the period to
  shares made before it do not count towards k, so a group with conversions but no shares
  is suppressed. A row's previous figures are withheld (``previous_suppressed``) under the
  same rule. Filtered totals are a group too and are suppressed the same way; unfiltered
  totals (the programme) never are.
- Rows grouped or filtered by ``advocate`` are individual by design (managers review named
  advocates who did not opt out) and are not k-suppressed.

Order: by ``order_by`` (rows without the figure, then suppressed rows last; ties by key),
else by key; ``top`` keeps the first rows. With ``top`` on a grouping that is never
suppressed and a figure SQL can rank, the ranking runs in the database and only the kept
rows are computed in full (:mod:`features.program.breakdown`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from features.data.schema import attribution_runs
from features.data.store import Store
from features.program.breakdown import Breakdown, Row
from features.program.emv import EmvConfig
from features.program.figures import FIGURES, PER_CURRENCY, Figures, Value, changes
from features.program.request import ReportRequest, RequestError


@dataclass(frozen=True)
class AttributionRun:
    """The stored run of the report's attribution model (``attribution_runs``)."""

    model: str
    computed_at: datetime
    lookback_days: float
    conversions: int
    unattributed: int
    params: Mapping[str, object]

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "computed_at": self.computed_at.isoformat(),
            "lookback_days": self.lookback_days,
            "conversions": self.conversions,
            "unattributed": self.unattributed,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class ReportRow:
    """One group: its key, figures (None if suppressed), previous figures and change."""

    key: dict[str, object]
    suppressed: bool
    figures: Figures | None
    previous: Figures | None
    previous_suppressed: bool = False

    @property
    def change(self) -> dict[str, Value] | None:
        """The relative change of every figure (None without both periods' figures)."""
        if self.figures is None or self.previous is None:
            return None
        return changes(self.figures, self.previous)

    def to_dict(self) -> dict[str, object]:
        return {
            "key": {name: _plain(value) for name, value in self.key.items()},
            "suppressed": self.suppressed,
            "figures": None if self.figures is None else self.figures.to_dict(),
            "previous": None if self.previous is None else self.previous.to_dict(),
            "previous_suppressed": self.previous_suppressed,
            "change": self.change,
        }


@dataclass(frozen=True)
class ProgramReport:
    """The answer to a request: rows, totals, and what the figures rest on."""

    request: ReportRequest
    rows: tuple[ReportRow, ...]
    totals: ReportRow
    suppressed: int
    attribution: AttributionRun | None
    emv_rates_are_examples: bool
    emv_currencies: tuple[str, ...]
    unpriced_networks: tuple[str | None, ...]

    @property
    def previous_period(self) -> tuple[datetime, datetime]:
        """The period the previous figures cover."""
        length = self.request.end - self.request.start
        return self.request.start - length, self.request.start

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ISO dates, plain numbers, None for unknown figures."""
        request = self.request
        previous = self.previous_period
        return {
            "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
            "previous_period": {"start": previous[0].isoformat(), "end": previous[1].isoformat()},
            "group_by": list(request.group_by),
            "filters": dict(request.filters),
            "min_group_size": request.min_group_size,
            "attribution_model": request.attribution_model,
            "attribution": None if self.attribution is None else self.attribution.to_dict(),
            "emv": {
                "currencies": list(self.emv_currencies),
                "rates_are_examples": self.emv_rates_are_examples,
                "unpriced_networks": list(self.unpriced_networks),
            },
            "suppressed": self.suppressed,
            "rows": [row.to_dict() for row in self.rows],
            "totals": self.totals.to_dict(),
        }

    def to_csv(self) -> str:
        """One line per row then the totals (key columns empty); per-currency figures get a
        column per currency (``emv_USD``); ``previous_*`` and ``change_*`` follow the figures."""
        rows = [*self.rows, self.totals]
        return rows_to_csv(rows, self.request.group_by, emv_currencies=self.emv_currencies)


def program_report(store: Store, request: ReportRequest, emv: EmvConfig) -> ProgramReport:
    """The report ``request`` asks for, with EMV from ``emv``'s rates."""
    order_by = _order_figure(request, emv)
    with store.engine.connect() as conn:
        run = attribution_run(conn, request.attribution_model)
    breakdown = Breakdown(store, request, emv, None if run is None else run.model, order_by)
    rows, suppressed, totals = breakdown.run()
    names = request.dimensions + ((request.grain,) if request.grain else ())
    return ProgramReport(
        request=request,
        rows=tuple(_report_row(row, names) for row in rows),
        totals=_report_row(totals, ()),
        suppressed=suppressed,
        attribution=run,
        emv_rates_are_examples=emv.is_example,
        emv_currencies=emv.currencies,
        unpriced_networks=breakdown.unpriced_networks(),
    )


def attribution_run(conn: Connection, model: str) -> AttributionRun | None:
    """The stored run of ``model``, or None if it never ran."""
    table = attribution_runs
    row = conn.execute(sa.select(table).where(table.c.model == model)).mappings().first()
    if row is None:
        return None
    return AttributionRun(
        model=model,
        computed_at=row["computed_at"],
        lookback_days=float(row["lookback_days"]),
        conversions=int(row["conversions"]),
        unattributed=int(row["unattributed"]),
        params=row["params"] or {},
    )


def _order_figure(request: ReportRequest, emv: EmvConfig) -> str | None:
    """``order_by`` with EMV's currency made explicit; a RequestError if it cannot be."""
    order_by = request.order_by
    if order_by is None or order_by.partition(".")[0] != "emv":
        return order_by
    currencies = emv.currencies
    if order_by == "emv":
        if len(currencies) > 1:
            example = f"emv.{currencies[0]}"
            raise RequestError(
                "order_by", f"EMV is in {', '.join(currencies)}: name one ({example})"
            )
        return f"emv.{currencies[0]}"
    if order_by.partition(".")[2] not in currencies:
        raise RequestError("order_by", f"{order_by}: no network is priced in that currency")
    return order_by


def _report_row(row: Row, names: tuple[str, ...]) -> ReportRow:
    return ReportRow(
        key=dict(zip(names, row.key, strict=True)),
        suppressed=row.suppressed,
        figures=row.figures,
        previous=row.previous,
        previous_suppressed=row.previous_suppressed,
    )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def rows_to_csv(
    rows: Iterable[ReportRow], key_names: Iterable[str], *, emv_currencies: Iterable[str] = ()
) -> str:
    """Report rows as CSV text (see :meth:`ProgramReport.to_csv`)."""
    rows, key_names = list(rows), list(key_names)
    currencies = _currencies(rows)
    currencies["emv"] = sorted({*currencies["emv"], *emv_currencies})
    columns = [
        f"{name}_{currency}" if name in PER_CURRENCY else name
        for name in FIGURES
        for currency in (currencies[name] if name in PER_CURRENCY else [""])
    ]
    header = [*key_names, "suppressed", *columns]
    header += [f"previous_{c}" for c in columns] + [f"change_{c}" for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        cells = [_plain(row.key.get(name)) for name in key_names] + [str(row.suppressed).lower()]
        for values in (row.figures, row.previous):
            cells += _flat(None if values is None else values.to_dict(), currencies)
        cells += _flat(row.change, currencies)
        writer.writerow(["" if cell is None else cell for cell in cells])
    return out.getvalue()


def _currencies(rows: list[ReportRow]) -> dict[str, list[str]]:
    """The currencies each per-currency figure takes in ``rows``."""
    found: dict[str, set[str]] = {name: set() for name in PER_CURRENCY}
    for row in rows:
        for figures in (row.figures, row.previous):
            for name in PER_CURRENCY if figures else ():
                found[name] |= set(getattr(figures, name) or {})
    return {name: sorted(codes) for name, codes in found.items()}


def _flat(values: Mapping[str, object] | None, currencies: Mapping[str, list[str]]) -> list:
    """Figure values (or changes) in column order, one column per currency."""
    cells: list[object] = []
    for name in FIGURES:
        value = None if values is None else values[name]
        if name in PER_CURRENCY:
            cells += [None if value is None else value.get(c) for c in currencies[name]]
        else:
            cells.append(value)
    return cells
