"""Link clicks, conversions and their planted causal truth in synthetic organisations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data.contract import TABLE_ORDER
from features.data.importer import EXIT_OK, import_path
from features.data.store import Store
from features.data.synthetic import EUR_PER_USD, OrgConfig, SyntheticOrg, activity, generate, write
from features.data.validation import ValidationContext

CONFIG = OrgConfig(employees=3000, content=600, days=120, seed=2, micro_influencer_rate=0.04)
END = pd.Timestamp(CONFIG.end)
START = END - pd.Timedelta(days=CONFIG.days)
LOOKBACK = pd.Timedelta(days=30)
SMALL = OrgConfig(employees=500, content=120, days=90, seed=4, interactions_per_employee=30.0)
FEED = TABLE_ORDER[:6]


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def clicks(org: SyntheticOrg) -> pd.DataFrame:
    """Link clicks with their share's employee, content, network and time."""
    shares = org.tables["interactions"].rename(
        columns={"event_id": "share_event_id", "timestamp": "shared_at"}
    )
    columns = ["share_event_id", "employee_id", "content_id", "network", "event_type", "shared_at"]
    return org.tables["link_clicks"].merge(shares[columns], on="share_event_id", how="left")


@pytest.fixture(scope="module")
def caused(org: SyntheticOrg, clicks: pd.DataFrame) -> pd.DataFrame:
    """Conversions a click caused, with that click (``*_click`` columns) and its share."""
    truth = org.conversion_truth.dropna(subset=["caused_by_click_id"])
    conv = org.tables["conversions"].merge(truth, on="conversion_id")
    return conv.merge(
        clicks, left_on="caused_by_click_id", right_on="click_id", suffixes=("", "_click")
    )


def _paths(org: SyntheticOrg) -> pd.Series:
    """Number of the visitor's clicks in the 30 days before each conversion."""
    conv = org.tables["conversions"][["conversion_id", "visitor_id", "timestamp"]]
    lc = org.tables["link_clicks"][["visitor_id", "timestamp"]].rename(columns={"timestamp": "t"})
    m = conv.merge(lc, on="visitor_id", how="left")
    inside = (m["t"] < m["timestamp"]) & (m["t"] >= m["timestamp"] - LOOKBACK)
    return inside.groupby(m["conversion_id"]).sum()


# --- configuration and determinism ----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("link_click_rate", 1.5),
        ("link_click_rate", -0.1),
        ("clicks_per_visitor", 0.5),
        ("clicks_per_visitor", True),
        ("click_conversion_rate", 2.0),
        ("baseline_conversion_rate", -1.0),
        ("organic_visitor_ratio", 1000.0),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        OrgConfig(**{field: value})


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = write(generate(SMALL), tmp_path / "a", "csv")
    second = write(generate(SMALL), tmp_path / "b", "csv")
    names = {p.name for p in first}
    assert {"link_clicks.csv", "conversions.csv"} <= names
    assert {"ground_truth_attribution.csv", "ground_truth_conversions.csv"} <= names
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_conversion_knobs_leave_the_feed_tables_alone() -> None:
    base = generate(SMALL)
    other = generate(
        OrgConfig(
            employees=500,
            content=120,
            days=90,
            seed=4,
            interactions_per_employee=30.0,
            link_click_rate=0.3,
            clicks_per_visitor=2.0,
            click_conversion_rate=0.2,
        )
    )
    for name in FEED:
        pd.testing.assert_frame_equal(base.tables[name], other.tables[name])
    assert len(other.tables["link_clicks"]) < len(base.tables["link_clicks"])


# --- link clicks ---------------------------------------------------------------------------


def test_clicks_follow_their_share(org: SyntheticOrg, clicks: pd.DataFrame) -> None:
    assert clicks["click_id"].is_unique and len(clicks) > 1000
    assert (clicks["event_type"] == "share").all()
    assert (clicks["timestamp"] > clicks["shared_at"]).all()
    assert (clicks["timestamp"] <= END).all()
    assert clicks["timestamp"].is_monotonic_increasing
    urls = org.tables["content"].set_index("content_id")["url"]
    assert (clicks["landing_url"].to_numpy() == urls.loc[clicks["content_id"]].to_numpy()).all()


