"""``advocacy advocates at-risk`` on tiny literal data, through the CLI: the lapse model from a
folder or the registry's champion (real MLflow, SQLite), the store's advocates as of a time
(opted out never listed), readable reasons, and the action: the advocate's own feed when a
recommender champion exists, else one for their first reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.advocate_activity import forecast_lapse, read_activity
from features.data.reader import StoreReader
from features.data.store import Store
from features.snapshot import Snapshot
from recsys.dataset import Dataset
from recsys.forecast import feed_action, reason_action, reason_text
from recsys.ids import IdMap
from recsys.models import make_recommender
from tests.test_advocate_activity import fitted_model
from tests.test_serving_data import NOW, TITLES, advocates, fill_store, write_table
from training.cli import app
from training.registry import LAPSE, RECOMMENDER
from training.tracking import Tracker

AS_OF = NOW.isoformat()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, str, str]:
    """The literal store (e8 opted out), an empty registry and a data folder in tmp."""
    monkeypatch.setenv("ADVOCACY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    fill_store(store)
    people = advocates()
    people.loc[people["employee_id"] == "e8", "opted_out"] = "true"
    write_table(store, "advocates", people)
    return store, url, f"sqlite:///{tmp_path / 'mlflow.db'}"


def cli(*args: str) -> object:
    return CliRunner().invoke(app, ["advocates", "at-risk", *args])


def register(tracker: Tracker, name: str, folder: Path) -> None:
    """``folder`` as a run artifact, registered as ``name`` and made champion."""
    with tracker.run("test") as run_id:
        tracker.log_artifacts(run_id, folder, "model")
    version = tracker.registry.register(name, run_id, "model")
    tracker.registry.promote(name, version, reason="test")


def popular_model(store: Store, folder: Path) -> Path:
    """Popularity fitted on the store's events over every content item."""
    snapshot = Snapshot.load(StoreReader(store), NOW)
    events = snapshot.interactions
    items = IdMap.from_ids(snapshot.content["content_id"].astype(str).tolist(), "content")
    dataset = Dataset.from_events(
        events["employee_id"].astype(str).tolist(),
        events["content_id"].astype(str).tolist(),
        items=items,
    )
    make_recommender("popular", {}).fit(dataset).save(folder)
    return folder


def test_at_risk_from_a_folder_with_reason_actions(
    setup: tuple[Store, str, str], tmp_path: Path
) -> None:
    store, url, tracking = setup
    model = fitted_model()
    folder = model.save(tmp_path / "lapse")
    base = ["--db", url, "--tracking-uri", tracking, "--as-of", AS_OF]
    done = cli(*base, "--model-dir", str(folder), "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    expected = forecast_lapse(model, read_activity(store, NOW))
    assert out["eligible"] == 7 and out["horizon_days"] == 30.0
    assert out["model"] == {"folder": str(folder)}
    rows = out["advocates"]
    assert [r["employee_id"] for r in rows] == [r.employee_id for r in expected]
    assert "e8" not in {r["employee_id"] for r in rows}  # opted out
    assert [r["probability"] for r in rows] == [round(r.probability, 4) for r in expected]
    for row, risk in zip(rows, expected, strict=True):
        assert [r["text"] for r in row["reasons"]] == [
            reason_text(name, risk.features) for name, _ in risk.reasons
        ]
        first = risk.reasons[0][0] if risk.reasons else None
        assert row["action"] == reason_action(first) and row["suggested_content"] == []
    top = json.loads(cli(*base, "--model-dir", str(folder), "--json", "--top", "2").stdout)
    assert [r["employee_id"] for r in top["advocates"]] == [r.employee_id for r in expected[:2]]
    cut = expected[2].probability
    kept = cli(*base, "--model-dir", str(folder), "--json", "--min-probability", str(cut))
    assert all(r["probability"] >= round(cut, 4) for r in json.loads(kept.stdout)["advocates"])
    table = cli(*base, "--model-dir", str(folder))
    assert table.exit_code == 0 and "action:" in table.output and "e8" not in table.output


def test_the_champions_give_the_model_and_the_feed_action(
    setup: tuple[Store, str, str], tmp_path: Path
) -> None:
    store, url, tracking = setup
    base = ["--db", url, "--tracking-uri", tracking, "--as-of", AS_OF, "--json"]
    missing = cli(*base)
    assert missing.exit_code == 4 and LAPSE in missing.output
    tracker = Tracker(tracking, artifact_root=(tmp_path / "artifacts").as_uri())
    register(tracker, LAPSE, fitted_model().save(tmp_path / "lapse"))
    register(tracker, RECOMMENDER, popular_model(store, tmp_path / "popular"))
    done = cli(*base, "--top", "3")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["model"]["name"] == LAPSE and out["model"]["version"] == "1"
    for row in out["advocates"]:
        items = row["suggested_content"]
        assert len(items) == 3 and all(i["title"] in TITLES for i in items)
        assert row["action"] == feed_action([i["title"] for i in items])
        assert row["action"].startswith("share something matching your interests: ")


def test_bad_options(setup: tuple[Store, str, str], tmp_path: Path) -> None:
    _, url, tracking = setup
    base = ["--db", url, "--tracking-uri", tracking]
    assert cli(*base, "--as-of", "yesterday-ish").exit_code == 2
    assert cli(*base, "--min-probability", "1.5").exit_code == 2
    bad = cli(*base, "--model-dir", str(tmp_path / "nothing"))
    assert bad.exit_code == 2 and "--model-dir" in bad.output
