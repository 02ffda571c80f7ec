"""Tests of the synthetic organisation generator (small configs, runs in seconds)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data.contract import (
    APPROVAL_STATUSES,
    EVENT_TYPES,
    NETWORKS,
    SENIORITIES,
    TABLE_ORDER,
    TABLES,
)
from features.data.synthetic import OrgConfig, SyntheticOrg, generate, write

CONFIG = OrgConfig(
    employees=800,
    content=200,
    days=90,
    seed=7,
    interactions_per_employee=40.0,
    micro_influencer_rate=0.04,
)
END = pd.Timestamp(CONFIG.end)
START = END - pd.Timedelta(days=CONFIG.days)
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def csv_dir(org: SyntheticOrg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("csv")
    write(org, out, "csv")
    return out


def _last_outcomes(org: SyntheticOrg) -> pd.DataFrame:
    """The latest measurement of each share, with the sharer's ground truth."""
    outcomes = org.tables["share_outcomes"].sort_values("measured_at")
    last = outcomes.groupby("event_id").tail(1)
    shares = org.tables["interactions"][["event_id", "employee_id"]]
    return last.merge(shares, on="event_id").merge(org.ground_truth, on="employee_id")


# --- configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("employees", 0),
        ("employees", 1.5),
        ("employees", True),
        ("content", -3),
        ("days", 0),
        ("days", 100_000),
        ("seed", -1),
        ("interactions_per_employee", -1.0),
        ("micro_influencer_rate", 1.5),
        ("opt_out_rate", -0.1),
        ("end", datetime(2026, 1, 1)),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        OrgConfig(**{field: value})


