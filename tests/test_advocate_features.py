"""Advocate feature builders: profile, sharing history, audience (literal data, a small org)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from features.advocate_profile import AdvocateProfile
from features.audience import AudienceFeatures
from features.data.synthetic import OrgConfig, generate
from features.org_network import OrgNetwork
from features.sharing_history import SharingHistory
from features.snapshot import Snapshot
from recsys.errors import OptedOutError
from recsys.ids import IdMap, UnknownIdError
from recsys.matrix import FeatureMatrix

AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
DAY = pd.Timedelta(days=1)
PROFILED = ["ana", "ben", "dan", "fay"]  # cara opted out


def _at(days_before: float) -> pd.Timestamp:
    return AS_OF - days_before * DAY


def _advocates() -> pd.DataFrame:
    rows = [
        ("ana", "Engineering", "Engineer", "senior", "EMEA", "DE", ["de", "en"], "2020-10-01",
         ["ai", "cloud"], False),
        ("ben", "Sales", "Account Executive", "junior", "NA", "US", ["en"], None, ["sales"], False),
        ("cara", "HR", "Recruiter", None, "EMEA", "FR", ["fr"], "2026-09-01", [], True),
        ("dan", "Engineering", "Engineer", "mid", "APAC", "JP", ["ja", "en"], "2019-01-01",
         ["ai"], False),
        ("fay", "Sales", "Account Executive", "lead", "NA", "US", ["en"], "2027-01-01", [], None),
    ]  # fmt: skip
    columns = ["employee_id", "department", "role", "seniority", "region", "country"]
    columns += ["languages", "hire_date", "interests", "opted_out"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(hire_date=pd.to_datetime(frame["hire_date"]))


def _content() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "content_id": ["c1", "c2", "c3"],
            "content_type": ["article", "job", "event"],
            "topics": [["ai"], ["hiring"], ["events"]],
            "published_at": [_at(60)] * 3,
        }
    )


def _interactions(later: bool = True) -> pd.DataFrame:
    rows = [
        ("e1", "ana", "c1", "view", None, _at(1)),
        ("e2", "ana", "c1", "click", None, _at(1)),
        ("e3", "ana", "c1", "share", "linkedin", _at(1)),
        ("e4", "ana", "c2", "view", None, _at(40)),
        ("e5", "ben", "c2", "view", None, _at(10)),
        ("e6", "ben", "c2", "share", "x", _at(10)),
        ("e7", "cara", "c3", "share", "linkedin", _at(2)),
        ("e8", "ana", "c3", "impression", None, _at(3)),
        ("e10", "ben", "c1", "share", "linkedin", _at(20)),
    ]
    if later:
        rows += [
            ("e9", "ana", "c3", "share", "linkedin", _at(-1)),
            ("e11", "dan", "c2", "like", None, _at(-0.5)),
        ]
    columns = ["event_id", "employee_id", "content_id", "event_type", "network", "timestamp"]
    return pd.DataFrame(rows, columns=columns).assign(value=np.nan)


def _outcomes(later: bool = True) -> pd.DataFrame:
    rows = [
        ("e3", _at(0.9), 50, 1, 2, 0, 0),  # an earlier measurement of e3: superseded
        ("e3", _at(0.5), 100, 5, 8, 1, 1),  # engagement 10
        ("e6", _at(5), 200, 2, 2, 0, 0),  # engagement 2
        ("e10", _at(15), 100, None, 6, None, 0),  # engagement 6, clicks missing
        ("e7", _at(1), 900, 90, 90, 9, 9),  # cara: opted out
    ]
    if later:
        rows += [("e3", _at(-1), 1000, 50, 80, 10, 10), ("e9", _at(-2), 10, 1, 1, 1, 1)]
    columns = ["event_id", "measured_at", "impressions", "clicks", "reactions", "comments"]
    return pd.DataFrame(rows, columns=[*columns, "reshares"])


def _accounts(later: bool = True) -> pd.DataFrame:
    rows = [
        ("ana", "linkedin", 500, 300, 12, _at(30)),
        ("ana", "linkedin", 600, 320, 13, _at(1)),
        ("ana", "x", 50, None, None, _at(1)),
        ("ben", "linkedin", 1000, 10, 2, _at(2)),
        ("cara", "linkedin", 5000, 10, 2, _at(2)),
    ]
    if later:
        rows += [("ana", "linkedin", 9999, 1, 1, _at(-1)), ("dan", "xing", 70, 1, 1, _at(-1))]
    columns = ["employee_id", "network", "followers", "following", "posts_last_90d", "as_of"]
    return pd.DataFrame(rows, columns=columns)


def _frames(later: bool = True) -> dict[str, pd.DataFrame]:
    return {
        "advocates": _advocates(),
        "content": _content(),
        "interactions": _interactions(later),
        "share_outcomes": _outcomes(later),
        "social_accounts": _accounts(later),
        "org_edges": pd.DataFrame(
            {
                "employee_a": ["ana", "ben", "cara"],
                "employee_b": ["ben", "fay", "ana"],
                "weight": [1.0, 2.0, 3.0],
                "kind": ["team", "email", "email"],
            }
        ),
    }


def _uncut(frames: dict[str, pd.DataFrame]) -> Snapshot:
    """A snapshot that still holds events after ``as_of`` (builders must ignore them)."""
    full = Snapshot.from_frames(AS_OF + 30 * DAY, **frames)
    return replace(full, as_of=AS_OF)


@pytest.fixture
def snapshot() -> Snapshot:
    return Snapshot.from_frames(AS_OF, **_frames())


def _embeddings() -> FeatureMatrix:
    return FeatureMatrix(
        np.eye(3), ("e0", "e1", "e2"), IdMap(np.array(["c1", "c2", "c3"]), "content")
    )


def _frame(matrix: FeatureMatrix) -> pd.DataFrame:
    values = matrix.values.toarray() if sp.issparse(matrix.values) else matrix.values
    return pd.DataFrame(values, index=list(matrix.ids.external), columns=list(matrix.names))


# --- AdvocateProfile ---------------------------------------------------------------------


def test_profile_values_include_opted_out_advocates(snapshot: Snapshot) -> None:
    matrix = AdvocateProfile().fit(snapshot).transform(snapshot)
    assert matrix.ids.kind == "advocate"
    frame = _frame(matrix)
    assert list(frame.index) == ["ana", "ben", "cara", "dan", "fay"]
    assert frame.loc["ana", "department=Engineering"] == 1
    assert frame.loc["ana", "seniority=senior"] == 1
    assert frame.loc["ana", "seniority_level"] == pytest.approx(3 / 7)
    assert frame.loc["ana", ["language=de", "language=en"]].tolist() == [1, 1]
    assert frame.loc["ana", "tenure_years"] == pytest.approx(6.0, abs=0.01)
    assert frame.loc["ana", ["interest=ai", "interest=cloud"]].tolist() == [1, 1]
    assert frame.loc["ben", ["tenure_years", "tenure_missing"]].tolist() == [0, 1]
    assert frame.loc["cara", "tenure_years"] == pytest.approx(30 / 365.25, rel=1e-5)
    seniority = [c for c in frame.columns if c.startswith("seniority=")]
    assert frame.loc["cara", seniority].sum() == 0 and frame.loc["cara", "seniority_missing"] == 1
    assert frame.loc["fay", ["tenure_years", "tenure_missing"]].tolist() == [0, 0]  # future hire


def test_profile_new_advocate_and_unknown_ids(snapshot: Snapshot) -> None:
    builder = AdvocateProfile(max_interests=2).fit(snapshot)
    assert builder.interests_ == ["ai", "cloud"]
    newcomer = pd.DataFrame(
        [("gus", "Legal", "Counsel", "cto", None, None, None, pd.NaT, ["ai", "law"], False)],
        columns=_advocates().columns,
    )
    later = Snapshot.from_frames(AS_OF, advocates=pd.concat([_advocates(), newcomer]))
    row = _frame(builder.transform(later, ["gus"])).loc["gus"]
    assert row["department=__other__"] == 1 and row["role=__other__"] == 1
    assert row["seniority=__other__"] == 1 and row["seniority_missing"] == 1
    assert row["interest=ai"] == 1 and row["tenure_missing"] == 1
    assert row[[c for c in row.index if c.startswith("region=")]].sum() == 0
    with pytest.raises(KeyError, match="zed"):
        builder.transform(snapshot, ["zed"])
    with pytest.raises(NotFittedError):
        AdvocateProfile().transform(snapshot)


# --- SharingHistory ----------------------------------------------------------------------


def test_history_counts_recency_types_networks_and_trend(snapshot: Snapshot) -> None:
    builder = SharingHistory().fit(snapshot)
    frame = _frame(builder.transform(snapshot))
    assert list(frame.index) == PROFILED
    ana, dan = frame.loc["ana"], frame.loc["dan"]
    assert ana["log_count:view"] == pytest.approx(np.log1p(2))
    assert ana["log_count:impression"] == pytest.approx(np.log1p(1))
    assert ana["log_count:active"] == pytest.approx(np.log1p(4))  # impressions are not active
    assert ana["days_since:share"] == pytest.approx(1.0)
    assert ana["days_since:view"] == pytest.approx(1.0)
    assert ana["days_since:impression"] == pytest.approx(3.0)
    assert ana["days_since:like"] == 365.0 and dan["days_since:active"] == 365.0
    assert ana["log_count:view:type=article"] == pytest.approx(np.log1p(1))
    assert ana["log_count:view:type=job"] == pytest.approx(np.log1p(1))
    assert ana["log_count:share:network=linkedin"] == pytest.approx(np.log1p(1))
    assert frame.loc["ben", "log_count:share:network=x"] == pytest.approx(np.log1p(1))
    assert ana["log_distinct_content"] == pytest.approx(np.log1p(2))
    assert ana["share_per_view"] == pytest.approx(1 / 3)
    rate_now, rate_then = (3 + 2 / 3) / 30, (1 + 4 / 3) / 60
    assert ana["trend:log_ratio"] == pytest.approx(np.log(rate_now / rate_then), rel=1e-5)
    assert ana["log_count:last_30d"] == pytest.approx(np.log1p(3))
    assert dan["trend:log_ratio"] == 0.0
    assert (dan.drop([c for c in frame.columns if c.startswith("days_since")]) == 0).all()
    assert not any(c.startswith("affinity") for c in frame.columns)


def test_history_topic_affinity(snapshot: Snapshot) -> None:
    builder = SharingHistory(embeddings=_embeddings(), half_life_days=30).fit(snapshot)
    frame = _frame(builder.transform(snapshot))
    affinity = ["affinity:e0", "affinity:e1", "affinity:e2"]
    c1, c2 = (1 + 2 + 8) * 2 ** (-1 / 30), 1 * 2 ** (-40 / 30)  # view+click+share, old view
    expected = np.array([c1, c2, 0.0]) / np.hypot(c1, c2)
    np.testing.assert_allclose(frame.loc["ana", affinity], expected, rtol=1e-5)
    assert frame.loc["ana", "affinity_mass"] == pytest.approx(np.log1p(c1 + c2), rel=1e-5)
    assert frame.loc["dan", affinity].tolist() == [0, 0, 0]
    assert np.linalg.norm(frame.loc["ben", affinity]) == pytest.approx(1.0)
    via_argument = SharingHistory().fit(snapshot).transform(snapshot, embeddings=_embeddings())
    np.testing.assert_allclose(_frame(via_argument)[affinity], frame[affinity])
    partial = FeatureMatrix(np.eye(1), ("e0",), IdMap(np.array(["c9"]), "content"))
    zeros = _frame(builder.transform(snapshot, embeddings=partial))
    assert (zeros["affinity:e0"] == 0).all()


def test_history_opt_out_unknown_ids_and_empty_history(snapshot: Snapshot) -> None:
    builder = SharingHistory().fit(snapshot)
    with pytest.raises(OptedOutError, match="opt-out policy") as caught:
        builder.transform(snapshot, ["ana", "cara"])
    assert caught.value.ids == ["cara"]
    with pytest.raises(UnknownIdError, match="zed"):
        builder.transform(snapshot, ["zed"])
    assert list(builder.transform(snapshot, ["fay", "ana"]).ids.external) == ["fay", "ana"]
    empty = Snapshot.from_frames(AS_OF, advocates=_advocates())
    frame = _frame(SharingHistory(embeddings=_embeddings()).fit(empty).transform(empty))
    assert list(frame.index) == PROFILED
    assert (frame.filter(like="log_count").to_numpy() == 0).all()
    with pytest.raises(ValueError, match="unknown event type"):
        SharingHistory(event_weights={"retweet": 1.0}).fit(snapshot)


# --- AudienceFeatures --------------------------------------------------------------------


def test_audience_accounts_and_outcomes(snapshot: Snapshot) -> None:
    frame = _frame(AudienceFeatures().fit(snapshot).transform(snapshot))
    assert list(frame.index) == PROFILED
    ana, ben, dan = frame.loc["ana"], frame.loc["ben"], frame.loc["dan"]
    assert ana[["has_linkedin", "followers_linkedin", "following_linkedin"]].tolist() == [
        1,
        600,
        320,
    ]
    assert ana["posts_90d_linkedin"] == 13 and ana["log_followers_linkedin"] == pytest.approx(
        np.log1p(600)
    )
    assert ana[["has_x", "followers_x", "following_x", "has_facebook"]].tolist() == [1, 50, 0, 0]
    assert ana[["followers_max", "n_networks"]].tolist() == [600, 2]
    assert ana[["shares_measured", "engagement_per_share", "clicks_per_share"]].tolist() == [
        1,
        10,
        5,
    ]
    assert ana["engagement_rate"] == pytest.approx(0.1) and ana["click_rate"] == pytest.approx(0.05)
    assert ana[["engagement_rate_std", "engagement_cv", "top_share_fraction"]].tolist() == [0, 0, 1]
    assert ben["shares_measured_x"] == 1 and ben["shares_measured_linkedin"] == 1
    assert ben["engagement_rate_x"] == pytest.approx(0.01)
    assert ben["engagement_rate"] == pytest.approx(8 / 300)
    assert ben["engagement_rate_mean"] == pytest.approx(0.035)
    assert ben["engagement_rate_std"] == pytest.approx(0.025)
    assert ben["engagement_cv"] == pytest.approx(0.5)  # engagement 2 and 6: std 2, mean 4
    assert ben["top_share_fraction"] == pytest.approx(0.75)
    assert ben["clicks_per_share"] == pytest.approx(1.0)  # 2 clicks + a missing count
    assert (dan == 0).all()


def test_audience_opt_out_and_missing_tables(snapshot: Snapshot) -> None:
    builder = AudienceFeatures(networks=("linkedin",)).fit(snapshot)
    with pytest.raises(OptedOutError, match="cara"):
        builder.transform(snapshot, ["cara"])
    empty = Snapshot.from_frames(AS_OF, advocates=_advocates())
    frame = _frame(builder.transform(empty))
    assert list(frame.index) == PROFILED and (frame.to_numpy() == 0).all()
    assert "has_linkedin" in frame.columns and "has_x" not in frame.columns
    with pytest.raises(ValueError, match="myspace"):
        AudienceFeatures(networks=("myspace",)).fit(snapshot)


# --- as-of correctness -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        AdvocateProfile,
        lambda: SharingHistory(embeddings=_embeddings()),
        AudienceFeatures,
        OrgNetwork,
    ],
    ids=["profile", "history", "audience", "network"],
)
def test_features_as_of_ignore_later_events(make: type) -> None:
    without = Snapshot.from_frames(AS_OF, **_frames(later=False))
    expected = make().fit(without).transform(without)
    for snapshot in (Snapshot.from_frames(AS_OF, **_frames()), _uncut(_frames())):
        got = make().fit(snapshot).transform(snapshot)
        assert got.names == expected.names
        assert list(got.ids.external) == list(expected.ids.external)
        np.testing.assert_array_equal(_frame(got).to_numpy(), _frame(expected).to_numpy())


# --- a small synthetic organisation ------------------------------------------------------


@pytest.fixture(scope="module")
def org_snapshot() -> Snapshot:
    tables = generate(OrgConfig(employees=400, content=120, days=90, seed=11)).tables
    return Snapshot.from_frames(pd.Timestamp("2026-10-20", tz="UTC"), **tables)


def test_builders_on_a_synthetic_org(org_snapshot: Snapshot) -> None:
    snapshot = org_snapshot
    profiled = snapshot.profiled_advocates["employee_id"].tolist()
    opted_out = set(snapshot.advocates["employee_id"]) - set(profiled)
    assert opted_out, "the generator plants opted-out advocates"
    embeddings = FeatureMatrix(
        np.random.default_rng(0).normal(size=(len(snapshot.content), 4)),
        ("d0", "d1", "d2", "d3"),
        IdMap(snapshot.content["content_id"].to_numpy(), "content"),
    )
    profile = AdvocateProfile().fit(snapshot)
    assert len(profile.transform(snapshot).ids) == len(snapshot.advocates)
    parts = [profile.transform(snapshot, profiled)]
    for builder in (SharingHistory(embeddings=embeddings), AudienceFeatures(), OrgNetwork()):
        matrix = builder.fit(snapshot).transform(snapshot)
        assert list(matrix.ids.external) == profiled
        assert not opted_out & set(matrix.ids.external)
        assert np.isfinite(matrix.values).all()
        parts.append(matrix)
    combined = FeatureMatrix.hstack(*parts)  # column names do not collide across builders
    history = _frame(parts[1])
    assert (history["log_count:view"] > 0).mean() > 0.5
    norms = np.linalg.norm(history.filter(like="affinity:d").to_numpy(), axis=1)
    assert np.allclose(norms[norms > 0], 1.0)
    audience = _frame(parts[2])
    assert audience["shares_measured"].sum() > 0 and (audience["engagement_rate"] <= 1).all()
    assert combined.shape[0] == len(profiled)
    later = replace(snapshot, as_of=snapshot.as_of - 20 * DAY)  # uncut: later events present
    cut = snapshot.cut(later.as_of)
    for builder in (SharingHistory(embeddings=embeddings), AudienceFeatures()):
        np.testing.assert_array_equal(
            builder.fit(cut).transform(later).values, builder.transform(cut).values
        )


@pytest.mark.parametrize(
    "make", [SharingHistory, AudienceFeatures, OrgNetwork], ids=["history", "audience", "network"]
)
def test_advocates_unseen_in_fit_get_rows(snapshot: Snapshot, make: type) -> None:
    frames = _frames()
    frames["advocates"] = frames["advocates"].iloc[:1]  # fit knew ana only
    builder = make().fit(Snapshot.from_frames(AS_OF, **frames))
    matrix = builder.transform(snapshot)
    assert list(matrix.ids.external) == PROFILED
    assert np.isfinite(matrix.values).all()
