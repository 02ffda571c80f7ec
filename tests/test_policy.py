"""recsys.policy and recsys.reasons: literal catalogues with obvious answers, and properties."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from features.data.contract import APPROVAL_STATUSES
from recsys.diversity import CapsWalk, diversify, mmr, score_order
from recsys.feed_arrays import APPROVAL_STATUSES as POLICY_STATUSES
from recsys.feed_arrays import Catalogue, Employee, FeedAudience
from recsys.policy import (
    PolicyConfig,
    RankingPolicy,
    Rule,
    eligible_mask,
    explain_ineligible,
)
from recsys.reasons import (
    KINDS,
    FeedReason,
    ReasonKind,
    ScoreComponents,
    feed_reasons,
    feed_reasons_for_rows,
)

AS_OF = 1000.0
EMPLOYEE = Employee(region="EMEA", department="Engineering", languages=("en", "de"))

# (status, published_at, expires_at, allowed regions, departments, languages, expected rule)
ROWS = [
    ("approved", 100, None, [], [], [], None),
    ("draft", 100, None, [], [], [], Rule.NOT_APPROVED),
    ("approved", 2000, None, [], [], [], Rule.NOT_PUBLISHED),  # scheduled
    ("approved", 100, 500, [], [], [], Rule.EXPIRED),
    ("approved", 100, None, ["APAC"], [], [], Rule.REGION),
    ("approved", 100, None, [], ["Sales"], [], Rule.DEPARTMENT),
    ("approved", 100, None, [], [], ["fr"], Rule.LANGUAGE),
    ("approved", 100, None, [], [], [], Rule.ALREADY_SHARED),
    ("approved", 100, None, ["emea", "APAC"], [], [], None),  # case-insensitive match
    ("approved", 100, AS_OF, [], [], [], Rule.EXPIRED),  # expires exactly now
    ("approved", AS_OF, 1500, [], [], [], None),  # published exactly now
    ("approved", None, None, [], [], [], Rule.NOT_PUBLISHED),  # never published
    ("approved", 100, None, [], [" engineering "], ["DE", "fr"], None),
    ("retired", 100, None, [], [], [], Rule.NOT_APPROVED),
    ("rejected", 100, None, [], [], [], Rule.NOT_APPROVED),
]
SHARED = [7]


def eligibility_catalogue() -> Catalogue:
    return Catalogue.from_lists(
        approval_status=[r[0] for r in ROWS],
        published_at=[r[1] for r in ROWS],
        expires_at=[r[2] for r in ROWS],
        content_type=["article"] * len(ROWS),
        allowed_regions=[r[3] for r in ROWS],
        allowed_departments=[r[4] for r in ROWS],
        allowed_languages=[r[5] for r in ROWS],
    )


# -- eligibility ----------------------------------------------------------------------------
def test_each_rule_excludes_exactly_its_item_and_is_named() -> None:
    catalogue = eligibility_catalogue()
    items = np.arange(len(ROWS))
    mask = eligible_mask(catalogue, EMPLOYEE, items, AS_OF, SHARED)
    expected = [r[6] for r in ROWS]
    assert mask.tolist() == [rule is None for rule in expected]
    assert explain_ineligible(catalogue, EMPLOYEE, items, AS_OF, SHARED) == expected


def test_eligibility_follows_the_items_given() -> None:
    catalogue = eligibility_catalogue()
    items = np.asarray([8, 1, 0, 0])
    assert eligible_mask(catalogue, EMPLOYEE, items, AS_OF, SHARED).tolist() == [
        True,
        False,
        True,
        True,
    ]
    assert eligible_mask(catalogue, EMPLOYEE, [], AS_OF).shape == (0,)


@pytest.mark.parametrize("region", [None, "Mars"])
def test_unknown_region_sees_only_unrestricted_content(region: str | None) -> None:
    catalogue = eligibility_catalogue()
    employee = Employee(region=region, department="Engineering", languages=("en", "de"))
    reasons = explain_ineligible(catalogue, employee, [0, 4, 8], AS_OF)
    assert reasons == [None, Rule.REGION, Rule.REGION]


def test_employee_without_attributes_is_excluded_from_every_restriction() -> None:
    catalogue = eligibility_catalogue()
    reasons = explain_ineligible(catalogue, Employee(), [0, 4, 5, 6, 12], AS_OF)
    assert reasons == [None, Rule.REGION, Rule.DEPARTMENT, Rule.LANGUAGE, Rule.DEPARTMENT]


def test_first_rule_wins_when_several_apply() -> None:
    catalogue = Catalogue.from_lists(
        approval_status=["draft"],
        published_at=[2000],
        expires_at=[10],
        content_type=["job"],
        allowed_regions=[["APAC"]],
    )
    assert explain_ineligible(catalogue, EMPLOYEE, [0], AS_OF, [0]) == [Rule.NOT_APPROVED]


def test_audience_lookup_and_unknown_employee() -> None:
    audience = FeedAudience.from_lists(
        ["e1", "e2"], ["EMEA", None], ["Sales", None], [["en"], None]
    )
    assert audience["e1"] == Employee("EMEA", "Sales", ("en",))
    assert audience["e2"] == Employee()
    assert audience["nobody"] == Employee()


def test_catalogue_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="approval_status"):
        Catalogue.from_lists(approval_status=["aproved"], published_at=[1], content_type=["a"])
    with pytest.raises(ValueError, match="length"):
        Catalogue.from_lists(approval_status=["approved"], published_at=[1, 2], content_type=["a"])


def test_statuses_mirror_the_contract() -> None:
    assert POLICY_STATUSES == APPROVAL_STATUSES


# -- diversity ------------------------------------------------------------------------------
def topic_catalogue(types: list[str], topics: list[list[str]]) -> Catalogue:
    return Catalogue.from_lists(
        approval_status=["approved"] * len(types),
        published_at=[0] * len(types),
        content_type=types,
        topics=topics,
    )


def test_caps_on_a_literal_list() -> None:
    catalogue = topic_catalogue(
        ["job", "job", "job", "event", "article"],
        [["ai"], ["ai"], ["cloud"], ["ai"], []],
    )
    items = np.arange(5)
    scores = np.asarray([5.0, 4.0, 3.0, 2.0, 1.0])
    by_type = diversify(items, scores, k=3, catalogue=catalogue, max_per_type=1)
    assert by_type.items.tolist() == [0, 3, 4]
    by_topic = diversify(items, scores, k=3, catalogue=catalogue, max_per_topic=1)
    assert by_topic.items.tolist() == [0, 2, 4]
    both = diversify(items, scores, k=4, catalogue=catalogue, max_per_topic=1, max_per_type=1)
    # caps allow only 0 and 4; the rest is filled by score
    assert both.items.tolist() == [0, 4, 1, 2]
    assert both.within_caps == 2
    assert both.scores.tolist() == [5.0, 1.0, 4.0, 3.0]


def test_no_caps_is_plain_top_k_and_caps_need_a_catalogue() -> None:
    plain = diversify([10, 11, 12], [1.0, 3.0, 2.0], k=2)
    assert plain.items.tolist() == [11, 12]
    with pytest.raises(ValueError, match="catalogue"):
        diversify([1], [1.0], k=1, max_per_topic=2)
    with pytest.raises(ValueError, match="caps"):
        diversify([1], [1.0], k=1, catalogue=topic_catalogue(["a", "a"], [[], []]), max_per_type=0)


@st.composite
def ranked_lists(draw: st.DrawFn, multi_topic: bool = True) -> tuple:
    n = draw(st.integers(1, 25))
    types = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    topic_sets = st.lists(st.sampled_from("wxyz"), max_size=3 if multi_topic else 1)
    topics = draw(st.lists(topic_sets, min_size=n, max_size=n))
    scores = draw(st.lists(st.integers(0, 5).map(float), min_size=n, max_size=n))
    ids = draw(st.permutations(range(n)))
    return topic_catalogue(types, topics), np.asarray(ids), np.asarray(scores)


def count_max(labels: list[list[str]]) -> int:
    counts: dict[str, int] = {}
    for row in labels:
        for label in row:
            counts[label] = counts.get(label, 0) + 1
    return max(counts.values(), default=0)


def labels_of(catalogue: Catalogue, items: np.ndarray) -> tuple[list, list]:
    vocab = catalogue.topics.vocabulary
    topics = [[vocab[c] for c in catalogue.topics.row(int(i))] for i in items]
    types = [[catalogue.type_vocabulary[catalogue.content_type[int(i)]]] for i in items]
    return topics, types


@settings(max_examples=150, deadline=None)
@given(
    ranked_lists(),
    st.integers(1, 12),
    st.one_of(st.none(), st.integers(1, 3)),
    st.one_of(st.none(), st.integers(1, 3)),
)
def test_diversify_properties(data: tuple, k: int, topic_cap, type_cap) -> None:
    catalogue, ids, scores = data
    kw = {"k": k, "catalogue": catalogue, "max_per_topic": topic_cap, "max_per_type": type_cap}
    out = diversify(ids, scores, **kw)
    assert len(out.items) == min(k, len(ids))
    assert len(set(out.items.tolist())) == len(out.items)
    assert set(out.items.tolist()) <= set(ids.tolist())
    assert out.scores[0] == scores.max()
    lookup = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    assert out.scores.tolist() == [lookup[i] for i in out.items.tolist()]
    topics, types = labels_of(catalogue, out.items[: out.within_caps])
    assert topic_cap is None or count_max(topics) <= topic_cap
    assert type_cap is None or count_max(types) <= type_cap
    assert np.array_equal(diversify(ids, scores, **kw).items, out.items)  # deterministic


def feasible(labels: list[list[str]], cap: int) -> int:
    """Most items a cap allows when each item has at most one label."""
    counts: dict[str, int] = {}
    free = 0
    for row in labels:
        if not row:
            free += 1
        for label in row:
            counts[label] = counts.get(label, 0) + 1
    return free + sum(min(cap, c) for c in counts.values())


@settings(max_examples=150, deadline=None)
@given(ranked_lists(multi_topic=False), st.integers(1, 12), st.integers(1, 3), st.booleans())
def test_single_cap_is_respected_whenever_enough_items_exist(
    data: tuple, k: int, cap: int, on_type: bool
) -> None:
    catalogue, ids, scores = data
    topics, types = labels_of(catalogue, ids)
    # about 4 in 5 drawn cases have enough items (3 types / 4 topics, lists of up to 25)
    assume(feasible(types if on_type else topics, cap) >= min(k, len(ids)))
    kw = {"max_per_type": cap} if on_type else {"max_per_topic": cap}
    out = diversify(ids, scores, k=k, catalogue=catalogue, **kw)
    assert out.within_caps == len(out.items) == min(k, len(ids))
    chosen_topics, chosen_types = labels_of(catalogue, out.items)
    assert count_max(chosen_types if on_type else chosen_topics) <= cap


def test_diversify_ties_keep_input_order() -> None:
    out = diversify([7, 3, 9, 1], [1.0, 2.0, 2.0, 1.0], k=4)
    assert out.items.tolist() == [3, 9, 7, 1]
    assert score_order(np.asarray([1.0, 1.0, 1.0])).tolist() == [0, 1, 2]


# -- MMR ------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(1, 20), st.integers(1, 25), st.integers(0, 2**31 - 1))
def test_mmr_with_lambda_one_is_score_order(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, n).astype(float)
    ids = rng.permutation(100)[:n]
    vectors = rng.normal(size=(n, 3))
    out = mmr(ids, scores, vectors, k, lambda_=1.0)
    assert out.items.tolist() == ids[score_order(scores)][:k].tolist()
    again = mmr(ids, scores, vectors, k, lambda_=0.3)
    assert again.items.tolist() == mmr(ids, scores, vectors, k, lambda_=0.3).items.tolist()
    assert len(set(again.items.tolist())) == min(k, n)


def test_mmr_skips_a_near_duplicate() -> None:
    vectors = np.asarray([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    out = mmr([10, 11, 12], [1.0, 0.9, 0.8], vectors, k=3, lambda_=0.5)
    assert out.items.tolist() == [10, 12, 11]
    with pytest.raises(ValueError):
        mmr([1], [1.0], np.zeros((2, 2)), k=1)


# -- reasons --------------------------------------------------------------------------------
TITLES = {3: "Our cloud launch", 4: "Hiring in Berlin"}
TOPICS = {0: "AI", 1: "Cloud"}


def test_reason_texts_carry_the_real_values() -> None:
    components = ScoreComponents(
        affinity=[0.5, 0.0],
        similar_item=[3, -1],
        department_trend=[0.4, 0.1],
        department_engagers=[5, 1],
        topic_new=[0.3, 0.0],
        new_topic=[1, -1],
        freshness=[0.0, 0.2],
        age_hours=[300.0, 5.0],
        global_trend=[0.0, 0.05],
    )
    first = feed_reasons(components, 0, 3, titles=TITLES, topics=TOPICS)
    assert [r.text for r in first] == [
        "Similar to “Our cloud launch” you shared",
        "Trending in your department (5 colleagues engaged this week)",
        "New in Cloud",
    ]
    second = feed_reasons(components, 1, 3, titles=TITLES.get, topics=TOPICS)
    assert [r.text for r in second] == [
        "Just published (5 hours ago)",
        "Trending in your department (1 colleague engaged this week)",
        "Popular across the company right now",
    ]


def test_freshness_text_follows_the_age() -> None:
    ages = [0.5, 30.0, 100.0, float("nan")]
    components = ScoreComponents(freshness=[1.0] * 4, age_hours=ages)
    assert [feed_reasons(components, j)[0].text for j in range(4)] == [
        "Just published (less than an hour ago)",
        "Just published (30 hours ago)",
        "Recently published (4 days ago)",
        "Recently published",
    ]


def test_reasons_without_details_stay_generic_and_threshold_applies() -> None:
    components = ScoreComponents(affinity=[0.5], topic_new=[0.2], department_trend=[0.1])
    texts = [r.text for r in feed_reasons(components, 0, 3)]
    assert texts == [
        "Similar to what you share",
        "New in a topic you follow",
        ("Trending in your department"),
    ]
    kept = feed_reasons(components, 0, 3, min_contribution=0.15)
    assert [r.kind for r in kept] == [ReasonKind.AFFINITY, ReasonKind.TOPIC_NEW]
    assert feed_reasons(ScoreComponents(global_trend=[0.0]), 0, 3) == ()
    with pytest.raises(ValueError):
        feed_reasons(components, 0, 4)
    with pytest.raises(ValueError, match="lengths"):
        ScoreComponents(affinity=[1.0], freshness=[1.0, 2.0])


contribution = st.one_of(st.just(0.0), st.floats(-1, 1, allow_nan=False), st.just(0.5))


@settings(max_examples=200, deadline=None)
@given(st.lists(contribution, min_size=len(KINDS), max_size=len(KINDS)), st.integers(1, 3))
def test_reasons_are_faithful(values: list[float], k: int) -> None:
    components = ScoreComponents(**{kind.value: [v] for kind, v in zip(KINDS, values, strict=True)})
    reasons = feed_reasons(components, 0, k)
    given_values = dict(zip(KINDS, values, strict=True))
    positive = [kind for kind in KINDS if given_values[kind] > 0]
    assert len(reasons) == min(k, len(positive))
    assert all(given_values[r.kind] > 0 and r.contribution == given_values[r.kind] for r in reasons)
    contributions = [r.contribution for r in reasons]
    assert contributions == sorted(contributions, reverse=True)
    named = {r.kind for r in reasons}
    assert all(given_values[kind] <= min(contributions) for kind in set(positive) - named)
    assert reasons == feed_reasons(components, 0, k)


# -- the policy -----------------------------------------------------------------------------
def policy_catalogue() -> Catalogue:
    return Catalogue.from_lists(
        approval_status=["approved", "approved", "draft", "approved", "approved", "approved"],
        published_at=[0, 0, 0, 0, 0, 0],
        content_type=["job", "job", "job", "article", "event", "job"],
        topics=[["AI"], ["AI"], ["AI"], ["Cloud"], ["AI"], ["Cloud"]],
        allowed_regions=[[], [], [], [], ["APAC"], []],
    )


def test_policy_filters_diversifies_and_explains() -> None:
    catalogue = policy_catalogue()
    components = ScoreComponents(
        affinity=[0.9, 0.8, 0.7, 0.0, 0.0, 0.0],
        similar_item=[5, 5, 5, -1, -1, -1],
        topic_new=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0],
        new_topic=[-1, -1, -1, catalogue.topics.code_of("cloud"), -1, -1],
        global_trend=[0.1, 0.0, 0.0, 0.0, 0.5, 0.3],
    )
    scores = [1.0, 0.8, 0.7, 0.5, 0.5, 0.3]
    policy = RankingPolicy(PolicyConfig(k=3, max_per_topic=1, reasons_per_item=2))
    feed = policy.rank(
        np.arange(6),
        scores,
        catalogue=catalogue,
        employee=EMPLOYEE,
        as_of=AS_OF,
        shared_items=[5],
        components=components,
        titles={5: "Old post"},
    )
    # 2 draft, 4 APAC only, 5 shared; topic cap keeps 0 and 3, then 1 fills the list
    assert [r.item for r in feed] == [0, 3, 1]
    assert [r.score for r in feed] == [1.0, 0.5, 0.8]
    assert [[x.text for x in r.reasons] for r in feed] == [
        ["Similar to “Old post” you shared", "Popular across the company right now"],
        ["New in Cloud"],
        ["Similar to “Old post” you shared"],
    ]
    again = policy.rank(
        np.arange(6),
        scores,
        catalogue=catalogue,
        employee=EMPLOYEE,
        as_of=AS_OF,
        shared_items=[5],
        components=components,
        titles={5: "Old post"},
    )
    assert again == feed


def test_policy_drops_duplicates_and_non_finite_scores_and_supports_mmr() -> None:
    catalogue = policy_catalogue()
    kw = {"catalogue": catalogue, "employee": EMPLOYEE, "as_of": AS_OF}
    feed = RankingPolicy().rank([1, 0, 1, 3], [0.2, np.nan, 0.9, 0.1], **kw)
    assert [(r.item, r.score, r.reasons) for r in feed] == [(1, 0.2, ()), (3, 0.1, ())]
    vectors = np.asarray([[1.0, 0], [1.0, 0], [1.0, 0], [0, 1.0], [0, 1.0], [0, 1.0]])
    config = PolicyConfig(k=2, use_mmr=True, mmr_lambda=0.3)
    picked = RankingPolicy(config).rank([0, 1, 3], [1.0, 0.9, 0.1], item_vectors=vectors, **kw)
    assert [r.item for r in picked] == [0, 3]
    with pytest.raises(ValueError, match="item_vectors"):
        RankingPolicy(config).rank([0, 1], [1.0, 0.9], **kw)
    assert RankingPolicy().rank([2], [1.0], **kw) == []


@pytest.mark.parametrize(
    "bad",
    [{"k": 0}, {"max_per_topic": 0}, {"mmr_lambda": 1.5}, {"reasons_per_item": 4}],
)
def test_config_is_validated(bad: dict) -> None:
    with pytest.raises(ValueError):
        PolicyConfig(**bad)


# -- fast paths equal the plain ones (issue 7) ------------------------------------------------
def reference_walk(order, items, catalogue, k, topic_cap, type_cap) -> list[int]:
    """The greedy caps walk as first written (one ``any`` per item): the reference."""
    topic_cap = topic_cap or len(order) + 1
    type_cap = type_cap or len(order) + 1
    per_topic = [0] * len(catalogue.topics.vocabulary)
    per_type = [0] * len(catalogue.type_vocabulary)
    chosen: list[int] = []
    for position in order.tolist():
        item = int(items[position])
        kind, topics = catalogue.type_list[item], catalogue.topic_lists[item]
        if per_type[kind] >= type_cap or any(per_topic[t] >= topic_cap for t in topics):
            continue
        chosen.append(position)
        per_type[kind] += 1
        for t in topics:
            per_topic[t] += 1
        if len(chosen) == k:
            break
    return chosen


@settings(max_examples=200, deadline=None)
@given(
    ranked_lists(),
    st.integers(1, 12),
    st.one_of(st.none(), st.integers(1, 3)),
    st.one_of(st.none(), st.integers(1, 3)),
)
def test_caps_walk_equals_the_reference_walk(data: tuple, k: int, topic_cap, type_cap) -> None:
    catalogue, ids, scores = data
    out = diversify(
        ids, scores, k=k, catalogue=catalogue, max_per_topic=topic_cap, max_per_type=type_cap
    )
    order = score_order(scores)
    expected = reference_walk(order, ids, catalogue, k, topic_cap, type_cap)
    assert out.within_caps == len(expected)
    assert out.items[: out.within_caps].tolist() == ids[expected].tolist()
    rest = [p for p in order.tolist() if p not in set(expected)][: k - len(expected)]
    assert out.items.tolist() == ids[expected + rest].tolist()


def test_caps_walk_on_literal_lists() -> None:
    catalogue = topic_catalogue(
        ["job", "job", "event", "event", "article", "job", "article"],
        [["ai", "cloud"], ["ai"], ["cloud"], ["ai", "ai"], [], ["data"], ["cloud", "data"]],
    )
    ids, scores = np.arange(7), np.asarray([7.0, 6, 5, 4, 3, 2, 1])
    out = diversify(ids, scores, k=5, catalogue=catalogue, max_per_topic=1, max_per_type=2)
    # 0 takes ai+cloud; 1 (ai), 2 (cloud), 3 (ai) blocked; 4 free; 5 job, data: type 2/2;
    # 6 cloud blocked; then filled by score
    assert out.items.tolist() == [0, 4, 5, 1, 2] and out.within_caps == 3
    out = diversify(ids, scores, k=4, catalogue=catalogue, max_per_topic=2)
    # the duplicated topic of 3 counts twice: ai is full after 0, 1; 3 is skipped
    assert out.items.tolist() == [0, 1, 2, 4] and out.within_caps == 4


part = st.one_of(
    st.just(0.0),
    st.just(-0.0),
    st.just(0.5),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.floats(-1, 1, allow_nan=False),
)


@st.composite
def component_rows(draw: st.DrawFn) -> ScoreComponents:
    n = draw(st.integers(1, 8))
    kinds = draw(st.lists(st.sampled_from(KINDS), unique=True, max_size=len(KINDS)))
    values: dict[str, list] = {
        kind.value: draw(st.lists(part, min_size=n, max_size=n)) for kind in kinds
    }
    details = st.lists(st.integers(-1, 3), min_size=n, max_size=n)
    for name in ("similar_item", "similar_item_shared", "department_engagers", "new_topic"):
        if draw(st.booleans()):
            values[name] = draw(details)
    if draw(st.booleans()):
        values["taste_cold"] = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if draw(st.booleans()):
        hours = st.one_of(st.just(float("nan")), st.floats(-5, 500, allow_nan=False))
        values["age_hours"] = draw(st.lists(hours, min_size=n, max_size=n))
    return ScoreComponents(**values)


@settings(max_examples=300, deadline=None)
@given(component_rows(), st.integers(1, 3), st.sampled_from([0.0, -0.5, 0.1]))
def test_feed_reasons_for_rows_equal_feed_reasons_one_by_one(
    components: ScoreComponents, k: int, floor: float
) -> None:
    kw = {"titles": {0: "Zero", 2: "Two"}, "topics": {0: "ai", 1: "cloud", 2: "", 3: "data"}.get}
    rows = feed_reasons_for_rows(components, k, min_contribution=floor, **kw)
    expected = [
        feed_reasons(components, j, k, min_contribution=floor, **kw) for j in range(len(components))
    ]
    assert rows == expected


def test_feed_reasons_for_rows_on_literal_components() -> None:
    components = ScoreComponents(
        affinity=[0.5, 0.2, float("nan"), 0.0],
        freshness=[0.5, 0.3, 1.0, -1.0],
        global_trend=[0.1, 0.3, float("inf"), 0.0],
        similar_item=[2, -1, -1, -1],
        age_hours=[3.5, 100.0, float("nan"), 1.0],
    )
    rows = feed_reasons_for_rows(components, 2, titles={2: "Cloud launch"})
    assert rows == [
        (
            FeedReason(ReasonKind.AFFINITY, 0.5, "Similar to “Cloud launch” you shared"),
            FeedReason(ReasonKind.FRESHNESS, 0.5, "Just published (3 hours ago)"),
        ),
        (
            FeedReason(ReasonKind.FRESHNESS, 0.3, "Recently published (4 days ago)"),
            FeedReason(ReasonKind.GLOBAL_TREND, 0.3, "Popular across the company right now"),
        ),
        (FeedReason(ReasonKind.FRESHNESS, 1.0, "Recently published"),),
        (),
    ]
    assert feed_reasons_for_rows(ScoreComponents(), 1) == []
    with pytest.raises(ValueError, match="k must be between 1 and 3"):
        feed_reasons_for_rows(components, 0)


@settings(max_examples=150, deadline=None)
@given(
    ranked_lists(),
    st.integers(1, 12),
    st.one_of(st.none(), st.integers(1, 3)),
    st.one_of(st.none(), st.integers(1, 3)),
    st.lists(st.integers(0, 25), max_size=3),
)
def test_caps_walk_in_slices_equals_one_walk(
    data: tuple, k: int, topic_cap, type_cap, cuts: list[int]
) -> None:
    catalogue, ids, scores = data
    order = score_order(scores).tolist()
    walk = CapsWalk(catalogue, k, topic_cap, type_cap)
    bounds = [0, *sorted(min(c, len(order)) for c in cuts), len(order)]
    for start, stop in pairwise(bounds):
        walk.extend(order[start:stop], ids[order[start:stop]].tolist())
    assert walk.chosen == reference_walk(np.asarray(order), ids, catalogue, k, topic_cap, type_cap)
    assert walk.done == (len(walk.chosen) == k)
