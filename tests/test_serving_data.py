"""A tiny organisation, a store and a fitted hybrid model for the serving tests.

Eight employees in two regions; twelve content items, of which ``c10`` expired yesterday,
``c11`` is for EMEA only and ``c12`` is a draft; engagement events over the last two weeks
(``c01`` is the most engaged with). The model is the production hybrid, fitted on the
store's events with the real content features (metadata + all-MiniLM-L6-v2 embeddings).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.content_embeddings import ContentEmbeddings
from features.content_metadata import ContentMetadata
from features.data.importer import Importer
from features.data.reader import StoreReader
from features.data.sources import TableChunk
from features.data.store import Store
from features.data.validation import ValidationContext
from features.sharing_history import DEFAULT_EVENT_WEIGHTS
from features.snapshot import Snapshot
from recsys.dataset import Dataset
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix
from recsys.models.hybrid import Hybrid

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOPICS = ["cloud", "ai", "hiring", "security"]
TITLES = [
    "How we cut cloud costs by a third",
    "Our new AI assistant for support teams",
    "We are hiring SREs in Berlin",
    "Security lessons from our bug bounty",
    "Cloud migration: the playbook",
    "AI in sales: what worked",
    "Join our graduate programme",
    "Zero trust, explained",
    "Kubernetes at scale in our cloud",
    "Last year's offsite recap",
    "EMEA partner summit in Lisbon",
    "Draft: quarterly results teaser",
]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def advocates() -> pd.DataFrame:
    rows = []
    for j in range(1, 9):
        rows.append(
            {
                "employee_id": f"e{j}",
                "department": "Sales" if j % 2 else "Engineering",
                "role": "AE" if j % 2 else "Engineer",
                "seniority": "mid",
                "region": "EMEA" if j <= 4 else "NA",
                "country": "DE" if j <= 4 else "US",
                "languages": "en;de" if j <= 4 else "en",
                "interests": TOPICS[j % 4],
                "opted_out": "false",
            }
        )
    return pd.DataFrame(rows)


def content() -> pd.DataFrame:
    rows = []
    for j in range(1, 13):
        rows.append(
            {
                "content_id": f"c{j:02d}",
                "title": TITLES[j - 1],
                "body": TITLES[j - 1] + ". More in the article.",
                "content_type": ["article", "job", "event"][j % 3],
                "language": "en",
                "topics": TOPICS[j % 4],
                "published_at": iso(NOW - timedelta(days=20 - j)),
                "expires_at": iso(NOW - timedelta(days=1)) if j == 10 else "",
                "approval_status": "draft" if j == 12 else "approved",
                "allowed_regions": "EMEA" if j == 11 else "",
            }
        )
    return pd.DataFrame(rows)


def interactions() -> pd.DataFrame:
    """Every employee views c01..c05 (c01 most, by clicks and likes), shares one of them."""
    rows = []
    n = 0
    for j in range(1, 9):
        for day, item in enumerate([1, 2, 3, 4, 5, 1, 2, 1, 6, 9]):
            n += 1
            kind = "view" if day < 5 else ("click" if day < 8 else "like")
            stamp = NOW - timedelta(days=14 - day, hours=j)
            rows.append(
                {
                    "event_id": f"h{n}",
                    "employee_id": f"e{j}",
                    "content_id": f"c{item:02d}",
                    "event_type": kind,
                    "network": "",
                    "timestamp": iso(stamp),
                }
            )
        n += 1
        rows.append(
            {
                "event_id": f"h{n}",
                "employee_id": f"e{j}",
                "content_id": f"c{(j % 3) + 3:02d}",
                "event_type": "share",
                "network": "linkedin",
                "timestamp": iso(NOW - timedelta(days=3, hours=j)),
            }
        )
    return pd.DataFrame(rows)


def write_table(store: Store, table: str, frame: pd.DataFrame, now: datetime = NOW) -> None:
    """Import ``frame`` through the contract importer (every row must be accepted)."""
    importer = Importer(store, ValidationContext(now=now))
    chunk = TableChunk(table, frame.astype(object), "test", 1)
    report = importer.run([iter([chunk])])
    assert not report.rejections, report.to_dict()["rejections"]


def fill_store(store: Store) -> None:
    write_table(store, "advocates", advocates())
    write_table(store, "content", content())
    write_table(store, "interactions", interactions())


def fit_model(store: Store, folder: Path, *, seed: int = 42) -> Hybrid:
    """The hybrid fitted on the store's events with metadata + embedding item features."""
    snapshot = Snapshot.load(StoreReader(store), NOW)
    events = snapshot.interactions
    weights = events["event_type"].map(DEFAULT_EVENT_WEIGHTS).fillna(0.0)
    events = events.loc[weights.to_numpy() > 0]
    items = [str(c) for c in snapshot.content["content_id"]]
    metadata = ContentMetadata().fit(snapshot).transform(snapshot)
    embeddings = ContentEmbeddings(cache=store).fit(snapshot).transform(snapshot)
    published = pd.to_datetime(snapshot.content["published_at"], utc=True)
    epoch = pd.Timestamp(0, tz="UTC")
    times = pd.to_datetime(events["timestamp"], utc=True)
    dataset = Dataset.from_events(
        events["employee_id"].astype(str).tolist(),
        events["content_id"].astype(str).tolist(),
        weights=weights.loc[events.index].to_numpy(np.float32),
        times=((times - epoch).dt.total_seconds()).to_numpy(np.int64),
        items=_items(items),
        item_features=FeatureMatrix.hstack(metadata, embeddings),
        item_times=((published - epoch).dt.total_seconds()).to_numpy(np.int64),
    )
    model = (
        Hybrid().set_params(taste__no_components=8, taste__epochs=5, random_state=seed).fit(dataset)
    )
    model.save(folder)
    return model


