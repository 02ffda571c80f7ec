"""recsys.times and features.data.times on tiny literal values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from features.data import times as pdtimes
from recsys import times
from recsys.matrix import unit_rows
from recsys.models.decayed import Decayed

PLUS2 = timezone(timedelta(hours=2))


def test_units() -> None:
    assert times.HOUR == 3600.0 and times.DAY == 86_400.0
    assert isinstance(times.DAY, float) and isinstance(times.HOUR, float)


def test_to_utc_naive_is_utc_and_aware_is_converted() -> None:
    assert times.to_utc(datetime(2026, 1, 2, 3)) == datetime(2026, 1, 2, 3, tzinfo=UTC)
    moved = times.to_utc(datetime(2026, 1, 2, 3, tzinfo=PLUS2))
    assert moved == datetime(2026, 1, 2, 1, tzinfo=UTC) and moved.utcoffset() == timedelta(0)


def test_naive_utc() -> None:
    assert times.naive_utc(datetime(2026, 1, 2, 3)) == datetime(2026, 1, 2, 3)
    assert times.naive_utc(datetime(2026, 1, 2, 3, tzinfo=PLUS2)) == datetime(2026, 1, 2, 1)
    assert times.naive_utc(date(2026, 1, 2)) == datetime(2026, 1, 2)


def test_epoch_seconds() -> None:
    assert times.epoch_seconds(1477958400) == 1477958400.0
    assert times.epoch_seconds(np.int64(5)) == 5.0
    assert times.epoch_seconds("2016-11-01") == 1477958400.0
    assert times.epoch_seconds("2016-11-01T01:00:00+01:00") == 1477958400.0
    assert times.epoch_seconds("2016-11-01T00:00:00Z") == 1477958400.0
    assert times.epoch_seconds(datetime(2016, 11, 1)) == 1477958400.0
    assert times.epoch_seconds(datetime(2016, 11, 1, 2, tzinfo=PLUS2)) == 1477958400.0
    assert times.epoch_seconds(date(2016, 11, 1)) == 1477958400.0
    assert times.epoch_seconds(pd.Timestamp("2016-11-01", tz="UTC")) == 1477958400.0
    assert isinstance(times.epoch_seconds(7), float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T10:30:00", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        ("2026-11-01 10:30", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        ("2026-11-01T10:30:00Z", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        ("2026-11-01T12:30:00+02:00", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        (" 2026-11-01T05:30-05:00 ", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_iso_8601(text: str, expected: datetime) -> None:
    parsed = times.parse_time(text, field="--as-of")
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "01/11/2026"])
def test_parse_time_names_the_field_and_the_text(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        times.parse_time(text, field="--from")
    assert str(caught.value) == f"--from: cannot read {text!r} as a date or time (ISO 8601)"


def test_decay() -> None:
    assert times.decay(0.0, 7.0) == 1.0
    assert times.decay(7 * times.DAY, 7.0) == 0.5
    assert times.decay(14 * times.DAY, 7.0) == 0.25
    ages = np.array([0.0, 1.0, 2.0, 3.0]) * times.DAY
    out = times.decay(ages, 1.0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(times.decay(ages, 2.0), 0.5 ** (ages / (2.0 * times.DAY)))
    assert times.decay(np.array([5.0], np.float32), 1.0).dtype == np.float64


def test_pandas_utc_and_naive_utc() -> None:
    assert pdtimes.utc("2026-01-02T03:00") == pd.Timestamp("2026-01-02T03:00", tz="UTC")
    assert pdtimes.utc(datetime(2026, 1, 2, 5, tzinfo=PLUS2)).hour == 3
    assert str(pdtimes.utc("2026-01-02T05:00+02:00").tz) == "UTC"
    assert pdtimes.naive_utc("2026-01-02T05:00+02:00") == datetime(2026, 1, 2, 3)
    assert pdtimes.naive_utc(datetime(2026, 1, 2, 3)) == datetime(2026, 1, 2, 3)


def test_column_seconds_and_whole_seconds() -> None:
    column = pd.Series(["2016-11-01T00:00:00Z", None, "2016-11-01T01:00:00.5+01:00"])
    seconds = pdtimes.column_seconds(column, format="ISO8601")
    assert seconds.dtype == np.float64
    np.testing.assert_array_equal(seconds, [1477958400.0, np.nan, 1477958400.5])
    naive = [datetime(2016, 11, 1, 0, 0, 1), "2016-11-01 00:00:02.9"]
    whole = pdtimes.whole_seconds(naive, format="ISO8601")
    assert whole.dtype == np.int64 and whole.tolist() == [1477958401, 1477958402]


def test_a_decayed_factor_of_one_time_is_remembered_with_its_reference() -> None:
    """``Decayed.factor`` of a float (a feed's time) equals the array path, before and after
    the reference moves and the half-life changes."""
    clock = Decayed()
    clock.half_life_days, clock.reference_ = 7.0, 1_000_000.0
    for moment in (1_000_000.0, 1_086_400.0, 1_086_400.0, 999_000.0):
        assert clock.factor(moment) == clock.factor(np.asarray([moment]))[0]
    assert clock.factor(1_000_000.0 + 7 * 86_400.0) == 0.5
    assert clock.advance(np.asarray([1_000_000.0 + 7 * 86_400.0])) == 0.5
    assert clock.factor(1_000_000.0 + 7 * 86_400.0) == 1.0  # the new reference
    clock.half_life_days = 1.0
    assert clock.factor(1_000_000.0 + 8 * 86_400.0) == 0.5


def test_unit_rows_equal_numpy_norms() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((40, 384))
    matrix[5] = 0.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    expected = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    assert np.array_equal(unit_rows(matrix), expected)
    assert np.array_equal(
        unit_rows(matrix.astype(np.float32)[:3]),
        unit_rows(matrix.astype(np.float32)[:3].astype(np.float64)),
    )