def test_share_clicks_follow_the_click_factor(org: SyntheticOrg) -> None:
    outcomes = org.tables["share_outcomes"]
    assert (outcomes["clicks"] <= outcomes["impressions"]).all()
    final = outcomes.sort_values("measured_at").groupby("event_id").tail(1)
    # clicks and reactions are impressions x rate x their factor (3.5 and 0.75)
    ratio = final["clicks"].sum() / final["reactions"].sum()
    assert abs(ratio - activity.CLICK_FACTOR / 0.75) < 0.3
    ctr = final["clicks"].sum() / final["impressions"].sum()
    assert 0.05 < ctr < 0.15


def test_click_factor_leaves_the_other_counts_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    base = generate(SMALL).tables
    monkeypatch.setattr(activity, "CLICK_FACTOR", 0.5)
    low = generate(SMALL).tables
    for name in FEED:
        if name != "share_outcomes":
            pd.testing.assert_frame_equal(base[name], low[name])
    rest = [c for c in base["share_outcomes"].columns if c != "clicks"]
    pd.testing.assert_frame_equal(base["share_outcomes"][rest], low["share_outcomes"][rest])
    assert base["share_outcomes"]["clicks"].sum() > 5 * low["share_outcomes"]["clicks"].sum()


def test_tracked_clicks_thin_the_measured_clicks(org: SyntheticOrg, clicks: pd.DataFrame) -> None:
    outcomes = org.tables["share_outcomes"].sort_values(["event_id", "measured_at"])
    last = outcomes.groupby("event_id").tail(1).set_index("event_id")
    per_share = clicks.groupby("share_event_id").agg(n=("click_id", "size"), t=("timestamp", "max"))
    measured = last.reindex(per_share.index)
    assert (per_share["n"] <= measured["clicks"]).all()
    assert (per_share["t"] <= measured["measured_at"]).all()
    ratio = len(clicks) / last["clicks"].sum()
    assert abs(ratio - CONFIG.link_click_rate) < 0.03


def test_visitors_click_a_share_once_and_return(clicks: pd.DataFrame) -> None:
    assert not clicks.duplicated(["share_event_id", "visitor_id"]).any()
    per_visitor = clicks.groupby("visitor_id").size()
    assert per_visitor[per_visitor >= 2].sum() / len(clicks) > 0.5
    # returning visitors click shares of several colleagues, not one advocate's only
    sharers = clicks.groupby("visitor_id")["employee_id"].nunique()
    assert (sharers[per_visitor >= 3] >= 2).mean() > 0.5


# --- conversions ---------------------------------------------------------------------------


def test_conversions_lie_in_the_window_after_their_cause(
    org: SyntheticOrg, caused: pd.DataFrame
) -> None:
    conv = org.tables["conversions"]
    assert conv["conversion_id"].is_unique and conv["visitor_id"].is_unique  # converts once
    assert ((conv["timestamp"] > START) & (conv["timestamp"] <= END)).all()
    assert conv["timestamp"].is_monotonic_increasing
    assert (caused["timestamp"] > caused["timestamp_click"]).all()
    assert (caused["visitor_id"] == caused["visitor_id_click"]).all()


def test_values_need_currencies(org: SyntheticOrg, caused: pd.DataFrame) -> None:
    conv = org.tables["conversions"]
    valued = conv["value"].notna()
    assert (valued == conv["currency"].notna()).all()
    assert (conv.loc[valued, "value"] >= 0).all()
    assert set(conv["currency"].dropna()) == {"EUR", "USD"}
    kinds = {"lead", "signup", "application", "demo_request", "purchase"}
    assert set(conv["kind"]) == kinds
    assert (valued == conv["kind"].isin(["lead", "demo_request", "purchase"])).all()
    # visitors brought by North-American advocates pay in USD, the others in EUR
    region = org.tables["advocates"].set_index("employee_id")["region"]
    north_america = region.loc[caused["employee_id"]].to_numpy() == "NA"
    paid = caused["currency"].notna().to_numpy()
    assert ((caused["currency"].to_numpy() == "USD") == (north_america & paid)).all()


def test_kind_follows_the_cause_content_type(org: SyntheticOrg, caused: pd.DataFrame) -> None:
    ctype = org.tables["content"].set_index("content_id")["content_type"]
    pairs = pd.DataFrame(
        {"type": ctype.loc[caused["content_id"]].to_numpy(), "kind": caused["kind"]}
    )
    allowed = {"job": {"application"}, "product": {"demo_request", "purchase"}}
    for content_type, kinds in pairs.groupby("type")["kind"]:
        assert set(kinds) <= allowed.get(content_type, {"lead", "signup"}), content_type


# --- ground truth ------------------------------------------------------------------------------


