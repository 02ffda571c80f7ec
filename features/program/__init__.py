"""Program metrics: what an advocacy programme earned, for the managers who must prove it pays.

Read by the ``advocacy analytics`` CLI and the service's ``/analytics`` endpoint::

    from features.program import ReportRequest, load_emv_config, program_report

    request = ReportRequest(start, end, group_by=("department", "week"))
    report = program_report(store, request, load_emv_config(path))
    report.to_dict(); report.to_csv()

Modules: :mod:`~features.program.request` (what is asked), :mod:`~features.program.figures`
(every figure's definition), :mod:`~features.program.periods` (buckets and the previous
period), :mod:`~features.program.aggregates` (the grouped SQL),
:mod:`~features.program.breakdown` (the queries of a report, two at a time, and the privacy
rules), :mod:`~features.program.report` (the report, its privacy rules, JSON and CSV),
:mod:`~features.program.emv` (earned media value and its config),
:mod:`~features.program.rollups` (the tables the SQL reads, and when to refresh them).
"""

from features.program.emv import (
    EXAMPLE_CONFIG,
    EmvConfig,
    EmvConfigError,
    NetworkRates,
    load_emv_config,
    parse_emv_config,
)
from features.program.figures import FIGURES, Figures
from features.program.periods import GRAINS
from features.program.report import (
    AttributionRun,
    ProgramReport,
    ReportRow,
    attribution_run,
    program_report,
    rows_to_csv,
)
from features.program.request import DIMENSIONS, ReportRequest, RequestError
from features.program.rollups import (
    TRIGGERS,
    RollupRefresh,
    UnknownTableError,
    add_shares,
    fill_empty_rollups,
    refresh_rollups,
)

__all__ = [
    "DIMENSIONS",
    "EXAMPLE_CONFIG",
    "FIGURES",
    "GRAINS",
    "TRIGGERS",
    "AttributionRun",
    "EmvConfig",
    "EmvConfigError",
    "Figures",
    "NetworkRates",
    "ProgramReport",
    "ReportRequest",
    "ReportRow",
    "RequestError",
    "RollupRefresh",
    "UnknownTableError",
    "add_shares",
    "attribution_run",
    "fill_empty_rollups",
    "load_emv_config",
    "parse_emv_config",
    "program_report",
    "refresh_rollups",
    "rows_to_csv",
]
