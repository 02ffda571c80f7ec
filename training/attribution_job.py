"""Attributing conversions to shares: the facade over ``features.click_paths`` and
``recsys.attribution`` that the CLI, the service and the analytics read.

:func:`attribute` reads the paths of the conversions in a period, fits the chosen model on
them (data-driven models learn from converting and non-converting paths; their *channel*
is the touch attribute they learn on) and returns each touch's credit. The result rolls
credit up to shares, advocates, content, networks, departments and content types, in
conversions and in value per currency. :func:`save_credits` stores a run's credit per
(conversion, share) for program analytics (``features.program``).

Privacy: rows of the ``advocate`` and ``share`` roll-ups never name an advocate who opted
out (their credit stays in the totals); ``department`` rows with fewer than
``min_group_size`` credited advocates are suppressed (key kept, figures withheld).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.click_paths import (
    ATTRIBUTES,
    ClickPaths,
    click_data_fingerprint,
    read_click_paths,
)
from features.data import schema
from features.data.schema import CONTRACT_TABLES
from features.data.store import Store
from features.data.times import naive_utc, utc
from features.program.request import (
    DEFAULT_ATTRIBUTION_CHANNEL,
    DEFAULT_ATTRIBUTION_MODEL,
    EARLIEST,
    LATEST,
)
from recsys.attribution import (
    MODELS,
    InvalidParameterError,
    TouchPaths,
    make_model,
    roll_up,
)
from recsys.errors import FieldError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = DEFAULT_ATTRIBUTION_MODEL
DEFAULT_CHANNEL = DEFAULT_ATTRIBUTION_CHANNEL
DEFAULT_LOOKBACK_DAYS = 30.0
DEFAULT_MIN_GROUP_SIZE = 5


class AttributionRequestError(FieldError):
    """A request field that cannot be used; ``field`` names it."""


@dataclass(frozen=True)
class AttributionRequest:
    """Which conversions to attribute and how (``start``/``end`` None: the data's span)."""

    model: str = DEFAULT_MODEL
    start: datetime | None = None
    end: datetime | None = None
    lookback_days: float = DEFAULT_LOOKBACK_DAYS
    channel: str = DEFAULT_CHANNEL
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise AttributionRequestError("model", f"unknown {self.model!r}; one of {_names()}")
        if self.channel not in ATTRIBUTES:
            known = ", ".join(ATTRIBUTES)
            raise AttributionRequestError("channel", f"unknown {self.channel!r}; one of {known}")
        if not 0 < self.lookback_days <= 365:
            raise AttributionRequestError("lookback_days", "must be in (0, 365]")
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment is not None and not EARLIEST <= naive_utc(moment) <= LATEST:
                raise AttributionRequestError(
                    name, f"must lie between {EARLIEST:%Y} and {LATEST:%Y}"
                )
        if self.start is not None and self.end is not None and utc(self.end) <= utc(self.start):
            raise AttributionRequestError("end", "must be later than start")


@dataclass(frozen=True)
class Attribution:
    """One model's credit for every touch of the period's paths."""

    request: AttributionRequest
    start: datetime
    end: datetime
    paths: ClickPaths
    touches: TouchPaths  # the model's input: ``paths`` with each touch's channel code
    credit: np.ndarray  # float64 per touch; a converting path's touches sum to 1
    seconds: float
    fingerprint: str  # the clicks and conversions it read (click_data_fingerprint, before)

    def roll_up(
        self,
        attribute: str,
        *,
        hidden: frozenset[str] = frozenset(),
        min_group_size: int | None = None,
    ) -> list[dict[str, object]]:
        """Credit per ``attribute`` label, most conversions first.

        Rows touched by a ``hidden`` advocate (an advocate row, or a share of theirs) are
        left out, their credit stays in :meth:`totals`; with ``min_group_size``, a row with
        fewer credited advocates is suppressed.
        """
        codes = self.paths.touch_codes(attribute)
        labels = self.paths.attributes[attribute].labels
        conversions = roll_up(self.touches, self.credit, codes, n_keys=len(labels)).conversions
        values = self._value_by(codes, len(labels))
        advocates = self._advocates_by(codes, len(labels)) if min_group_size else None
        shown = self._not_by(hidden, codes, len(labels))
        rows = []
        for code in np.flatnonzero((conversions > 0) & shown):
            row: dict[str, object] = {attribute: str(labels[code])}
            if advocates is not None and advocates[code] < min_group_size:
                row.update(conversions=None, value=None, suppressed=True)
            else:
                value = {c: round(float(v[code]), 2) for c, v in values.items() if v[code]}
                row.update(conversions=round(float(conversions[code]), 4), value=value)
            rows.append(row)
        rows.sort(key=lambda r: -(r["conversions"] or -1.0))  # type: ignore[operator]
        return rows

    def totals(self) -> dict[str, object]:
        converting = self.paths.converted
        value: dict[str, float] = {}
        for currency in sorted({c for c in self.paths.currency[converting] if isinstance(c, str)}):
            chosen = converting & (self.paths.currency == currency)
            value[currency] = round(float(np.nansum(self.paths.value[chosen])), 2)
        return {
            "conversions": self.paths.conversions,
            "attributed": self.paths.n_converting,
            "unattributed": self.paths.unattributed,
            "attributed_value": value,
            "touches": int(np.diff(self.paths.indptr)[converting].sum()),
            "non_converting_paths": int((~converting).sum()),
        }

    def share_credits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(converting path, share code, credit): credit summed per conversion and share."""
        path = self.paths.path_of_touch()
        share = self.paths.touch_codes("share")
        on = self.paths.converted[path] & (self.credit > 0)
        n_shares = len(self.paths.attributes["share"].labels)
        key = path[on].astype(np.int64) * n_shares + share[on]
        unique, inverse = np.unique(key, return_inverse=True)
        credit = np.bincount(inverse, weights=self.credit[on], minlength=len(unique))
        return unique // n_shares, unique % n_shares, credit

    def _value_by(self, codes: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """Credited value per code, per currency."""
        found = {}
        for currency in sorted({c for c in self.paths.currency if isinstance(c, str)}):
            value = np.where(self.paths.currency == currency, self.paths.value, 0.0)
            rolled = roll_up(self.touches, self.credit, codes, np.nan_to_num(value), n_keys=n)
            found[str(currency)] = rolled.value
        return found

    def _not_by(self, hidden: frozenset[str], codes: np.ndarray, n: int) -> np.ndarray:
        """Per code: True unless one of its touches is a ``hidden`` advocate's."""
        advocates = self.paths.attributes["advocate"]
        hidden_codes = np.flatnonzero(np.isin(advocates.labels, list(hidden)))
        by_hidden = np.isin(self.paths.touch_codes("advocate"), hidden_codes)
        shown = np.ones(n, dtype=bool)
        shown[codes[by_hidden]] = False
        return shown

    def _advocates_by(self, codes: np.ndarray, n: int) -> np.ndarray:
        credited = self.credit > 0
        advocate = self.paths.touch_codes("advocate")[credited]
        width = int(advocate.max(initial=0)) + 1
        pairs = np.unique(codes[credited].astype(np.int64) * width + advocate)
        return np.bincount(pairs // width, minlength=n)

    def to_dict(
        self,
        by: tuple[str, ...],
        *,
        top: int | None,
        hidden: frozenset[str],
        min_group_size: int,
    ) -> dict[str, object]:
        """JSON-ready: the request, totals and the top rows of each roll-up."""
        breakdowns = {}
        for attribute in by:
            rows = self.roll_up(
                attribute,
                hidden=hidden if attribute in ("advocate", "share") else frozenset(),
                min_group_size=min_group_size if attribute == "department" else None,
            )
            breakdowns[attribute] = rows[:top] if top else rows
        return {
            "model": self.request.model,
            "channel": self.request.channel,
            "params": dict(self.request.params),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "lookback_days": self.request.lookback_days,
            "seconds": round(self.seconds, 3),
            "totals": self.totals(),
            "by": breakdowns,
        }


def attribute(store: Store, request: AttributionRequest) -> Attribution:
    """Fit ``request.model`` on the period's paths and credit every touch."""
    started = time.perf_counter()
    fingerprint = click_data_fingerprint(store)  # before reading: later data makes it stale
    start, end = _period(store, request)
    paths = read_click_paths(store, start, end, lookback=timedelta(days=request.lookback_days))
    touches = touch_paths(paths, request.channel)
    try:
        model = make_model(request.model, **dict(request.params))
    except InvalidParameterError as exc:
        raise AttributionRequestError(f"params.{exc.parameter}", str(exc)) from None
    credit = model.fit(touches).credit(touches) if paths.n_paths else np.zeros(0)
    seconds = time.perf_counter() - started
    logger.info("%s: %d conversions in %.2fs", request.model, paths.conversions, seconds)
    credit = np.asarray(credit, np.float64)
    return Attribution(request, start, end, paths, touches, credit, seconds, fingerprint)


def touch_paths(paths: ClickPaths, channel: str) -> TouchPaths:
    """The model input: the paths with each touch's ``channel`` code."""
    return TouchPaths(
        indptr=paths.indptr,
        channel=paths.touch_codes(channel),
        touch_time=paths.click_time[paths.touch].astype(np.float64),
        end_time=paths.end_time.astype(np.float64),
        converted=paths.converted,
        n_channels=max(len(paths.attributes[channel].labels), 1),
    )


def save_credits(store: Store, result: Attribution) -> int:
    """Store ``result``'s credit per (conversion, share) as its model's credits for the
    conversions of its period (replacing that model's earlier credits there) and record
    the run; returns the rows written."""
    paths = result.paths
    path, share, credit = result.share_credits()
    labels = paths.attributes["share"].labels
    converted_at = pd.to_datetime(paths.end_time[path], unit="s").to_pydatetime()
    value = paths.value[path] * credit
    rows = [
        {
            "model": result.request.model,
            "conversion_id": paths.conversion_id[p],
            "share_event_id": labels[s],
            "converted_at": at,
            "credit": float(c),
            "value": None if np.isnan(v) else float(v),
            "currency": paths.currency[p],
        }
        for p, s, c, at, v in zip(path, share, credit, converted_at, value, strict=True)
    ]
    credits, runs = schema.attribution_credits, schema.attribution_runs
    window = sa.and_(
        credits.c.model == result.request.model,
        credits.c.converted_at >= naive_utc(result.start),
        credits.c.converted_at < naive_utc(result.end),
    )
    with store.engine.begin() as conn:
        conn.execute(credits.delete().where(window))
        if rows:
            conn.execute(credits.insert(), rows)
        conn.execute(runs.delete().where(runs.c.model == result.request.model))
        conn.execute(runs.insert().values(_run_row(result)))
    logger.info("stored %d %s credits", len(rows), result.request.model)
    return len(rows)


def _run_row(result: Attribution) -> dict[str, object]:
    totals = result.totals()
    return {
        "model": result.request.model,
        "computed_at": naive_utc(datetime.now(UTC)),
        "lookback_days": result.request.lookback_days,
        "params": {"channel": result.request.channel, **dict(result.request.params)},
        "conversions": totals["conversions"],
        "unattributed": totals["unattributed"],
        "fingerprint": result.fingerprint,
    }


def current_credits(
    store: Store,
    model: str,
    *,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    channel: str = DEFAULT_CHANNEL,
) -> bool:
    """Make ``model``'s stored credits cover all conversions as the store holds them now.

    Recomputes (and stores) when the model has no run, or its run saw other data (the
    :func:`~features.click_paths.click_data_fingerprint`) or used another lookback or
    channel; returns True when it did.
    """
    request = AttributionRequest(model=model, lookback_days=lookback_days, channel=channel)
    runs = schema.attribution_runs
    with store.engine.connect() as conn:
        run = conn.execute(sa.select(runs).where(runs.c.model == model)).mappings().first()
    if run is not None and (
        run["fingerprint"] == click_data_fingerprint(store)
        and run["lookback_days"] == lookback_days
        and (run["params"] or {}).get("channel") == channel
    ):
        return False
    if store.count("conversions") == 0:
        return False
    save_credits(store, attribute(store, request))
    return True


def opted_out(store: Store) -> frozenset[str]:
    """Employee ids of the advocates who opted out."""
    advocates = CONTRACT_TABLES["advocates"]
    query = sa.select(advocates.c.employee_id).where(advocates.c.opted_out == sa.true())
    with store.engine.connect() as conn:
        return frozenset(conn.execute(query).scalars())


def _period(store: Store, request: AttributionRequest) -> tuple[datetime, datetime]:
    if request.start is not None and request.end is not None:
        return utc(request.start).to_pydatetime(), utc(request.end).to_pydatetime()
    first, last = store.time_range("conversions", "timestamp")
    now = datetime.now(UTC)
    start = request.start or (utc(first).to_pydatetime() if first else now - timedelta(days=90))
    end = request.end or (utc(last).to_pydatetime() + timedelta(seconds=1) if last else now)
    if utc(end) <= utc(start):
        raise AttributionRequestError("start", "lies after the last conversion")
    return utc(start).to_pydatetime(), utc(end).to_pydatetime()


def _names() -> str:
    return ", ".join(sorted(MODELS))
