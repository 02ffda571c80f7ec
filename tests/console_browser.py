"""The console's browser tests' parts: a generated organisation dated to the present, a real
``advocacy serve`` process over it, the system chromium driven by selenium, and screenshots.

The organisation ends at the current hour (not at the fixed ``NOW`` of the other serving
tests): the server ranks and scores with the wall clock, so data fixed in the past would
slide out of the 30- and 90-day windows the pages show. It is generated once for a fixed
end, ``GENERATED_END``, and every time in it is moved to end at the current hour, so the
same organisation is served whenever the tests run (generated for the current hour, its
events fell differently on the generator's days and the candidates flagged depended on the
hour: none at 11:00 UTC on 2026-12-03). The influencer scorer is fitted with lenient flag
rules (a 150-person organisation has few measured shares) so that some candidates are
flagged. Nothing here downloads anything: the browser and its driver are
Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them), and
``SE_OFFLINE`` keeps Selenium Manager off the network.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pandas as pd
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

import tests.test_serving_data as serving_data
from features.data.importer import import_path
from features.data.reader import StoreReader
from features.data.store import Store
from features.data.validation import ValidationContext
from features.snapshot import Snapshot
from serving.model_source import FolderSource
from tests.served import launch, serving
from training.registry import INFLUENCERS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LAPTOP = (1366, 900)
PHONE = (390, 844)
CONSOLE_SECRET = "console-secret-for-the-browser-tests-0123456789"
#: Content written with a hostile sentence: the default screening policy holds it.
HELD_ITEM = "held-hostile-1"
HOSTILE = "Our competitors are disgusting liars and everyone should hate them."
#: The end the organisation is generated for, before its times move to the current hour.
GENERATED_END = datetime(2026, 12, 3, 18, tzinfo=UTC)
#: Lenient flag rules: enough flagged candidates in a small generated organisation.
SCORER_CONFIG = {"flag_threshold": 0.1, "min_flag_shares": 1, "min_lift": 0.0}


@dataclass(frozen=True)
class Org:
    """The served store and the people the tests act on (chosen from the fitted scores)."""

    folder: Path
    store: Store
    now: datetime
    opted_out: str  # a flagged candidate with shares, opted out after the fit
    reviewed: str  # an unflagged candidate with shares: dismissed in the tests
    shared_item: str  # a content item ``reviewed`` shared (eligible but for that)
    department: str  # a department with flagged and unflagged candidates
    held_item: str = HELD_ITEM  # content the default screening policy holds (hostile tone)


def build_org(folder: Path, *, employees: int = 150) -> Org:
    """The tiny organisation, a generated one ending at the current hour, the recommender,
    the influencer scorer with a score history, and one flagged advocate opted out."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    _fill_fixture(store, now)
    _generate(store, folder / "org", now, employees)
    _write_held_item(store, now)
    with mock.patch.object(serving_data, "NOW", now):  # the recommender sees every event
        serving_data.fit_model(store, folder / "model")
    scorer = _fit_scorer(store, folder / "influencers", now)
    from training.influence_candidates import list_candidates

    candidates = list_candidates(store, scorer, as_of=now)
    _fit_lapse(store, folder / "lapse", now)
    _fit_content_forecast(store, folder / "content_forecast", now)
    org = _choose(folder, store, now, candidates)
    _opt_out(store, folder / "org", org.opted_out, now)
    return org


def _fill_fixture(store: Store, now: datetime) -> None:
    """The serving tests' fixture rows, moved like the organisation: as far before ``now``
    as their ``NOW`` is before ``GENERATED_END``."""
    moved = now + (serving_data.NOW - GENERATED_END)
    with mock.patch.object(serving_data, "NOW", moved):
        tables = {
            "advocates": serving_data.advocates(),
            "content": serving_data.content(),
            "interactions": serving_data.interactions(),
        }
    for name, rows in tables.items():
        serving_data.write_table(store, name, rows, now=now)


def _generate(store: Store, folder: Path, now: datetime, employees: int) -> None:
    from features.data.synthetic import OrgConfig, generate, write

    config = OrgConfig(
        employees=employees,
        content=60,
        days=90,
        seed=3,
        interactions_per_employee=30,
        end=GENERATED_END,
    )
    org = generate(config)
    moved = {name: _moved(table, now - GENERATED_END) for name, table in org.tables.items()}
    write(replace(org, tables=moved), folder)
    report = import_path(store, folder, context=ValidationContext(now=now))
    assert report.exit_code == 0, report.to_dict()


def _write_held_item(store: Store, now: datetime) -> None:
    """An approved article for everyone whose body the default policy holds (tone)."""
    row = (
        serving_data.content()
        .iloc[[1]]
        .assign(
            content_id=HELD_ITEM,
            title="A word on the market",
            body=HOSTILE,
            published_at=(now - timedelta(days=1)).isoformat(),
            approval_status="approved",
        )
    )
    serving_data.write_table(store, "content", row, now=now)


def _moved(table: pd.DataFrame, by: timedelta) -> pd.DataFrame:
    """``table`` with every time (a timezone-aware column) later by ``by``."""
    times = [c for c in table.columns if isinstance(table[c].dtype, pd.DatetimeTZDtype)]
    return table.assign(**{c: table[c] + by for c in times})


def _fit_scorer(store: Store, folder: Path, now: datetime) -> object:
    """The scorer, saved in ``folder``, with weekly scores of the last six weeks recorded."""
    from training.influence_candidates import backfill_scores
    from training.influence_job import fit_influence

    scorer = fit_influence(Snapshot.load(StoreReader(store), now), **SCORER_CONFIG)
    scorer.save(folder)
    version = FolderSource(folder, INFLUENCERS).fetch()  # the label the service gives it
    assert version is not None
    weeks = [now - timedelta(days=7 * j) for j in range(6, 0, -1)]
    backfill_scores(store, scorer, model_version=version.label, times=weeks)
    return scorer


