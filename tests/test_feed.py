"""recsys.feed: the ranked feed on tiny literal catalogues with obvious answers, and end to end
on a Hybrid fitted on a small synthetic organisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features.data.synthetic import OrgConfig, generate
from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.errors import FieldError
from recsys.feed import Feed, FeedFilters, FeedRanker
from recsys.feed_arrays import Catalogue, Employee, FeedAudience
from recsys.ids import IdMap, UnknownIdError
from recsys.matrix import FeatureMatrix
from recsys.metrics import top_k
from recsys.models import Hybrid, Popular
from recsys.policy import PolicyConfig, Rule, explain_ineligible, select
from recsys.reasons import ReasonKind, component_kind

HOUR = 3600.0
AS_OF = 1000 * HOUR

# id, status, published (h), expires (h), regions, departments, languages, type, topics,
# networks, language, popularity
CONTENT = [
    ("ok1", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 50),
    ("draft", "draft", 10, None, [], [], [], "article", ["AI"], [], "en", 99),
    ("scheduled", "approved", 2000, None, [], [], [], "article", ["AI"], [], "en", 98),
    ("expired", "approved", 10, 500, [], [], [], "article", ["AI"], [], "en", 97),
    ("apac", "approved", 10, None, ["APAC"], [], [], "job", ["Cloud"], [], "en", 96),
    ("sales", "approved", 10, None, [], ["Sales"], [], "job", ["Cloud"], [], "en", 95),
    ("french", "approved", 10, None, [], [], ["fr"], "event", ["AI"], [], "fr", 94),
    ("shared", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 93),
    ("dismissed", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 92),
    ("emea", "approved", 10, 2000, ["emea"], ["Engineering"], ["DE"], "job", [], ["x"], "de", 40),
    ("ok2", "approved", 990, None, [], [], [], "event", ["Cloud"], ["linkedin"], "en", 30),
    ("ok3", "approved", 10, None, [], [], [], "video", ["AI", "Cloud"], [], None, 20),
]
ELIGIBLE_FOR_E1 = ["ok1", "emea", "ok2", "ok3"]  # by popularity
UNRESTRICTED = ["ok1", "shared", "dismissed", "ok2", "ok3"]  # what anyone may see


def catalogue_of(rows: list[tuple]) -> Catalogue:
    hours = lambda v: None if v is None else v * HOUR  # noqa: E731
    return Catalogue.from_lists(
        content_ids=[r[0] for r in rows],
        approval_status=[r[1] for r in rows],
        published_at=[hours(r[2]) for r in rows],
        expires_at=[hours(r[3]) for r in rows],
        allowed_regions=[r[4] for r in rows],
        allowed_departments=[r[5] for r in rows],
        allowed_languages=[r[6] for r in rows],
        content_type=[r[7] for r in rows],
        topics=[r[8] for r in rows],
        networks=[r[9] for r in rows],
        language=[r[10] for r in rows],
    )


def audience() -> FeedAudience:
    return FeedAudience.from_lists(
        ["e1", "e2", "e3"],
        ["EMEA", "APAC", None],
        ["Engineering", "Sales", None],
        [["en", "de"], ["en"], None],
        interests=[["cloud"], [], []],
        shared={"e1": ["shared"], "e3": ["ok1"]},
        dismissed={"e1": ["dismissed"]},
    )


def popular_model(rows: list[tuple] = CONTENT) -> Popular:
    """All-time popularity = the last column (e1, e2, e3 and a crowd engaged)."""
    ids = [r[0] for r in rows]
    users, items = [], []
    for content_id, *_, count in rows:
        users += [f"crowd{j}" for j in range(count)]
        items += [content_id] * count
    users += ["e1", "e2", "e3"]
    items += [ids[0]] * 3
    dataset = Dataset.from_events(users, items, items=IdMap.from_ids(ids, "content"))
    return Popular().fit(dataset)


def ranker(policy: PolicyConfig | None = None) -> FeedRanker:
    titles = {r[0]: f"Title of {r[0]}" for r in CONTENT}
    return FeedRanker(popular_model(), catalogue_of(CONTENT), audience(), policy, titles)


def ids_of(feed: Feed) -> list[str]:
    return [item.content_id for item in feed.items]


# -- eligibility and filters ---------------------------------------------------------------
def test_only_eligible_content_is_returned_best_first() -> None:
    feed = ranker().feed("e1", 100, as_of=AS_OF)
    # each of draft, scheduled, expired, apac, sales, french, shared, dismissed breaks one rule
    assert ids_of(feed) == ELIGIBLE_FOR_E1
    assert [item.rank for item in feed.items] == [1, 2, 3, 4]
    assert feed.items[0].title == "Title of ok1"
    assert feed.items[0].score == 53.0
    assert not feed.cold_start and feed.employee_id == "e1" and feed.as_of == AS_OF


def test_time_moves_eligibility() -> None:
    later = ranker().feed("e1", 100, as_of=2000 * HOUR)  # emea expires, scheduled publishes
    assert ids_of(later) == ["scheduled", "ok1", "ok2", "ok3"]
    early = ranker().feed("e1", 100, as_of=100 * HOUR)  # expired not yet, ok2 not yet
    assert ids_of(early) == ["expired", "ok1", "emea", "ok3"]


def test_eligible_and_explain_tell_what_the_feed_may_hold_and_why_not() -> None:
    feeds = ranker()
    assert sorted(feeds.eligible("e1", as_of=AS_OF)) == sorted(ELIGIBLE_FOR_E1)
    assert feeds.eligible("e1", as_of=AS_OF, filters=FeedFilters(content_types=("job",))) == (
        "emea",
    )
    hire = Employee(region="APAC", department="Sales", languages=("en",))
    assert "apac" in feeds.eligible("hire", as_of=AS_OF, profile=hire)
    why = feeds.explain("e1", [r[0] for r in CONTENT], as_of=AS_OF)
    assert why == {
        "ok1": None,
        "draft": Rule.NOT_APPROVED,
        "scheduled": Rule.NOT_PUBLISHED,
        "expired": Rule.EXPIRED,
        "apac": Rule.REGION,
        "sales": Rule.DEPARTMENT,
        "french": Rule.LANGUAGE,
        "shared": Rule.ALREADY_SHARED,
        "dismissed": Rule.DISMISSED,
        "emea": None,
        "ok2": None,
        "ok3": None,
    }
    with pytest.raises(UnknownIdError):
        feeds.explain("e1", ["ok1", "nope"], as_of=AS_OF)


def test_standing_tells_rule_rank_cut_and_diversity() -> None:
    feeds = ranker()
    shared = feeds.standing("e1", "shared", 2, as_of=AS_OF)
    assert shared.rule is Rule.ALREADY_SHARED and not shared.in_feed and shared.rank is None
    top = feeds.standing("e1", "ok1", 2, as_of=AS_OF)
    assert (top.rule, top.in_feed, top.feed_rank, top.rank, top.eligible) == (None, True, 1, 1, 4)
    below = feeds.standing("e1", "ok3", 2, as_of=AS_OF)
    assert (below.in_feed, below.rank, below.eligible) == (False, 4, 4)
    feed = feeds.feed("e1", 2, as_of=AS_OF)
    assert below.cut_score == feed.items[-1].score and below.score < below.cut_score
    capped = ranker(PolicyConfig(max_per_type=1)).standing("e2", "sales", 3, as_of=AS_OF)
    assert (capped.rule, capped.in_feed, capped.rank) == (None, False, 2)  # a second job
    hire = Employee(region="APAC", department="Sales", languages=("en",))
    assert feeds.standing("hire", "apac", 3, as_of=AS_OF, profile=hire).in_feed
    with pytest.raises(UnknownIdError):
        feeds.standing("e1", "nope", 2, as_of=AS_OF)


def test_other_employees_see_their_own_content() -> None:
    assert ids_of(ranker().feed("e2", 100, as_of=AS_OF)) == [
        "apac",
        "sales",
        "shared",
        "dismissed",
        "ok1",
        "ok2",
        "ok3",
    ]
    # e3 has no region/department/language and shared ok1
    assert ids_of(ranker().feed("e3", 100, as_of=AS_OF)) == ["shared", "dismissed", "ok2", "ok3"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (FeedFilters(networks=("linkedin",)), ["ok1", "ok2", "ok3"]),  # emea targets x only
        (FeedFilters(networks=("X", "linkedin")), ELIGIBLE_FOR_E1),
        (FeedFilters(content_types=("JOB", "video")), ["emea", "ok3"]),
        (FeedFilters(languages=("de",)), ["emea"]),  # ok3 has no language
        (FeedFilters(exclude_ids=("ok1", "nope")), ["emea", "ok2", "ok3"]),
        (FeedFilters(content_types=("podcast",)), []),
        (FeedFilters(), ELIGIBLE_FOR_E1),
    ],
)
def test_filters_are_honoured(filters: FeedFilters, expected: list[str]) -> None:
    assert ids_of(ranker().feed("e1", 100, as_of=AS_OF, filters=filters)) == expected


def test_bad_requests_are_clear_errors() -> None:
    feeds = ranker()
    for k in (0, 101, 2.5, True):
        with pytest.raises(FieldError, match="k: must"):
            feeds.feed("e1", k, as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(FieldError, match="as_of") as error:
        feeds.feed("e1", 3, as_of=float("nan"))
    assert error.value.field == "as_of"
    with pytest.raises(FieldError, match="employee_id"):
        feeds.feed("", 3, as_of=AS_OF)
    with pytest.raises(FieldError, match="myspace") as error:
        FeedFilters(networks=("myspace",))
    assert error.value.field == "filters.networks"
    with pytest.raises(FieldError) as error:
        FeedFilters(languages=(" ",))
    assert error.value.field == "filters.languages"
    with pytest.raises(TypeError, match="content_types"):
        FeedFilters(content_types="job")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="profile"):
        feeds.feed("new", 3, as_of=AS_OF, profile={"region": "EMEA"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="employee_id"):
        feeds.similar("ok1", 3, as_of=AS_OF, employee_id=" ")
    with pytest.raises(TypeError, match="filters"):
        feeds.feed("e1", 3, as_of=AS_OF, filters={"networks": ["x"]})  # type: ignore[arg-type]


def test_k_larger_than_the_eligible_set_and_k_cuts() -> None:
    assert len(ranker().feed("e1", 100, as_of=AS_OF).items) == 4
    assert ids_of(ranker().feed("e1", 2, as_of=AS_OF)) == ["ok1", "emea"]
    assert ranker().feed("e1", 5, as_of=0.0).items == ()  # nothing published yet


# -- cold start ------------------------------------------------------------------------------
def test_unknown_employee_with_a_profile_is_ranked_by_the_cold_path() -> None:
    hire = Employee(region="APAC", department="Sales", languages=("en",))
    feed = ranker().feed("new-hire", 100, as_of=AS_OF, profile=hire)
    assert feed.cold_start
    assert ids_of(feed) == ["apac", "sales", "shared", "dismissed", "ok1", "ok2", "ok3"]


def test_unknown_employee_without_profile_gets_the_organisation_wide_feed() -> None:
    feed = ranker().feed("stranger", 100, as_of=AS_OF)
    assert feed.cold_start
    assert ids_of(feed) == ["shared", "dismissed", "ok1", "ok2", "ok3"]
    assert sorted(ids_of(feed)) == sorted(UNRESTRICTED)


def test_the_audience_wins_over_a_profile_for_known_employees() -> None:
    feed = ranker().feed("e1", 100, as_of=AS_OF, profile=Employee(region="APAC"))
    assert ids_of(feed) == ELIGIBLE_FOR_E1


# -- batch, diversity -------------------------------------------------------------------------
def test_batch_equals_one_by_one() -> None:
    feeds = ranker(PolicyConfig(max_per_topic=1))
    people = ["e1", "e2", "e3", "stranger", "e1"]
    filters = FeedFilters(exclude_ids=("ok2",))
    batch = feeds.feeds(people, 3, as_of=AS_OF, filters=filters)
    assert batch == [feeds.feed(p, 3, as_of=AS_OF, filters=filters) for p in people]
    assert feeds.feeds([], 3, as_of=AS_OF) == []


def test_caps_are_honoured_and_fill_the_feed() -> None:
    by_type = ranker(PolicyConfig(max_per_type=1)).feed("e2", 3, as_of=AS_OF)
    assert ids_of(by_type) == ["apac", "shared", "ok2"]  # job, article, event
    by_topic = ranker(PolicyConfig(max_per_topic=1)).feed("e2", 4, as_of=AS_OF)
    # apac (Cloud), shared (AI); every other item repeats a topic: filled by score
    assert ids_of(by_topic) == ["apac", "shared", "sales", "dismissed"]


def test_caps_reach_below_the_over_fetched_pool() -> None:
    rows = [
        (f"a{j}", "approved", 1, None, [], [], [], "article", ["AI"], [], "en", 100 - j)
        for j in range(60)
    ]
    rows += [("job", "approved", 1, None, [], [], [], "job", ["Jobs"], [], "en", 1)]
    feeds = FeedRanker(popular_model(rows), catalogue_of(rows), audience(), PolicyConfig())
    capped = FeedRanker(feeds.model, feeds.catalogue, feeds.audience, PolicyConfig(max_per_type=1))
    assert ids_of(capped.feed("e1", 2, as_of=AS_OF)) == ["a0", "job"]


def test_mmr_uses_the_model_item_vectors() -> None:
    rows = [
        ("a", "approved", 1, None, [], [], [], "article", [], [], "en", 30),
        ("a-twin", "approved", 1, None, [], [], [], "article", [], [], "en", 29),
        ("b", "approved", 1, None, [], [], [], "article", [], [], "en", 10),
    ]
    vectors = np.asarray([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    model = Additive({"affinity": np.asarray([3.0, 2.9, 1.0])}, vectors).fit(dataset_of(rows))
    mmr = FeedRanker(
        model, catalogue_of(rows), audience(), PolicyConfig(use_mmr=True, mmr_lambda=0.5)
    )
    assert ids_of(mmr.feed("e1", 2, as_of=AS_OF)) == ["a", "b"]
    plain = mmr.with_model(model)
    assert plain.policy.use_mmr


# -- reasons --------------------------------------------------------------------------------
class Additive(Recommender):
    """A literal additive scorer: per-item contributions by component name (same for all)."""

    name = "additive"

    def __init__(self, parts: dict | None = None, vectors: np.ndarray | None = None) -> None:
        self.parts = parts
        self.vectors = vectors

    def _fit(self, dataset: Dataset) -> None:
        self.parts_ = {name: np.asarray(v, np.float64) for name, v in (self.parts or {}).items()}
        if self.vectors is not None:
            self.item_vectors_ = np.asarray(self.vectors, np.float64)

    def contributions(self, users: np.ndarray, items: np.ndarray, as_of: float) -> dict:
        return {
            n: np.broadcast_to(v[items], (len(users), len(items))) for n, v in self.parts_.items()
        }

    def _score(self, users: np.ndarray, items: np.ndarray, as_of: float) -> np.ndarray:
        return sum(self.contributions(users, items, as_of).values())

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        pass


def dataset_of(rows: list[tuple]) -> Dataset:
    ids = [r[0] for r in rows]
    return Dataset.from_events(["e1"], [ids[0]], items=IdMap.from_ids(ids, "content"))


REASON_ROWS = [
    ("cloud-new", "approved", 995, None, [], [], [], "article", ["Cloud"], [], "en", 0),
    ("ai-new", "approved", 995, None, [], [], [], "article", ["AI"], [], "en", 0),
    ("trend", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 0),
    ("like-old", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 0),
    ("old-post", "approved", 10, None, [], [], [], "article", ["News"], [], "en", 0),
    ("meh", "approved", 10, None, [], [], [], "article", ["AI"], [], "en", 0),
]
REASON_PARTS = {
    "taste": [0.1, 0.2, 0.0, 0.1, 0.0, -0.5],
    "affinity": [0.0, 0.0, 0.0, 1.5, 0.0, -0.1],
    "global_trend_short": [0.0, 0.0, 0.6, 0.0, 0.0, -0.2],
    "global_trend_long": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
    "department_trend": [0.0, 0.0, 0.3, 0.2, 0.0, 0.0],
    "freshness": [1.0, 0.9, -0.4, -0.4, -0.4, -0.4],
    "mystery_signal": [5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
}


def reason_ranker(per_item: int = 3) -> FeedRanker:
    vectors = np.eye(6)
    vectors[3, 4] = 1.0  # like-old is closest to old-post
    model = Additive(REASON_PARTS, vectors).fit(dataset_of(REASON_ROWS))
    people = FeedAudience.from_lists(
        ["e1"], ["EMEA"], ["Eng"], [["en"]], interests=[["cloud"]], shared={"e1": ["old-post"]}
    )
    titles = {"old-post": "Our old post"}
    policy = PolicyConfig(reasons_per_item=per_item)
    return FeedRanker(model, catalogue_of(REASON_ROWS), people, policy, titles)


def test_reasons_name_real_components_and_match_the_largest_contributions() -> None:
    feed = reason_ranker().feed("e1", 10, as_of=AS_OF)
    reasons = {item.content_id: item.reasons for item in feed.items}
    assert "old-post" not in reasons  # shared
    texts = {cid: [r.text for r in rs] for cid, rs in reasons.items()}
    assert texts["cloud-new"] == ["New in Cloud", "Matches your interests"]  # follows cloud
    assert texts["ai-new"] == ["Just published (5 hours ago)", "Matches your interests"]
    # both global trends add up (1.1) and beat the department (0.3)
    assert texts["trend"] == [
        "Popular across the company right now",
        "Trending in your department",
    ]
    assert texts["like-old"] == [
        "Similar to “Our old post” you shared",
        "Trending in your department",
        "Matches your interests",
    ]
    assert texts["meh"] == []  # nothing contributed positively; the unknown part is not named
    trend = reasons["trend"]
    assert [r.kind for r in trend] == [ReasonKind.GLOBAL_TREND, ReasonKind.DEPARTMENT_TREND]
    assert trend[0].contribution == pytest.approx(1.1)
    for item in feed.items:
        values = [r.contribution for r in item.reasons]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)


def test_reasons_per_item_is_respected() -> None:
    feed = reason_ranker(per_item=1).feed("e1", 10, as_of=AS_OF)
    assert all(len(item.reasons) <= 1 for item in feed.items)
    assert {item.content_id: item.reasons[0].kind for item in feed.items if item.reasons} == {
        "cloud-new": ReasonKind.TOPIC_NEW,
        "ai-new": ReasonKind.FRESHNESS,
        "trend": ReasonKind.GLOBAL_TREND,
        "like-old": ReasonKind.AFFINITY,
    }


def test_component_names_map_to_reasons() -> None:
    assert component_kind("global_trend_short") is ReasonKind.GLOBAL_TREND
    assert component_kind("department_trend_fast") is ReasonKind.DEPARTMENT_TREND
    assert component_kind("colleague_trend") is ReasonKind.COLLEAGUES
    assert component_kind("ease") is ReasonKind.CO_ENGAGEMENT
    assert component_kind("item_prior") is ReasonKind.LIKELY_POPULAR
    assert component_kind("cold_start") is ReasonKind.NEW_CONTENT
    assert component_kind("mystery_signal") is None


def test_models_without_components_give_their_whole_score_as_the_reason() -> None:
    feed = ranker().feed("e1", 2, as_of=AS_OF)
    assert [[r.text for r in item.reasons] for item in feed.items] == [
        ["Popular across the company"],
        ["Popular across the company"],
    ]


# -- similar, swaps ---------------------------------------------------------------------------
def test_similar_returns_eligible_neighbours_by_cosine() -> None:
    feeds = reason_ranker()
    similar = feeds.similar("like-old", 5, as_of=AS_OF, employee_id="e1")
    assert [i.content_id for i in similar] == []  # old-post is its only neighbour and shared
    neighbours = feeds.similar("old-post", 5, as_of=AS_OF)
    assert [(i.content_id, i.rank) for i in neighbours] == [("like-old", 1)]
    assert neighbours[0].reasons[0].text == "Similar to “Our old post”"
    assert neighbours[0].score == pytest.approx(1 / np.sqrt(2))
    with pytest.raises(UnknownIdError):
        feeds.similar("nope", 5, as_of=AS_OF)
    with pytest.raises(ValueError, match="item vectors"):
        ranker().similar("ok1", 5, as_of=AS_OF)


def test_with_catalogue_sees_new_and_expired_content() -> None:
    feeds = ranker()
    model = feeds.model
    model.add_items(["fresh"], times=[999 * HOUR])
    model.observe(["crowd0"] * 200, ["fresh"] * 200, [999 * HOUR] * 200)
    rows = [r if r[0] != "ok1" else (*r[:3], 999, *r[4:]) for r in CONTENT]  # ok1 expires
    rows.append(("fresh", "approved", 999, None, [], [], [], "article", [], [], "en", 0))
    refreshed = feeds.with_catalogue(catalogue_of(rows), titles={"fresh": "Fresh!"})
    feed = refreshed.feed("e1", 100, as_of=AS_OF)
    assert ids_of(feed) == ["fresh", "emea", "ok2", "ok3"]
    assert feed.items[0].title == "Fresh!"
    assert "fresh" not in ids_of(feeds.feed("e1", 100, as_of=AS_OF))  # the old ranker is intact
    assert refreshed.model is feeds.model


def test_catalogue_must_be_aligned_with_the_model() -> None:
    model = popular_model()
    with pytest.raises(ValueError, match="add_items"):
        FeedRanker(model, catalogue_of([*CONTENT, ("extra", *CONTENT[0][1:])]), audience())
    swapped = [CONTENT[1], CONTENT[0], *CONTENT[2:]]
    with pytest.raises(ValueError, match="not aligned"):
        FeedRanker(model, catalogue_of(swapped), audience())
    shorter = FeedRanker(model, catalogue_of(CONTENT[:3]), audience())  # the rest is never shown
    assert ids_of(shorter.feed("e1", 10, as_of=AS_OF)) == ["ok1"]


def test_with_audience_takes_new_shares() -> None:
    feeds = ranker()
    people = FeedAudience(feeds.audience.employees, {"e1": ("ok1", "shared")}, {})
    assert feeds.with_audience(people).audience is people and feeds.audience is not people
    assert ids_of(feeds.with_audience(people).feed("e1", 100, as_of=AS_OF)) == [
        "dismissed",
        "emea",
        "ok2",
        "ok3",
    ]


# -- end to end on a fitted Hybrid -------------------------------------------------------------
def test_hybrid_on_a_synthetic_organisation_end_to_end() -> None:
    org = generate(OrgConfig(employees=150, content=60, days=30, seed=3))
    tables = org.tables
    content, advocates, events = tables["content"], tables["advocates"], tables["interactions"]
    seconds = lambda column: column.astype("int64") // 10**9  # noqa: E731
    items = IdMap.from_ids(content["content_id"], "content")
    departments = sorted(advocates["department"].unique())
    one_hot = sp.csr_matrix(
        pd.get_dummies(pd.Categorical(advocates["department"], departments)).to_numpy(np.float32)
    )
    profile = FeatureMatrix(
        one_hot,
        tuple(f"department={d}" for d in departments),
        IdMap.from_ids(advocates["employee_id"], "employee"),
    )
    known = events[events["employee_id"] != advocates["employee_id"].iloc[-1]]
    dataset = Dataset.from_events(
        list(known["employee_id"]),
        list(known["content_id"]),
        times=seconds(known["timestamp"]).to_numpy(),
        items=items,
        user_features=profile,
        item_times=seconds(content["published_at"]).to_numpy(),
    )
    model = Hybrid().set_params(taste__no_components=8, taste__epochs=5).fit(dataset)
    shares = events[events["event_type"] == "share"]
    catalogue = Catalogue.from_lists(
        content_ids=list(content["content_id"]),
        approval_status=list(content["approval_status"]),
        published_at=list(seconds(content["published_at"]).astype(float)),
        expires_at=[None if pd.isna(t) else t.timestamp() for t in content["expires_at"]],
        content_type=list(content["content_type"]),
        topics=list(content["topics"]),
        allowed_regions=list(content["allowed_regions"]),
        allowed_departments=list(content["allowed_departments"]),
        allowed_languages=list(content["allowed_languages"]),
        language=list(content["language"]),
    )
    people = FeedAudience.from_lists(
        list(advocates["employee_id"]),
        list(advocates["region"]),
        list(advocates["department"]),
        list(advocates["languages"]),
        shared=shares.groupby("employee_id")["content_id"].agg(list).to_dict(),
    )
    titles = dict(zip(content["content_id"], content["title"], strict=True))
    feeds = FeedRanker(model, catalogue, people, PolicyConfig(max_per_type=3), titles)
    as_of = float(seconds(events["timestamp"]).max())
    everyone = list(advocates["employee_id"])
    batch = feeds.feeds(everyone, 10, as_of=as_of)
    for feed in batch:
        internal = model.items_.to_internal([i.content_id for i in feed.items])
        employee = people[feed.employee_id]
        shared = model.items_.to_internal(list(people.shared_by(feed.employee_id)))
        assert explain_ineligible(catalogue, employee, internal, as_of, shared) == [None] * len(
            internal
        )
        assert len(feed.items) == 10
        scores = [i.score for i in feed.items]
        assert all(len(i.reasons) <= 2 and i.title for i in feed.items)
        assert scores == sorted(scores, reverse=True) or feeds.policy.max_per_type
    assert batch[-1].cold_start and not batch[0].cold_start
    one = feeds.feed(everyone[0], 10, as_of=as_of)
    assert [i.content_id for i in one.items] == [i.content_id for i in batch[0].items]
    np.testing.assert_allclose(
        [i.score for i in one.items], [i.score for i in batch[0].items], rtol=1e-5
    )
    # reasons are the largest positive per-kind contributions of the model itself
    user = int(model.users_.to_internal([everyone[0]])[0])
    parts = model.contributions(np.asarray([user]), internal_of(model, one), as_of)
    unnamed = [name for name in parts if component_kind(name) is None]
    assert not unnamed, f"hybrid components without a reason: {unnamed}"
    for j, item in enumerate(one.items):
        per_kind: dict[ReasonKind, float] = {}
        for name, values in parts.items():
            kind = component_kind(name)
            if kind is not None:  # a component without a reason is never named
                per_kind[kind] = per_kind.get(kind, 0.0) + float(values[0, j])
        fresh = per_kind.pop(ReasonKind.FRESHNESS)
        for reason in item.reasons:
            kind = ReasonKind.FRESHNESS if reason.kind is ReasonKind.TOPIC_NEW else reason.kind
            value = fresh if kind is ReasonKind.FRESHNESS else per_kind[kind]
            assert reason.contribution == pytest.approx(value)
        per_kind[ReasonKind.FRESHNESS] = fresh
        best = sorted((v for v in per_kind.values() if v > 0), reverse=True)[: len(item.reasons)]
        assert [r.contribution for r in item.reasons] == pytest.approx(best)


def internal_of(model: Recommender, feed: Feed) -> np.ndarray:
    return model.items_.to_internal([i.content_id for i in feed.items])


def reference_select(feeds: FeedRanker, candidates: np.ndarray, scores: np.ndarray, k: int):
    """The feed's selection as first written: the over-fetched pool, then (caps short of k)
    one greedy pass over every eligible item in stable score order."""
    config = dataclasses.replace(feeds.policy, k=k)
    available = int(np.isfinite(scores).sum())
    pool = max(4 * k, k + 20)
    top, values = top_k(scores, min(pool, available))
    chosen = select(candidates[top], values, config, feeds.catalogue)
    if chosen.within_caps < min(k, available) and pool < available:
        top = np.argsort(-scores, kind="stable")[:available]
        values = scores[top]
        chosen = select(candidates[top], values, config, feeds.catalogue)
    return candidates[top[chosen.items]], values[chosen.items]


def test_caps_selection_equals_the_full_greedy_pass_on_random_catalogues() -> None:
    rng = np.random.default_rng(7)
    n = 400
    types = ["article", "job", "event", "video"]
    topics = ["ai", "cloud", "data", "jobs", "culture", "security"]
    rows = [
        (
            f"c{j}",
            "approved",
            1,
            None,
            [],
            [],
            [],
            types[min(int(rng.integers(0, 12)), 3)],  # mostly articles: caps run short
            [str(t) for t in rng.choice(topics, size=int(rng.integers(0, 3)), replace=False)],
            [],
            "en",
            1,
        )
        for j in range(n)
    ]
    base = FeedRanker(popular_model(rows), catalogue_of(rows), audience())
    for trial in range(60):
        policy = PolicyConfig(
            max_per_topic=int(rng.choice([1, 2, 3])), max_per_type=int(rng.choice([1, 2, 5]))
        )
        feeds = FeedRanker(base.model, base.catalogue, base.audience, policy)
        k = int(rng.integers(1, 40))
        scores = np.round(rng.normal(size=n), 1)  # ties
        scores[rng.random(n) < 0.2] = -np.inf  # ineligible
        candidates = np.arange(n)
        got = feeds._select(candidates, scores, k)
        expected = reference_select(feeds, candidates, scores, k)
        assert got[0].tolist() == expected[0].tolist(), trial
        assert got[1].tolist() == expected[1].tolist(), trial


def test_caps_selection_grows_the_pool_until_the_caps_fill_k() -> None:
    # 100 articles on top, then one job, one event, one video: with one per type the
    # greedy walk reaches below the first pool (max(4k, k + 20) = 24) and the second (96)
    rows = [
        (f"a{j}", "approved", 1, None, [], [], [], "article", [], [], "en", 1) for j in range(100)
    ]
    rows += [
        (kind, "approved", 1, None, [], [], [], kind, [], [], "en", 1)
        for kind in ("job", "event", "video")
    ]
    feeds = FeedRanker(
        popular_model(rows), catalogue_of(rows), audience(), PolicyConfig(max_per_type=1)
    )
    scores = np.arange(len(rows), 0, -1).astype(float)
    items, values = feeds._select(np.arange(len(rows)), scores, 4)
    assert items.tolist() == [0, 100, 101, 102]
    assert values.tolist() == [103.0, 3.0, 2.0, 1.0]
    items, _ = feeds._select(np.arange(len(rows)), scores, 5)  # caps fill 4: one filled
    assert items.tolist() == [0, 100, 101, 102, 1]