def test_truth_rolls_up_the_per_conversion_causes(
    org: SyntheticOrg, clicks: pd.DataFrame, caused: pd.DataFrame
) -> None:
    truth, conv = org.conversion_truth, org.tables["conversions"]
    assert list(truth["conversion_id"]) == list(conv["conversion_id"])
    causes = truth["caused_by_click_id"]
    assert causes.notna().sum() + causes.isna().sum() == len(conv)
    assert set(causes.dropna()) <= set(clicks["click_id"])
    eur = np.where(conv["currency"] == "USD", conv["value"] * EUR_PER_USD, conv["value"])
    np.testing.assert_allclose(truth["value_eur"], eur, atol=0.006)
    rolled = org.attribution_truth
    for level, column in (
        ("advocate", "employee_id"),
        ("content", "content_id"),
        ("network", "network"),
    ):
        got = rolled[rolled["level"] == level].set_index("id")
        assert (got["clicks"] > 0).all() and got.index.is_unique
        assert got["clicks"].sum() == len(clicks)
        pd.testing.assert_series_equal(
            got["clicks"], clicks.groupby(column).size(), check_names=False
        )
        assert got["true_conversions"].sum() == len(caused)
        n = caused.groupby(column).size().reindex(got.index, fill_value=0)
        pd.testing.assert_series_equal(got["true_conversions"], n, check_names=False)
        value = caused.groupby(column)["value_eur"].sum().reindex(got.index, fill_value=0.0)
        np.testing.assert_allclose(got["true_value"], value, atol=0.01)


def test_baseline_and_multi_touch_paths(org: SyntheticOrg, caused: pd.DataFrame) -> None:
    conv = org.tables["conversions"]
    baseline = org.conversion_truth["caused_by_click_id"].isna().mean()
    assert 0.1 < baseline < 0.5
    paths = _paths(org)
    assert (paths == 0).mean() > 0.05  # conversions without any path
    assert (paths[paths > 0] >= 2).mean() > 0.3
    assert paths[paths > 0].mean() > 1.8
    # last touch is often wrong: the click just before the conversion is not always its cause
    lc = org.tables["link_clicks"]
    m = conv.merge(lc, on="visitor_id", suffixes=("", "_click"))
    m = m[m["timestamp_click"] < m["timestamp"]].sort_values("timestamp_click")
    last = m.groupby("conversion_id")["click_id"].last()
    truth = caused.set_index("conversion_id")["caused_by_click_id"]
    assert (last.reindex(truth.index) == truth).mean() < 0.85


def test_planted_heterogeneity_is_visible(org: SyntheticOrg, clicks: pd.DataFrame) -> None:
    truth = org.attribution_truth
    adv = truth[truth["level"] == "advocate"]
    low, high = adv["planted_effect"].quantile([0.25, 0.75])
    top, bottom = adv[adv["planted_effect"] >= high], adv[adv["planted_effect"] <= low]
    rate_top = top["true_conversions"].sum() / top["clicks"].sum()
    rate_bottom = bottom["true_conversions"].sum() / bottom["clicks"].sum()
    assert rate_top > 2 * rate_bottom
    # content types: job posts convert more per click than culture posts
    content = truth[truth["level"] == "content"].set_index("id")
    ctype = org.tables["content"].set_index("content_id")["content_type"]
    by_type = content.groupby(ctype.loc[content.index].to_numpy())[["true_conversions", "clicks"]]
    rate = by_type.sum()["true_conversions"] / by_type.sum()["clicks"]
    assert rate["job"] > 1.5 * rate["culture"]
    # reach is not effectiveness: the planted effect does not follow an advocate's clicks
    assert abs(np.corrcoef(np.log(adv["clicks"]), np.log(adv["planted_effect"]))[0, 1]) < 0.2


def test_written_folder_imports_without_rejections(
    sqlite_store: Store, context: ValidationContext, tmp_path: Path
) -> None:
    assert context.now > CONFIG.end
    small = generate(SMALL)
    paths = write(small, tmp_path / "org")
    assert not {p.stem for p in paths if p.stem.startswith("ground_truth")} & set(TABLE_ORDER)
    report = import_path(sqlite_store, tmp_path / "org", context=context)
    assert report.exit_code == EXIT_OK, report.to_dict()["rejections"][:5]
    assert not report.rejections
    assert {t: sqlite_store.count(t) for t in TABLE_ORDER} == {
        t: len(small.tables[t]) for t in TABLE_ORDER
    }
    assert sqlite_store.count("conversions") > 0