def _items(ids: list[str]) -> IdMap:
    return IdMap.from_ids(ids, "content")


def add_synthetic_org(store: Store, folder: Path, *, employees: int = 150) -> None:
    """A small generated organisation (accounts, outcomes, edges) next to the tiny one."""
    from features.data.importer import import_path
    from features.data.synthetic import OrgConfig, generate, write

    config = OrgConfig(
        employees=employees, content=60, days=90, seed=3, interactions_per_employee=30, end=NOW
    )
    write(generate(config), folder)
    report = import_path(store, folder, context=ValidationContext(now=NOW))
    assert report.exit_code == 0, report.to_dict()


def fit_influencers(store: Store, folder: Path) -> Path:
    """The influencer scorer fitted on the store as of :data:`NOW`, saved in ``folder``."""
    from training.influence_job import fit_influence

    scorer = fit_influence(Snapshot.load(StoreReader(store), NOW))
    scorer.save(folder)
    return folder


def served_organisation(store: Store, folder: Path, *, employees: int) -> None:
    """The tiny organisation, a generated one of ``employees`` next to it, and both models
    fitted on them (``folder/model``, ``folder/influencers``): what the served tests serve."""
    fill_store(store)
    add_synthetic_org(store, folder / "org", employees=employees)
    fit_model(store, folder / "model")
    fit_influencers(store, folder / "influencers")


def service_app() -> object:
    """A new ASGI app of the service for this process.

    BentoML's metrics middleware registers its request metrics in prometheus_client's
    default registry once per app; a second app in the same process (one per test module
    here) would collide, so the previous app's BentoML collectors are unregistered first.
    """
    import prometheus_client

    from serving.service import AdvocacyService

    registry = prometheus_client.REGISTRY
    for collector in list(registry._collector_to_names):
        names = registry._collector_to_names.get(collector, ())
        if any(name.startswith("bentoml_") for name in names):
            registry.unregister(collector)
    return AdvocacyService.to_asgi()
