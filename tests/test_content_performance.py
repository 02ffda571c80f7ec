"""The content performance forecast on the product's own inputs: the store-side builder on
tiny literal data (SQLite and PostgreSQL), no leakage from later rows, and
``advocacy evaluate synthetic-content`` on a small synthetic organisation."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest
import typer
from sklearn.exceptions import NotFittedError
from typer.testing import CliRunner

from features.content_performance import CATEGORICAL, PERIODS, ContentPerformanceFeatures
from features.data.store import Store
from features.encoder import SentenceTransformerEncoder
from recsys.forecast import ContentForecast
from training.commands.evaluate import evaluate
from training.evaluation.content_synthetic import synthetic_content

T = datetime(2026, 5, 25)
C1 = datetime(2026, 5, 4, 9, 30)  # Monday
C2 = datetime(2026, 5, 12, 10, 30)  # Tuesday
C3 = datetime(2026, 5, 20, 15, 0)  # Wednesday
C4 = datetime(2026, 7, 1, 9, 0)  # scheduled after T


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def advocate(employee: str, region: str, languages: list[str], **more: object) -> dict:
    return {"employee_id": employee, "region": region, "department": "Sales"} | {
        "languages": languages,
        "hire_date": more.pop("hire_date", None),
        "opted_out": more.pop("opted_out", False),
    }


def item(content_id: str, kind: str, at: datetime, topics: list[str], **more: object) -> dict:
    return {
        "content_id": content_id,
        "title": f"{kind} about {' and '.join(topics)}",
        "content_type": kind,
        "topics": topics,
        "author_id": more.pop("author_id", "a1"),
        "published_at": at,
        "language": more.pop("language", "en"),
        "allowed_regions": more.pop("allowed_regions", []),
        "approval_status": more.pop("approval_status", "approved"),
    }


def share(event: str, employee: str, content: str, at: datetime) -> dict:
    return {"event_id": event, "employee_id": employee, "content_id": content} | {
        "event_type": "share",
        "network": "linkedin",
        "timestamp": at,
    }


def measured(event: str, at: datetime, impressions: int, clicks: int) -> dict:
    return {"event_id": event, "measured_at": at, "impressions": impressions, "clicks": clicks}


def programme(store: Store, *, later: bool = False) -> None:
    """Four advocates (a3 hired 1 June, a4 opted out), three items published before T and a
    draft scheduled after it; ``later`` adds rows observed after T (events, measurements,
    an item, an advocate) which no row as of T may read."""
    store.write(
        "advocates",
        [
            advocate("a1", "EMEA", ["en"]),
            advocate("a2", "EMEA", ["en", "de"]),
            advocate("a3", "AMER", ["en"], hire_date=date(2026, 6, 1)),
            advocate("a4", "AMER", [], opted_out=True),
        ]
        + ([advocate("a5", "EMEA", ["de"], hire_date=date(2026, 6, 15))] if later else []),
    )
    store.write(
        "content",
        [
            item("c1", "article", C1, ["ai"]),
            item("c2", "job", C2, ["hiring", "ai"], allowed_regions=["EMEA"]),
            item("c3", "event", C3, ["events", "ai"], language="de", author_id="a2"),
            item("c4", "article", C4, ["ai"], approval_status="draft"),
        ]
        + ([item("c5", "article", T + timedelta(days=2), ["ai"])] if later else []),
    )
    hour, day = timedelta(hours=1), timedelta(days=1)
    events = [
        share("s1", "a1", "c1", C1 + hour),
        share("s2", "a2", "c1", C1 + 2 * day),
        share("s3", "a1", "c1", C1 + 8 * day),  # after c1's first week
        share("s4", "a4", "c2", C2 + hour),  # opted out: counted as a share, not as active
        share("s5", "a2", "c2", C2 + 3 * day),
    ]
    outcomes = [
        measured("s1", C1 + hour + day, 100, 7),
        measured("s1", C1 + hour + 7 * day, 300, 20),  # after c1's first week ended
        measured("s2", C1 + 3 * day, 50, 2),
        measured("s3", C1 + 9 * day, 80, 4),
        measured("s4", C2 + hour + day, 40, 1),
        measured("s5", C2 + 4 * day, 60, 3),
    ]
    if later:
        events += [share("s6", "a1", "c2", T + day), share("s7", "a2", "c5", T + 3 * day)]
        events += [share("s8", "a1", "c3", T + hour)]  # inside c3's first week, after T
        outcomes += [measured("s5", T + 2 * day, 999, 99), measured("s6", T + 2 * day, 10, 1)]
        outcomes += [measured("s2", T + hour, 70, 5), measured("s8", T + 2 * hour, 30, 2)]
    store.write("interactions", events)
    store.write("share_outcomes", outcomes)


def test_first_week_outcomes_count_the_week_and_its_latest_measurements(store: Store) -> None:
    programme(store)
    builder = ContentPerformanceFeatures(components=0).fit(store, ["c1", "c2"])
    y, complete = builder.outcomes(store, ["c1", "c2", "c3", "c4"], as_of=datetime(2026, 5, 15))
    # c1: s1 (its +1 day measurement: the +7 days one is after c1's week) and s2, not s3
    np.testing.assert_array_equal(y[0], [2, 150, 9])
    # c2 as known on 15 May: s4 and its measurement; s5 (15 May 10:30) not yet
    np.testing.assert_array_equal(y[1], [1, 40, 1])
    np.testing.assert_array_equal(y[2:], 0)
    assert complete.tolist() == [True, False, False, False]
    y, complete = builder.outcomes(store, ["c2"], as_of=T)
    np.testing.assert_array_equal(y[0], [2, 100, 4])
    assert complete.tolist() == [True]


def test_features_of_literal_items(store: Store, encoder: SentenceTransformerEncoder) -> None:
    programme(store)
    builder = ContentPerformanceFeatures(encoder=encoder, components=1).fit(store, ["c1", "c2"])
    assert builder.types_ == ["article", "job"] and builder.topics_ == ["ai", "hiring"]
    x = builder.transform(store, ["c2", "c3", "c4"], as_of=T)
    assert x.names == builder.names and x.shape == (3, len(builder.names))
    assert list(x.ids.external) == ["c2", "c3", "c4"]
    col = x.column
    np.testing.assert_array_equal(col("content_type"), [1, -1, 0])  # event: unseen
    np.testing.assert_array_equal(col("primary_topic"), [1, -1, 0])
    np.testing.assert_array_equal(col("topic=ai"), [1, 1, 1])
    np.testing.assert_array_equal(col("weekday"), [1, 2, 2])  # c4 is on 1 July, a Wednesday
    np.testing.assert_allclose(col("hour"), [10.5, 15.0, 9.0])
    # hired by then: a1, a2, a4 (a3 on 1 June); c2 is for EMEA; c3 is in German, which a2
    # reads and a4 (no languages) is taken to read
    np.testing.assert_allclose(col("eligible_fraction"), [2 / 3, 2 / 3, 1.0])
    # active in the 30 days before each moment's day: a1 and a2 (a4 opted out); their shares
    # before c2's day s1 and s2, before c3's s1, s2, s3 and s5
    np.testing.assert_allclose(np.expm1(col("log_active_advocates")), [2, 2, 2])
    np.testing.assert_allclose(np.expm1(col("log_recent_shares")), [2, 4, 4])
    # c4 is a draft scheduled after T: as of T, the 7 days before hold c3 (topic ai) only
    np.testing.assert_allclose(np.expm1(col("log_items_7d")), [0, 0, 1])
    np.testing.assert_allclose(np.expm1(col("log_topic_items_7d")), [0, 0, 1])
    # c1's week (ended 11 May) is known before c2 and c3; both c1 and c2's before T
    np.testing.assert_allclose(np.expm1(col("log_author_items")), [1, 0, 2])
    np.testing.assert_allclose(col("author_log_shares")[0], np.log1p(2))
    np.testing.assert_allclose(col("topic_log_shares")[0], np.log1p(2))
    assert x.names[-1] == "emb_pc0"  # one component: two fitted items span one direction
    assert np.isfinite(col("emb_pc0")).all()


def test_unfitted_and_unknown_items_are_errors(sqlite_store: Store) -> None:
    programme(sqlite_store)
    with pytest.raises(NotFittedError):
        ContentPerformanceFeatures().transform(sqlite_store, ["c1"], as_of=T)
    with pytest.raises(KeyError, match="nope"):
        ContentPerformanceFeatures(components=0).fit(sqlite_store, ["c1", "nope"])


def test_no_leakage_later_rows_give_identical_features_and_forecasts(
    tmp_path: object, encoder: SentenceTransformerEncoder
) -> None:
    stores = []
    for later in (False, True):
        store = Store.open(f"sqlite:///{tmp_path}/store-{later}.db")
        programme(store, later=later)
        stores.append(store)
    items, train = ["c1", "c2", "c3", "c4"], ["c1", "c2"]
    runs = []
    for store in stores:
        builder = ContentPerformanceFeatures(encoder=encoder, components=1).fit(store, train)
        x = builder.transform(store, items, as_of=T)
        y, _ = builder.outcomes(store, items, as_of=T)
        forecast = ContentForecast(
            features=builder.names,
            categorical=CATEGORICAL,
            periods=PERIODS,
            targets=("shares", "reach", "clicks"),
            cv=2,
        ).fit(x.values[:3], y[:3])
        runs.append((x.values, y, forecast.predict(x.values), forecast.predict_interval(x.values)))
        store.dispose()
    (x0, y0, p0, (lo0, hi0)), (x1, y1, p1, (lo1, hi1)) = runs
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_array_equal(lo0, lo1)
    np.testing.assert_array_equal(hi0, hi1)


SMALL = {"employees": 150, "content": 120, "days": 90, "interactions_per_employee": 60.0}


def cli(*args: str) -> object:
    app = typer.Typer()
    app.command("evaluate")(evaluate)
    app.callback()(lambda: None)
    return CliRunner().invoke(app, ["evaluate", *args])


@pytest.mark.slow
def test_cli_on_a_small_organisation() -> None:
    size = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    done = cli("synthetic-content", *size, "--seed", "3", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    protocol, models = result["protocol"], result["models"]
    assert protocol["seed"] == 3 and protocol["content"] == 120
    assert protocol["cut_off"] > "2026-09-02" and protocol["train_items"] >= 20
    assert set(models) == {"content", "mean_by_type", "mean_by_topic"}
    for entry in models.values():
        for target in ("shares", "reach", "clicks"):
            assert entry[target]["n"] == protocol["test_items"]
            assert 0.0 <= entry[target]["coverage"] <= 1.0
    assert "emb_pc0" in protocol["inputs"] and "eligible_fraction" in protocol["inputs"]
    unknown = cli("synthetic-content", *size, "--models", "oracle")
    assert unknown.exit_code == 2 and "oracle" in unknown.output


@pytest.mark.slow
def test_benchmark_is_deterministic(encoder: SentenceTransformerEncoder) -> None:
    first = synthetic_content(seed=1, models=("content",), encoder=encoder, **SMALL)
    again = synthetic_content(seed=1, models=("content",), encoder=encoder, **SMALL)
    drop = {"seconds": 0}
    assert {**first["models"]["content"], **drop} == {**again["models"]["content"], **drop}
    assert first["protocol"]["cut_off"] == again["protocol"]["cut_off"]
