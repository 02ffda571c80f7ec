"""Share text per network (issue 17): limits as each network counts, disclosures per content
type, hashtags, truncation, screening refusals, and colleagues' posts differing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.data.store import Store
from features.screening.policy import (
    DEFAULT_POLICY,
    EXAMPLE_POLICY,
    POLICY_ENV,
    load_policy,
    parse_policy,
    resolve_policy,
)
from features.screening.records import decide, screen_pending
from features.screening.screen import ContentText, Status
from features.share_text import (
    ELLIPSIS,
    X_LINK_LENGTH,
    ShareItem,
    Sharer,
    hashtag,
    post_length,
    sentences,
    share_text,
    share_texts_in_turn,
)
from features.share_text_source import suggest
from recsys.errors import FieldError
from recsys.ids import UnknownIdError
from training.cli import app
from training.evaluation.share_text import identical_share

URL = "https://news.example.com/article/c1-how-our-cloud-team-cut-costs-by-a-third-in-one-year"
BODY = (
    "Our cloud team cut the monthly bill by a third. "
    "Security reviews now take a day instead of a week. "
    "Read how we did it and what we would do differently."
)
runner = CliRunner()
POLICY = parse_policy(
    {
        "terms": {"hold": ["lawsuit"], "block": ["guaranteed returns"]},
        "disclosures": {"x": {"*": "#employee", "job": "#hiring #employee"}},
        "length_limits": {"x": 280, "linkedin": 3000, "instagram": 130},
    }
)


def _item(
    body: str = BODY,
    *,
    content_type: str = "article",
    topics: tuple[str, ...] = ("cloud", "security"),
    title: str = "How our cloud team cut costs",
    url: str = URL,
    networks: tuple[str, ...] = (),
) -> ShareItem:
    text = ContentText(title=title, body=body, url=url, topics=topics, language="en")
    return ShareItem("c1", content_type, text, networks)


def test_x_counts_any_link_as_23_and_wide_characters_twice() -> None:
    assert post_length(f"Read {URL}", "x") == 5 + X_LINK_LENGTH
    assert post_length(f"Read {URL}", "linkedin") == 5 + len(URL)
    assert post_length("日本", "x") == 4
    assert post_length("日本", "linkedin") == 2
    assert post_length(ELLIPSIS, "x") == 2  # U+2026 is outside X's single-width ranges


def test_hashtags_are_camel_case() -> None:
    assert hashtag("product-launch") == "#ProductLaunch"
    assert hashtag("remote work") == "#RemoteWork"
    assert hashtag("ai") == "#Ai"
    assert hashtag("2024") == ""  # no letter: X does not link it
    assert hashtag("--") == ""


def test_sentences_keep_domains_and_numbers_whole() -> None:
    assert sentences("Costs fell 3.5% at example.com. Then what?  Read on") == [
        "Costs fell 3.5% at example.com.",
        "Then what?",
        "Read on",
    ]


def test_a_post_on_x_stays_within_280_with_the_link_and_disclosure_kept() -> None:
    long_body = " ".join(f"Sentence number {i} tells a long and winding story." for i in range(40))
    for employee in ("a", "b", "c", "d"):
        s = share_text(POLICY, Sharer(employee, ("cloud",)), _item(long_body), "x")
        assert s.text is not None and s.limit == 280
        assert post_length(s.text, "x") == s.length <= 280
        assert URL in s.text and s.text.endswith("#employee")


def test_a_long_article_leads_with_one_of_its_first_30_sentences() -> None:
    body = " ".join(f"Sentence {i} about security." for i in range(200))
    item = _item(body)
    leads = {share_text(POLICY, Sharer(e, ("security",)), item, "x").lead for e in "abcdefgh"}
    assert len(leads) > 1
    assert all(int(lead.split()[1]) < 30 for lead in leads)


def test_the_lead_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    words = " ".join(f"word{i}" for i in range(100)) + "."
    s = share_text(POLICY, Sharer("e1"), _item(words, topics=(), title=""), "x")
    assert s.truncated and s.text is not None
    lead_line = s.text.split("\n")[0]
    assert lead_line.endswith(ELLIPSIS)
    assert all(w.startswith("word") and w[4:].isdigit() for w in lead_line[:-1].split())
    assert s.length <= 280
    # one more word would not fit
    next_word = f"word{len(lead_line[:-1].split())}"
    longer = s.text.replace(ELLIPSIS, f" {next_word}{ELLIPSIS}", 1)
    assert post_length(longer, "x") > 280


def test_extras_then_title_then_hashtags_go_before_the_lead_is_cut() -> None:
    s = share_text(POLICY, Sharer("e1", ("cloud",)), _item(), "instagram")  # 130 characters
    assert s.limit == 130 and s.length <= 130
    assert s.text is not None and s.truncated
    assert s.hashtags == ()  # dropped before the lead was cut
    assert URL in s.text  # the link is never cut


def test_a_link_and_disclosure_longer_than_the_limit_give_no_suggestion() -> None:
    policy = parse_policy({"length_limits": {"instagram": 20}})
    s = share_text(policy, Sharer("e1"), _item(), "instagram")
    assert s.text is None and "limit 20" in s.reason


def test_no_limit_keeps_every_chosen_sentence() -> None:
    s = share_text(parse_policy(None), Sharer("e1"), _item(), "xing")
    assert s.limit is None and not s.truncated and s.text is not None
    assert s.lead in s.text


def test_the_disclosure_follows_the_content_type() -> None:
    job = share_text(POLICY, Sharer("e1"), _item(content_type="job"), "x")
    article = share_text(POLICY, Sharer("e1"), _item(content_type="article"), "x")
    linkedin = share_text(POLICY, Sharer("e1"), _item(content_type="job"), "linkedin")
    assert job.text is not None and job.text.endswith("#hiring #employee")
    assert article.text is not None and article.text.endswith("#employee")
    assert "#hiring" not in article.text
    assert linkedin.disclosure == "" and linkedin.text is not None
    assert "#employee" not in linkedin.text


def test_hashtags_deduplicated_against_topics_and_disclosure_interest_matches_first() -> None:
    topics = ("security", "Cloud", "cloud", "hiring", "data")
    item = _item(content_type="job", topics=topics)
    s = share_text(POLICY, Sharer("e1", ("data", "cloud computing")), item, "x")
    assert s.hashtags[:2] in (("#Data", "#Cloud"), ("#Cloud", "#Data"))
    assert sorted(s.hashtags) == ["#Cloud", "#Data", "#Security"]  # #Hiring: in the disclosure
    assert s.text is not None and s.text.count("#Cloud") == 1


def test_the_lead_is_the_sentence_matching_the_interests() -> None:
    item = _item()
    security = [share_text(POLICY, Sharer(e, ("security",)), item, "x").lead for e in "abcdef"]
    assert set(security) == {"Security reviews now take a day instead of a week."}
    leads = {share_text(POLICY, Sharer(e), item, "x").lead for e in "abcdefghij"}
    assert len(leads) == 3  # no interests: the hash spreads colleagues over every sentence


def test_opted_out_interests_are_not_used() -> None:
    item = _item()
    sharers = [Sharer(e, ("security",), opted_out=True) for e in "abcdefghij"]
    leads = {share_text(POLICY, sharer, item, "x").lead for sharer in sharers}
    assert len(leads) == 3


def test_the_same_request_gives_the_same_text() -> None:
    first = share_text(POLICY, Sharer("e1", ("cloud",)), _item(), "x")
    assert first == share_text(POLICY, Sharer("e1", ("cloud",)), _item(), "x")


def test_taken_texts_are_avoided() -> None:
    first = share_text(POLICY, Sharer("e1"), _item(), "x")
    assert first.text is not None
    second = share_text(POLICY, Sharer("e1"), _item(), "x", taken={first.text})
    assert second.text is not None and second.text != first.text


def test_fifty_colleagues_in_turn_get_fifty_different_posts() -> None:
    sharers = [Sharer(f"emp{i:03d}", ("cloud",) if i % 2 else ()) for i in range(50)]
    texts = [s.text for s in share_texts_in_turn(POLICY, sharers, _item(), "x")]
    assert None not in texts
    assert max(Counter(texts).values()) == 1


def test_a_post_the_screen_would_hold_is_refused_with_the_reason() -> None:
    # every variant holds the one sentence with the held term
    held = share_text(POLICY, Sharer("e1"), _item("We won the lawsuit.", title=""), "x")
    assert held.text is None and held.status == Status.HELD
    assert "terms 'lawsuit'" in held.reason
    assert [f.detector for f in held.findings] == ["terms"]
    body = "Guaranteed  returns for all!"
    blocked = share_text(POLICY, Sharer("e1"), _item(body, title=""), "x")
    assert blocked.text is None and blocked.status == Status.BLOCKED
    assert "guaranteed returns" in blocked.reason


def test_the_shipped_policy_screens_the_post_and_passes_clean_content() -> None:
    policy = load_policy(EXAMPLE_POLICY)
    s = share_text(policy, Sharer("e1"), _item(), "x")
    assert s.text is not None and s.status == Status.PASSED
    sensitive = share_text(policy, Sharer("e1"), _item(topics=("earnings",)), "x")
    assert sensitive.text is None and "sensitive_topic" in sensitive.reason


@pytest.mark.parametrize(("network", "field_text"), [("myspace", "unknown network"),
                                                     ("x", "meant for linkedin")])  # fmt: skip
def test_a_network_that_cannot_take_the_item_names_the_field(network, field_text) -> None:
    with pytest.raises(FieldError, match=field_text) as info:
        share_text(POLICY, Sharer("e1"), _item(networks=("linkedin",)), network)
    assert info.value.field == "network"


def test_an_item_without_title_or_body_gets_no_suggestion() -> None:
    s = share_text(POLICY, Sharer("e1"), _item("", title="", topics=()), "x")
    assert s.text is None and "no text" in s.reason


# -- from the store (SQLite and PostgreSQL) ----------------------------------------------
def _stored(store: Store) -> None:
    store.write(
        "advocates",
        [
            {"employee_id": "ana", "interests": ["security"], "opted_out": False},
            {"employee_id": "ben", "interests": ["security"], "opted_out": False},
            {"employee_id": "cy", "interests": ["security"], "opted_out": False},
        ],
    )
    content = {"title": "How our cloud team cut costs", "body": BODY, "url": URL}
    content |= {"content_type": "job", "language": "en", "topics": ["cloud", "security"]}
    content |= {"published_at": datetime(2026, 11, 1), "networks": ["x", "linkedin"]}
    store.write(
        "content",
        [
            {"content_id": "c1", "approval_status": "approved", **content},
            {"content_id": "c2", "approval_status": "retired", **content},
        ],
    )
    share = {"content_id": "c1", "event_type": "share", "network": "x"}
    store.write(
        "interactions",
        [
            {"event_id": "s1", "employee_id": "ben", "timestamp": datetime(2026, 11, 2), **share},
            {"event_id": "s2", "employee_id": "ben", "timestamp": datetime(2026, 11, 4), **share},
            {"event_id": "s3", "employee_id": "ana", "timestamp": datetime(2026, 11, 3), **share},
        ],
    )
    screen_pending(store, POLICY)


def test_content_that_screening_holds_or_has_not_screened_gets_no_suggestion(store: Store) -> None:
    _stored(store)
    decide(store, "c1", "block", by="pm", reason="off brand")
    blocked = suggest(store, POLICY, "ana", "c1", "x")
    assert blocked.text is None and "blocked by content screening" in blocked.reason
    store.write("content", [{"content_id": "c3", "title": "New", "body": BODY, "url": URL,
                             "content_type": "job", "published_at": datetime(2026, 11, 1),
                             "approval_status": "approved"}])  # fmt: skip
    unscreened = suggest(store, POLICY, "ana", "c3", "x")
    assert unscreened.text is None and "not screened yet" in unscreened.reason


def test_suggestions_from_the_store_avoid_colleagues_who_shared_before(store: Store) -> None:
    _stored(store)
    ben, ana, cy = (suggest(store, POLICY, e, "c1", "X") for e in ("ben", "ana", "cy"))
    assert ben.network == "x" and ben.text is not None and ben.text.endswith("#hiring #employee")
    # in the order they first shared: ben, then ana; cy has not shared yet
    expected = share_texts_in_turn(
        POLICY, [Sharer(e, ("security",)) for e in ("ben", "ana", "cy")], _stored_item(), "x"
    )
    assert [ben.text, ana.text, cy.text] == [s.text for s in expected]
    assert len({ben.text, ana.text, cy.text}) == 3
    assert suggest(store, POLICY, "ana", "c1", "x") == ana  # the same answer every time
    on_linkedin = suggest(store, POLICY, "ana", "c1", "linkedin")  # nobody shared it there
    assert on_linkedin.text == share_text(POLICY, Sharer("ana", ("security",)), _stored_item(),
                                          "linkedin").text  # fmt: skip


def _stored_item() -> ShareItem:
    text = ContentText("How our cloud team cut costs", BODY, URL, ("cloud", "security"), "en")
    return ShareItem("c1", "job", text, ("x", "linkedin"))


def test_unknown_ids_unshareable_content_and_networks_from_the_store(store: Store) -> None:
    _stored(store)
    with pytest.raises(UnknownIdError) as info:
        suggest(store, POLICY, "nobody", "c1", "x")
    assert info.value.kind == "employee"
    with pytest.raises(UnknownIdError) as info:
        suggest(store, POLICY, "ana", "c9", "x")
    assert info.value.kind == "content"
    with pytest.raises(FieldError, match="meant for x, linkedin"):
        suggest(store, POLICY, "ana", "c1", "facebook")
    retired = suggest(store, POLICY, "ana", "c2", "x")
    assert retired.text is None and "retired" in retired.reason


# -- measurement: 50 colleagues of a synthetic organisation ------------------------------
def test_fifty_colleagues_of_a_synthetic_organisation_never_get_the_same_post() -> None:
    figures = identical_share(employees=200, content=40, sharers=50, seed=7, networks=("x",))
    assert figures["items"] >= 5
    assert figures["x"]["in_turn"] == 0.0  # the goal: none identical
    assert figures["x"]["independent"] > 0.0  # without the colleagues' texts, some repeat


# -- the CLI ------------------------------------------------------------------------------
def test_the_cli_prints_the_suggestion_and_exit_codes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(db)
    _stored(store)
    store.dispose()
    policy = tmp_path / "policy.yaml"
    policy.write_text("disclosures: {x: {job: '#hiring #employee'}}\nlength_limits: {x: 280}\n")
    base = ["content", "share-text", "cy", "c1", "--network", "x", "--db", db]
    shown = runner.invoke(app, [*base, "--policy", str(policy), "--json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["text"].endswith("#hiring #employee") and body["length"] <= body["limit"] == 280
    plain = runner.invoke(app, [*base, "--policy", str(policy)])
    assert plain.exit_code == 0 and plain.stdout.strip() == body["text"]
    retired = runner.invoke(app, [*base[:3], "c2", *base[4:]])
    assert retired.exit_code == 1 and "retired" in retired.stderr
    unknown = runner.invoke(app, [*base[:2], "nobody", *base[3:]])
    assert unknown.exit_code == 2 and "unknown employee id(s): nobody" in unknown.stderr
    network = runner.invoke(app, [*base[:5], "facebook", *base[6:]])
    assert network.exit_code == 2 and "--network: content 'c1' is meant for" in network.stderr
    policy.write_text("length_limits: {x: 5}\n")
    bad = runner.invoke(app, [*base, "--policy", str(policy)])
    assert bad.exit_code == 2 and "length_limits.x" in bad.stderr


def test_the_policy_comes_from_the_option_the_environment_or_the_default(tmp_path: Path) -> None:
    chosen, other = tmp_path / "a.yaml", tmp_path / "b.yaml"
    chosen.write_text("length_limits: {x: 100}\n")
    other.write_text("length_limits: {x: 200}\n")
    assert resolve_policy(chosen, {POLICY_ENV: str(other)}).length_limits["x"] == 100
    assert resolve_policy(None, {POLICY_ENV: str(other)}).length_limits["x"] == 200
    assert resolve_policy(None, {}).source == str(DEFAULT_POLICY)
