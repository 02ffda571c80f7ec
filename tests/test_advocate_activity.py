"""The store-backed activity of the lapse forecast, on SQLite and PostgreSQL: the query reads
only ``[as_of - lookback, as_of)`` and leaves opted-out advocates out; later rows change
nothing (features, eligibility and forecasts identical)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features.advocate_activity import (
    AdvocateActivity,
    forecast_lapse,
    read_activity,
    snapshot_activity,
)
from features.data.contract import EVENT_TYPES
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from recsys.forecast import (
    ActivityLog,
    LapseModel,
    eligible,
    feature_names,
    lapse_features,
    lapse_labels,
)
from recsys.times import DAY
from tests.test_serving_data import NOW, advocates, content, iso, write_table

AS_OF = NOW - timedelta(days=10)
#: (employee, days before AS_OF, event type); negative days are after AS_OF.
EARLIER = [
    ("e1", 40.0, "view"),
    ("e1", 5.0, "view"),
    ("e1", 3.0, "like"),
    ("e2", 70.0, "view"),  # in the log, not eligible (no event in the last 60 days)
    ("e3", 1.0, "share"),
    ("e4", 800.0, "view"),  # before the two-year lookback
    ("e8", 2.0, "view"),  # opted out
]
LATER = [("e1", 0.0, "view"), ("e1", -2.0, "like"), ("e5", -1.0, "view"), ("e3", -9.0, "view")]


def events(rows: list[tuple[str, float, str]], first: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": f"ev{first + j}",
                "employee_id": who,
                "content_id": "c01",
                "event_type": kind,
                "network": "linkedin" if kind == "share" else "",
                "timestamp": iso(AS_OF - timedelta(days=days)),
            }
            for j, (who, days, kind) in enumerate(rows)
        ]
    )


def filled(store: Store) -> Store:
    people = advocates()
    people.loc[people["employee_id"] == "e8", "opted_out"] = "true"
    write_table(store, "advocates", people)
    write_table(store, "content", content())
    write_table(store, "interactions", events(EARLIER, 0))
    return store


def fitted_model(seed: int = 0, n: int = 300) -> LapseModel:
    """A model over the contract's event kinds, fitted on random advocates."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.6, 0.3, n)
    counts = rng.poisson(rate * 200)
    persons = np.repeat(np.arange(n), counts)
    log = ActivityLog.build(
        rng.uniform(0, 200, len(persons)) * DAY,
        persons,
        rng.integers(0, len(EVENT_TYPES), len(persons)),
        n_persons=n,
        kind_names=EVENT_TYPES,
    )
    xs, ys = [], []
    for origin in (120 * DAY, 160 * DAY):
        mask = eligible(log, origin)
        xs.append(lapse_features(log, origin)[mask])
        ys.append(lapse_labels(log, origin)[mask])
    return LapseModel(feature_names(EVENT_TYPES)).fit(np.vstack(xs), np.concatenate(ys))


def same_activity(a: AdvocateActivity, b: AdvocateActivity) -> None:
    assert a.employee_ids == b.employee_ids and (a.as_of, a.since) == (b.as_of, b.since)
    for field in ("times", "persons", "kinds"):
        np.testing.assert_array_equal(getattr(a.log, field), getattr(b.log, field))


def test_activity_reads_the_lookback_before_as_of_without_opted_out(store: Store) -> None:
    activity = read_activity(filled(store), AS_OF)
    assert activity.employee_ids == ("e1", "e2", "e3")  # e4 too old, e8 opted out
    assert activity.as_of == AS_OF.timestamp()
    assert activity.since == (AS_OF - timedelta(days=730)).timestamp()
    log = activity.log
    assert log.kind_names == EVENT_TYPES and log.n_persons == 3
    np.testing.assert_allclose((AS_OF.timestamp() - log.times) / DAY, [70, 40, 5, 3, 1])
    assert [EVENT_TYPES[k] for k in log.kinds] == ["view", "view", "view", "like", "share"]
    assert eligible(log, activity.as_of).tolist() == [True, False, True]
    x = dict(zip(feature_names(EVENT_TYPES), lapse_features(log, activity.as_of)[0], strict=True))
    assert x["days_since_last"] == pytest.approx(3.0) and x["events_total"] == 3
    short = read_activity(store, AS_OF, lookback_days=4)
    assert short.employee_ids == ("e1", "e3") and len(short.log.times) == 2
    people = advocates()
    people["opted_out"] = np.where(people["employee_id"].isin(["e1", "e8"]), "true", "false")
    write_table(store, "advocates", people)  # an opt-out counts at once
    assert read_activity(store, AS_OF).employee_ids == ("e2", "e3")
    with pytest.raises(ValueError, match="lookback_days"):
        read_activity(store, AS_OF, lookback_days=0)


def test_later_rows_give_identical_activity_and_forecasts(store: Store) -> None:
    model = fitted_model()
    before = read_activity(filled(store), AS_OF)
    forecast = forecast_lapse(model, before)
    write_table(store, "interactions", events(LATER, 100))
    after = read_activity(store, AS_OF)
    same_activity(before, after)
    assert forecast_lapse(model, after) == forecast
    assert [r.employee_id for r in forecast] == sorted(
        ["e1", "e3"], key=lambda e: -next(r.probability for r in forecast if r.employee_id == e)
    )
    e1 = next(r for r in forecast if r.employee_id == "e1")
    x = lapse_features(before.log, before.as_of)[[0]]
    assert e1.probability == model.predict_proba(x)[0]
    assert e1.reasons == model.reasons(x)[0] and e1.features["events_total"] == 3
    # the later rows are read once as_of moves past them
    moved = read_activity(store, datetime.fromtimestamp(AS_OF.timestamp() + 3 * DAY, NOW.tzinfo))
    assert moved.employee_ids == ("e1", "e2", "e3", "e5")


def test_an_empty_store_and_a_model_of_other_features(store: Store) -> None:
    write_table(store, "advocates", advocates())
    activity = read_activity(store, AS_OF)
    assert activity.employee_ids == () and activity.log.n_persons == 0
    assert forecast_lapse(fitted_model(), activity) == []
    other = LapseModel(feature_names(("VIEW",)))
    with pytest.raises(ValueError, match="features"):
        forecast_lapse(other, activity)


def test_a_snapshot_gives_the_activity_the_query_reads(store: Store) -> None:
    filled(store)
    write_table(store, "interactions", events(LATER, 100))
    for lookback in (730.0, 4.0):
        snapshot = Snapshot.load(StoreReader(store), AS_OF)
        same_activity(
            snapshot_activity(snapshot, lookback_days=lookback),
            read_activity(store, AS_OF, lookback_days=lookback),
        )