def _fit_lapse(store: Store, folder: Path, now: datetime) -> None:
    """The lapse model fitted as ``advocacy train`` fits it, saved in ``folder``: a 30-day
    horizon, or 14 days when the 90 days hold a single monthly origin for 30."""
    from training.config import LapseConfig
    from training.lapse_job import InsufficientLapseHistory, fit_lapse, lapse_activity

    snapshot = Snapshot.load(StoreReader(store), now)
    for horizon in (30.0, 14.0):
        settings = LapseConfig(horizon_days=horizon)
        try:
            model = fit_lapse(lapse_activity(snapshot, settings), settings)
        except InsufficientLapseHistory:
            continue
        model.save(folder)
        return
    raise AssertionError("the generated organisation should hold two monthly origins")


def _fit_content_forecast(store: Store, folder: Path, now: datetime) -> None:
    """The content forecast fitted as ``advocacy train`` fits it, saved in ``folder``: two
    weeks of warm-up and 20 items at least (the generated organisation has 60 over 90 days)."""
    from training.config import ContentForecastConfig
    from training.content_forecast_job import fit_content_forecast

    settings = ContentForecastConfig(min_items=20, warmup_days=14.0)
    snapshot = Snapshot.load(StoreReader(store), now)
    fit_content_forecast(snapshot, settings, store=store).save(folder)


def _choose(folder: Path, store: Store, now: datetime, candidates: list) -> Org:
    org = folder / "org"
    events = pd.read_csv(org / "interactions.csv", dtype=str, keep_default_na=False)
    shares = events.loc[events["event_type"] == "share"]
    sharers = set(shares["employee_id"])
    flagged = [c for c in candidates if c.flagged and c.employee_id in sharers]
    assert len(flagged) >= 2, "the lenient scorer should flag a few sharing advocates"
    opted_out = flagged[0].employee_id
    clean = _clean_items(org)
    reviewed, shared_item = next(
        (c.employee_id, item)
        for c in candidates
        if not c.flagged
        for item in shares.loc[shares["employee_id"] == c.employee_id, "content_id"]
        if item in clean
    )
    rest = [c for c in candidates if c.employee_id != opted_out]
    department = next(
        str(c.department)
        for c in rest
        if c.flagged
        and sum(o.department == c.department for o in rest)
        > sum(o.department == c.department and o.flagged for o in rest)
    )
    return Org(folder, store, now, opted_out, reviewed, shared_item, department)


def _clean_items(org: Path) -> set[str]:
    """Approved English items for everyone that never expire: only sharing them makes them
    ineligible."""
    content = pd.read_csv(org / "content.csv", dtype=str, keep_default_na=False)
    open_to_all = (
        (content["approval_status"] == "approved")
        & (content["expires_at"] == "")
        & (content["allowed_regions"] == "")
        & (content["allowed_departments"] == "")
        & (content["allowed_languages"] == "")
        & (content["language"] == "en")
    )
    return set(content.loc[open_to_all, "content_id"])


def _opt_out(store: Store, org: Path, employee_id: str, now: datetime) -> None:
    """Re-import the advocate's row with ``opted_out`` true, as their HR system would."""
    advocates = pd.read_csv(org / "advocates.csv", dtype=str, keep_default_na=False)
    row = advocates.loc[advocates["employee_id"] == employee_id].assign(opted_out="true")
    assert len(row) == 1
    serving_data.write_table(store, "advocates", row, now=now)


@contextmanager
def served(org: Org) -> Iterator[tuple[str, Path]]:
    """``advocacy serve`` over ``org`` in a subprocess: its URL and its log file."""
    options = ["--model-dir", str(org.folder / "model")]
    options += ["--influencer-dir", str(org.folder / "influencers"), "--catalogue-refresh", "2"]
    options += ["--lapse-dir", str(org.folder / "lapse")]
    options += ["--content-forecast-dir", str(org.folder / "content_forecast")]
    env = {"ADVOCACY_CONSOLE_SECRET": CONSOLE_SECRET}
    with serving(launch(org.folder, org.store.url, options, env=env)) as (server,):
        yield server.url, server.log


MAX_SHOT_HEIGHT = 1800


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        return f"{' and '.join(absent)} missing: apt-get install -y chromium chromium-driver"
    return None


def chrome(profile: Path, log: Path) -> webdriver.Chrome:
    """Headless chromium at laptop size with a fresh profile, driven through the system's
    chromedriver (Selenium Manager is never asked to fetch one)."""
    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={LAPTOP[0]},{LAPTOP[1]}")
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(*LAPTOP)
    driver.implicitly_wait(0.5)
    driver.set_page_load_timeout(60)
    return driver


def screenshot(
    driver: webdriver.Chrome, folder: Path, name: str, *, max_height: int = MAX_SHOT_HEIGHT
) -> Path:
    """The page beyond the viewport, down to ``max_height`` CSS pixels (long tables are cut:
    the PNGs are shown in the README), as ``folder/name``."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = min(size["height"], max_height)
    clip = {"x": 0, "y": 0, "width": size["width"], "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
    )
    path = folder / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def phone_screenshot(driver: webdriver.Chrome, folder: Path, name: str) -> Path:
    """The current page re-laid out on a phone-width screen, whole, as ``folder/name``."""
    width, height = PHONE
    metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        driver.refresh()
        return screenshot(driver, folder, name, max_height=PHONE[1] * 2)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
