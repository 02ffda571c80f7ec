"""features.feed_catalogue: the feed's catalogue, audience and titles from store data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.data import schema
from features.data.importer import Importer
from features.data.reader import StoreReader
from features.data.sources import TableChunk
from features.data.store import Store
from features.data.synthetic import OrgConfig, generate
from features.data.validation import ValidationContext
from features.feed_catalogue import build_feed_data, load_feed_data
from features.snapshot import Snapshot
from recsys.dataset import Dataset
from recsys.feed import FeedRanker
from recsys.feed_arrays import Employee
from recsys.ids import IdMap
from recsys.models import Popular
from recsys.policy import explain_ineligible

T0 = pd.Timestamp("2026-10-01T00:00:00Z")


def hours(h: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=h)


CONTENT = pd.DataFrame(
    {
        "content_id": ["c1", "c2", "c3", "c4", "c5"],
        "title": ["One", "Two", None, "Four", "Five"],
        "content_type": ["article", "job", "event", "article", "video"],
        "language": ["en", "de", None, "en", "en"],
        "topics": [["ai"], [], None, ["cloud", "ai"], []],
        "published_at": [hours(1), hours(2), hours(3), hours(500), pd.NaT],
        "expires_at": [pd.NaT, hours(100), pd.NaT, pd.NaT, pd.NaT],
        "approval_status": ["approved", "approved", "draft", "approved", "approoved"],
        "allowed_regions": [[], ["EMEA"], [], [], []],
        "allowed_departments": [[], [], ["Sales"], [], []],
        "allowed_languages": [[], ["de"], [], [], []],
        "networks": [["linkedin"], [], None, ["myspace", "x"], []],
    }
)
ADVOCATES = pd.DataFrame(
    {
        "employee_id": ["e1", "e2"],
        "department": ["Sales", None],
        "role": ["AE", None],
        "region": ["EMEA", None],
        "languages": [["de", "en"], None],
        "interests": [["ai"], []],
        "opted_out": [False, True],
    }
)
EVENTS = pd.DataFrame(
    {
        "event_id": ["v1", "v2", "v3", "v4", "v5"],
        "employee_id": ["e1", "e1", "e2", "e1", "e1"],
        "content_id": ["c1", "c2", "c1", "c4", "c3"],
        "event_type": ["view", "share", "share", "dismiss", "share"],
        "network": [None, "linkedin", "x", None, "x"],
        "timestamp": [hours(5), hours(6), hours(7), hours(8), hours(900)],
        "value": [None] * 5,
    }
)


def snapshot(as_of: pd.Timestamp | None = None) -> Snapshot:
    as_of = hours(200) if as_of is None else as_of
    return Snapshot.from_frames(as_of, content=CONTENT, advocates=ADVOCATES, interactions=EVENTS)


def test_catalogue_is_aligned_with_the_model_items() -> None:
    items = IdMap.from_ids(["c4", "gone", "c1", "c2"], "content")  # the model's order
    data = build_feed_data(snapshot(), items)
    catalogue = data.catalogue
    assert catalogue.content_ids == ("c4", "gone", "c1", "c2")
    assert data.missing == ("c3", "c5")
    assert np.isnan(data.missing_published_at[1])
    assert data.missing_published_at[0] == hours(3).timestamp()
    assert catalogue.approved.tolist() == [True, False, True, True]  # gone: retired
    assert catalogue.published_at[2] == hours(1).timestamp()
    assert np.isnan(catalogue.published_at[1])
    assert catalogue.expires_at[3] == hours(100).timestamp()
    topics = [[catalogue.topics.vocabulary[c] for c in catalogue.topics.row(i)] for i in range(4)]
    assert topics == [["cloud", "ai"], [], ["ai"], []]
    assert [catalogue.type_vocabulary[t] for t in catalogue.content_type[[0, 2, 3]]] == [
        "article",
        "article",
        "job",
    ]
    assert catalogue.networks.rows_containing_any(["x"]).tolist() == [True, False, False, False]
    assert catalogue.language.rows_containing_any(["DE"]).tolist() == [False, False, False, True]
    assert data.problems == ("content c4: networks ['myspace'] unknown; ignored",)
    assert data.titles == {"c1": "One", "c2": "Two", "c3": "", "c4": "Four", "c5": "Five"}


def test_unknown_status_is_reported_and_never_shown() -> None:
    data = build_feed_data(snapshot(), IdMap.from_ids(["c5", "c1"], "content"))
    assert data.catalogue.approved.tolist() == [False, True]
    assert "content c5: approval_status 'approoved' unknown; not shown" in data.problems


def test_audience_with_shares_and_dismissals_as_of() -> None:
    data = build_feed_data(snapshot(), IdMap.from_ids(["c1"], "content"))
    audience = data.audience
    assert audience["e1"] == Employee("EMEA", "Sales", ("de", "en"), "AE", ("ai",))
    assert audience["e2"] == Employee()  # opted out: still gets a (restricted) feed
    assert audience.shared_by("e1") == ("c2",)  # c3 was shared after as_of
    assert audience.shared_by("e2") == ("c1",)
    assert audience.dismissed_by("e1") == ("c4",)
    later = build_feed_data(snapshot(hours(1000)), IdMap.from_ids(["c1"], "content"))
    assert later.audience.shared_by("e1") == ("c2", "c3")


def test_missing_required_columns_are_named() -> None:
    broken = Snapshot.from_frames(hours(10), content=CONTENT.drop(columns="content_type"))
    with pytest.raises(ValueError, match="content_type"):
        build_feed_data(broken, IdMap.from_ids(["c1"], "content"))


def test_feed_from_built_data_honours_every_rule() -> None:
    items = IdMap.from_ids(["c1", "c2", "c3", "c4", "c5"], "content")
    events = Dataset.from_events(["x"] * 5, ["c5", "c4", "c3", "c2", "c1"], items=items)
    data = build_feed_data(snapshot(), items)
    feeds = FeedRanker(Popular().fit(events), data.catalogue, data.audience, titles=data.titles)
    as_of = hours(600).timestamp()
    # e1: c2 shared, c3 draft, c4 dismissed, c5 never published -> c1
    assert [i.content_id for i in feeds.feed("e1", 10, as_of=as_of).items] == ["c1"]
    # e2 shared c1; c2 is EMEA/de only -> c4
    assert [(i.content_id, i.title) for i in feeds.feed("e2", 10, as_of=as_of).items] == [
        ("c4", "Four")
    ]


@pytest.fixture
def org_store(store: Store, context: ValidationContext) -> tuple[Store, dict[str, pd.DataFrame]]:
    tables = generate(OrgConfig(employees=60, content=40, days=20, seed=5)).tables
    chunks = [TableChunk(name, frame.astype(object), name, 1) for name, frame in tables.items()]
    report = Importer(store, context).run([iter(chunks)])
    assert report.exit_code == 0, report.to_dict()["rejections"][:3]
    return store, tables


def test_loading_from_the_store_equals_building_from_a_snapshot(org_store) -> None:
    store, tables = org_store
    as_of = pd.Timestamp("2026-10-25T00:00:00Z")
    ids = list(tables["content"]["content_id"])
    items = IdMap.from_ids(ids[5:] + ids[:3], "content")
    loaded = load_feed_data(store, items, as_of)
    built = build_feed_data(Snapshot.load(StoreReader(store), as_of), items)
    assert loaded.missing == built.missing == tuple(ids[3:5])
    assert loaded.titles == built.titles
    assert loaded.audience == built.audience
    assert loaded.catalogue.content_ids == built.catalogue.content_ids
    for name in ("approved", "published_at", "expires_at"):
        np.testing.assert_array_equal(
            getattr(loaded.catalogue, name), getattr(built.catalogue, name)
        )
    every = np.arange(len(items))
    for employee_id in list(tables["advocates"]["employee_id"])[:10]:
        employee = loaded.audience[employee_id]
        shared = items.to_internal(list(loaded.audience.shared_by(employee_id)), missing="ignore")
        rules = [
            explain_ineligible(data.catalogue, employee, every, as_of.timestamp(), shared)
            for data in (loaded, built)
        ]
        assert rules[0] == rules[1]
    shares = tables["interactions"]
    shares = shares[(shares["event_type"] == "share") & (shares["timestamp"] <= as_of)]
    assert sum(len(v) for v in loaded.audience.shared.values()) == len(
        shares.drop_duplicates(["employee_id", "content_id"])
    )


def test_target_networks_from_the_store_restrict_network_filters(org_store) -> None:
    store, tables = org_store
    ids = list(tables["content"]["content_id"])
    with store.engine.begin() as conn:
        content = schema.CONTRACT_TABLES["content"]
        conn.execute(
            content.update().where(content.c.content_id == ids[0]).values(networks=["linkedin"])
        )
    items = IdMap.from_ids(ids, "content")
    data = load_feed_data(store, items, pd.Timestamp("2026-10-25T00:00:00Z"))
    on_x = data.catalogue.networks.rows_containing_any(["x"])
    on_linkedin = data.catalogue.networks.rows_containing_any(["linkedin"])
    assert on_linkedin[0] and not on_x[0]  # meant for LinkedIn only
    jobs = (tables["content"]["content_type"] == "job").to_numpy()
    assert (on_linkedin[1:] == jobs[1:]).all()  # generated job posts: LinkedIn and XING
    assert not on_x[1:].any()