# --- determinism and file format -------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_config_gives_identical_files(tmp_path: Path, fmt: str) -> None:
    config = OrgConfig(employees=300, content=80, days=60, interactions_per_employee=20.0, seed=3)
    first = write(generate(config), tmp_path / "a", fmt)
    second = write(generate(config), tmp_path / "b", fmt)
    truth = ("influencers", "attribution", "conversions")
    assert [p.name for p in first] == [f"{t}.{fmt}" for t in TABLE_ORDER] + [
        f"ground_truth_{name}.{fmt}" for name in truth
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    base = dict(employees=300, content=80, days=60, interactions_per_employee=20.0)
    first = write(generate(OrgConfig(seed=1, **base)), tmp_path / "a")
    second = write(generate(OrgConfig(seed=2, **base)), tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() != b.read_bytes(), a.name


def test_tables_have_exact_contract_columns(org: SyntheticOrg) -> None:
    assert list(org.tables) == list(TABLE_ORDER)
    for name, frame in org.tables.items():
        assert tuple(frame.columns) == TABLES[name].field_names, name
        assert len(frame) > 0, name
        assert not frame.duplicated(list(TABLES[name].key)).any(), name


def test_csv_format(csv_dir: Path) -> None:
    for name in TABLE_ORDER:
        spec = TABLES[name]
        frame = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        assert tuple(frame.columns) == spec.field_names
        for field in spec.fields:
            values = frame[field.name][frame[field.name] != ""]
            if field.kind.value == "timestamp":
                assert values.str.match(TS_RE).all(), (name, field.name)
            elif field.kind.value == "date":
                assert values.str.match(DATE_RE).all(), (name, field.name)
            elif field.kind.value == "bool":
                assert set(values) <= {"true", "false"}, (name, field.name)
            elif field.kind.value == "enum":
                assert set(values) <= set(field.choices), (name, field.name)
            if field.required:
                assert len(values) == len(frame), (name, field.name)
    advocates = pd.read_csv(csv_dir / "advocates.csv", dtype=str, keep_default_na=False)
    assert advocates["languages"].str.contains(";").any()
    interactions = pd.read_csv(csv_dir / "interactions.csv", dtype=str, keep_default_na=False)
    assert (interactions["value"] == "").all()
    assert interactions["event_id"].str.match(r"^e\d{9}$").all()
    gt = pd.read_csv(csv_dir / "ground_truth_influencers.csv", dtype=str, keep_default_na=False)
    assert {"employee_id", "tier", "influence_multiplier"} <= set(gt.columns)


def test_parquet_holds_the_same_strings(org: SyntheticOrg, csv_dir: Path, tmp_path: Path) -> None:
    paths = write(org, tmp_path, "parquet")
    for path in paths:
        from_parquet = pd.read_parquet(path).fillna("").astype(str)
        from_csv = pd.read_csv(csv_dir / f"{path.stem}.csv", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(
            from_parquet.reset_index(drop=True), from_csv, check_dtype=False
        )


def test_write_rejects_unknown_format(org: SyntheticOrg, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        write(org, tmp_path, "json")  # type: ignore[arg-type]


def test_ground_truth_stays_out_of_contract_tables(org: SyntheticOrg) -> None:
    planted = set(org.ground_truth.columns) - {"employee_id", "department", "opted_out"}
    planted |= set(org.attribution_truth.columns) - {"id", "clicks"}
    planted |= set(org.conversion_truth.columns) - {"conversion_id"}
    for frame in org.tables.values():
        assert not planted & set(frame.columns)


# --- integrity ---------------------------------------------------------------------------


def test_referential_integrity(org: SyntheticOrg) -> None:
    t = org.tables
    employees = set(t["advocates"]["employee_id"])
    assert set(t["interactions"]["employee_id"]) <= employees
    assert set(t["interactions"]["content_id"]) <= set(t["content"]["content_id"])
    assert set(t["content"]["author_id"]) <= employees
    assert set(t["social_accounts"]["employee_id"]) <= employees
    assert set(t["org_edges"]["employee_a"]) | set(t["org_edges"]["employee_b"]) <= employees
    shares = t["interactions"].loc[t["interactions"]["event_type"] == "share", "event_id"]
    assert set(t["share_outcomes"]["event_id"]) <= set(shares)
    assert set(org.ground_truth["employee_id"]) == employees


def test_interaction_volume_window_and_funnel(org: SyntheticOrg) -> None:
    events = org.tables["interactions"]
    target = CONFIG.employees * CONFIG.interactions_per_employee
    assert 0.9 * target <= len(events) <= 1.1 * target
    assert events["event_id"].is_unique and events["event_id"].is_monotonic_increasing
    assert events["timestamp"].is_monotonic_increasing
    assert (events["timestamp"] > START).all() and (events["timestamp"] <= END).all()
    assert set(events["event_type"]) <= set(EVENT_TYPES)
    counts = events["event_type"].value_counts()
    assert counts["impression"] > 3 * counts["view"] > 3 * counts["click"]
    assert counts["click"] > counts[["like", "bookmark", "comment"]].max()
    assert counts[["like", "bookmark", "comment"]].min() > counts["share"] > 0


def test_interactions_only_on_live_approved_eligible_content(org: SyntheticOrg) -> None:
    content = org.tables["content"].set_index("content_id")
    advocates = org.tables["advocates"].set_index("employee_id")
    events = org.tables["interactions"]
    item = content.loc[events["content_id"]].reset_index(drop=True)
    who = advocates.loc[events["employee_id"]].reset_index(drop=True)
    assert (item["approval_status"] == "approved").all()
    assert (item["published_at"] <= events["timestamp"]).all()
    expires = item["expires_at"]
    assert (expires.isna() | (events["timestamp"] < expires)).all()
    for allowed, own in (("allowed_regions", "region"), ("allowed_departments", "department")):
        ok = [not a or o in a for a, o in zip(item[allowed], who[own], strict=True)]
        assert all(ok), allowed
    ok = [
        not a or bool(set(a) & set(o))
        for a, o in zip(item["allowed_languages"], who["languages"], strict=True)
    ]
    assert all(ok)


def test_network_only_on_shares_and_where_an_account_exists(org: SyntheticOrg) -> None:
    events = org.tables["interactions"]
    is_share = events["event_type"] == "share"
    assert (events["network"].notna() == is_share).all()
    accounts = set(
        zip(*org.tables["social_accounts"][["employee_id", "network"]].values.T, strict=True)
    )
    shared = zip(events.loc[is_share, "employee_id"], events.loc[is_share, "network"], strict=True)
    advocates = org.tables["advocates"]
    opted = set(advocates.loc[advocates["opted_out"], "employee_id"])  # snapshots not stored
    assert {(e, n) for e, n in shared if e not in opted} <= accounts
    assert not opted & set(org.tables["social_accounts"]["employee_id"])
    edges = org.tables["org_edges"]
    assert not opted & (set(edges["employee_a"]) | set(edges["employee_b"]))
    assert set(events.loc[is_share, "network"]) <= set(NETWORKS)


def test_observations_are_not_in_the_future(org: SyntheticOrg) -> None:
    t = org.tables
    assert (t["social_accounts"]["as_of"] <= END).all()
    assert (t["share_outcomes"]["measured_at"] <= END).all()
    shares = t["interactions"].set_index("event_id")["timestamp"]
    shared_at = shares.loc[t["share_outcomes"]["event_id"]].to_numpy()
    assert (t["share_outcomes"]["measured_at"].to_numpy() > shared_at).all()
    content = t["content"]
    approved = content[content["approval_status"] == "approved"]
    assert (approved["published_at"] <= END).all()
    has_expiry = content["expires_at"].notna()
    assert (content.loc[has_expiry, "expires_at"] > content.loc[has_expiry, "published_at"]).all()
    assert (t["advocates"]["hire_date"] < END.tz_localize(None)).all()


def test_org_edges(org: SyntheticOrg) -> None:
    edges = org.tables["org_edges"]
    assert (edges["employee_a"] != edges["employee_b"]).all()
    assert (edges["weight"] > 0).all()
    assert {"manager", "team", "email", "mention"} <= set(edges["kind"])
    managers = edges[edges["kind"] == "manager"]
    assert managers["employee_b"].is_unique  # one manager each: a forest
    dept = org.tables["advocates"].set_index("employee_id")["department"]
    same = dept.loc[managers["employee_a"]].values == dept.loc[managers["employee_b"]].values
    assert same.all()
    advocates = org.tables["advocates"]
    stored = set(advocates.loc[~advocates["opted_out"], "employee_id"])  # opted out: no edges
    roots = stored - set(managers["employee_b"])
    assert len(roots) >= dept.nunique()  # a tree per department, split at opted-out managers
    parent = dict(zip(managers["employee_b"], managers["employee_a"], strict=True))
    for node in stored:
        for _ in range(len(dept)):
            if node not in parent:
                break
            node = parent[node]
        assert node in roots
    email = edges[edges["kind"] == "email"]
    inside = dept.loc[email["employee_a"]].values == dept.loc[email["employee_b"]].values
    assert 0.6 < inside.mean() < 0.99


# --- realism and planted structure -------------------------------------------------------


def test_advocates_look_like_an_org(org: SyntheticOrg) -> None:
    adv = org.tables["advocates"]
    assert set(adv["seniority"]) <= set(SENIORITIES)
    counts = adv["seniority"].value_counts()
    assert counts["mid"] > counts["manager"] > counts.get("executive", 0)
    assert adv["department"].nunique() >= 8
    assert set(adv["region"]) == {"EMEA", "NA", "LATAM", "APAC"}
    assert all("en" in langs for langs in adv["languages"])
    assert 0.0 < adv["opted_out"].mean() < 0.1
    assert adv["interests"].map(len).mean() > 1.5


def test_content_catalogue(org: SyntheticOrg) -> None:
    content = org.tables["content"]
    assert set(content["approval_status"]) <= set(APPROVAL_STATUSES)
    assert (content["approval_status"] == "approved").mean() > 0.75
    assert {"article", "job", "event", "product", "culture", "video"} <= set(
        content["content_type"]
    )
    assert content["topics"].map(len).between(1, 3).all()
    assert (content["title"].str.len() > 10).all() and content["url"].str.startswith(
        "https://"
    ).all()
    restricted = content[["allowed_regions", "allowed_departments", "allowed_languages"]].map(len)
    assert 0.0 < (restricted.sum(axis=1) > 0).mean() < 0.4
    assert (content["language"] == "en").mean() > 0.6
    jobs = content[content["content_type"] == "job"]
    assert jobs["expires_at"].notna().all()


def test_micro_influencers_engage_more_per_impression(org: SyntheticOrg) -> None:
    gt = org.ground_truth
    micro = gt[gt["tier"] == "micro"]
    eligible = (~gt["opted_out"]).sum()
    assert len(micro) == round(CONFIG.micro_influencer_rate * eligible)
    assert not micro["opted_out"].any()
    assert micro["influence_multiplier"].between(3, 6).all()
    m = _last_outcomes(org)
    m["engaged"] = m["reactions"] + m["comments"] + m["reshares"]
    by = m.groupby(m["tier"] == "micro")[["engaged", "impressions"]].sum()
    rate = by["engaged"] / by["impressions"]
    assert rate[True] > 2.5 * rate[False]
    # consistent across sharers, not one viral post: most micro sharers beat the median
    per = m.groupby("employee_id")[["engaged", "impressions"]].sum()
    per = per[per["impressions"] >= 50]
    per_rate = per["engaged"] / per["impressions"]
    micro_ids = set(micro["employee_id"])
    is_micro = per_rate.index.isin(list(micro_ids))
    assert (per_rate[is_micro] > per_rate[~is_micro].median()).mean() > 0.8


def test_micro_influencer_followers_in_band_and_confounders(org: SyntheticOrg) -> None:
    accounts = org.tables["social_accounts"]
    gt = org.ground_truth.set_index("employee_id")
    best = accounts.groupby(["employee_id", "as_of"])["followers"].max()
    tier = gt.loc[best.index.get_level_values(0), "tier"].values
    assert best[tier == "micro"].between(1_000, 100_000).all()
    # the biggest audiences are macro accounts, and they do not engage like micro-influencers
    biggest = accounts.groupby("employee_id")["followers"].max().nlargest(1).index
    assert (gt.loc[biggest, "tier"] == "macro").all()
    assert (gt.loc[gt["tier"] == "macro", "influence_multiplier"] < 1).all()
    # heavy sharers share most but engage least
    events = org.tables["interactions"]
    shares = events[events["event_type"] == "share"].groupby("employee_id").size()
    top = shares.nlargest(5).index
    assert (gt.loc[top, "tier"] != "micro").sum() >= 2
    assert len(accounts.groupby(["employee_id", "network"])) < len(accounts)  # snapshots


def test_teammates_share_interests(org: SyntheticOrg) -> None:
    interests = org.tables["advocates"].set_index("employee_id")["interests"].map(set)

    def jaccard(a: pd.Series, b: pd.Series) -> float:
        pairs = zip(interests.loc[a], interests.loc[b], strict=True)
        return float(np.mean([len(x & y) / len(x | y) if x | y else 0.0 for x, y in pairs]))

    team = org.tables["org_edges"].query("kind == 'team'")
    rng = np.random.default_rng(0)
    ids = interests.index.to_numpy()
    random_a, random_b = rng.choice(ids, 5000), rng.choice(ids, 5000)
    assert jaccard(team["employee_a"], team["employee_b"]) > 1.5 * jaccard(
        pd.Series(random_a), pd.Series(random_b)
    )


def test_popularity_decays_with_content_age(org: SyntheticOrg) -> None:
    events = org.tables["interactions"]
    published = org.tables["content"].set_index("content_id")["published_at"]
    shown = published.loc[events["content_id"]].reset_index(drop=True)
    age = (events["timestamp"] - shown).dt.total_seconds()
    days = np.floor(age / 86_400).astype(int)
    per_day = np.bincount(days, minlength=8)[:8]
    assert (np.diff(per_day[:6]) < 0).all()
    assert per_day[0] > 1.2 * per_day[2] > 1.2**2 * per_day[4]  # half-life ~2 days
    assert per_day[0] > 4 * per_day[7]
    assert (days < 4).mean() > 0.6


def test_daily_and_weekly_rhythm(org: SyntheticOrg) -> None:
    ts = org.tables["interactions"]["timestamp"]
    weekend = ts.dt.day_of_week >= 5
    assert weekend.mean() < 0.2  # two of seven days carry well under 2/7 of the events
    assert timedelta(0) < (ts.max() - ts.min()) <= timedelta(days=CONFIG.days)
