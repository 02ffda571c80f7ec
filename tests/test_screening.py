"""Content screening: the policy file's checks and every detector on literal texts (hits,
near misses, obfuscations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.screening.personal_data import find_personal_data, iban_valid, luhn_valid, mask
from features.screening.policy import (
    EXAMPLE_POLICY,
    Action,
    PolicyError,
    load_policy,
    parse_policy,
)
from features.screening.screen import ContentText, Status, screen
from features.screening.terms import find_terms, fold

ALL_KINDS = frozenset({"email", "phone", "card", "iban"})


def _terms(text: str, *terms: str) -> list[str]:
    return [text[s:e] for _, s, e in find_terms(fold(text), terms)]


# -- policy -----------------------------------------------------------------------------
def test_the_shipped_example_policy_loads() -> None:
    policy = load_policy(EXAMPLE_POLICY)
    assert "guaranteed returns" in policy.block_terms
    assert policy.disclosure("x", "job") == "#hiring #employee"
    assert policy.disclosure("x", "article") == "#employee"
    assert policy.disclosure("instagram", "article") == ""
    assert policy.length_limits["x"] == 280
    assert policy.tone is not None and policy.tone.threshold == -0.6


def test_an_empty_policy_screens_nothing() -> None:
    policy = parse_policy(None)
    text = ContentText(
        "Lawsuit", "Mail jane@example.com, we hate this", "http://x.biz", ["a"], "en"
    )
    assert screen(policy, text).status == Status.PASSED


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ([], "(top level)"),
        ({"term": {}}, "term"),
        ({"terms": {"block": "fraud"}}, "terms.block"),
        ({"terms": {"hold": ["ok", ""]}}, "terms.hold[1]"),
        ({"terms": {"hold": ["..."]}}, "terms.hold[0]"),
        ({"terms": {"allow": []}}, "terms.allow"),
        ({"patterns": [{"name": "x", "regex": "("}]}, "patterns[0].regex"),
        ({"patterns": [{"name": "x", "regex": "a*"}]}, "patterns[0].regex"),
        ({"patterns": [{"regex": "abc"}]}, "patterns[0].name"),
        ({"patterns": [{"name": "x", "regex": "abc", "action": "warn"}]}, "patterns[0].action"),
        ({"links": {"allowed_domains": ["not a domain"]}}, "links.allowed_domains[0]"),
        ({"personal_data": {"kinds": ["passport"]}}, "personal_data.kinds[0]"),
        ({"tone": {"threshold": 0.5}}, "tone.threshold"),
        ({"tone": {"threshold": "low"}}, "tone.threshold"),
        ({"language": {"min_confidence": 0}}, "language.min_confidence"),
        ({"language": {"min_words": 0}}, "language.min_words"),
        ({"disclosures": {"myspace": {"*": "#ad"}}}, "disclosures.myspace"),
        ({"disclosures": {"x": {"*": ""}}}, "disclosures.x.*"),
        ({"length_limits": {"x": 5}}, "length_limits.x"),
        ({"length_limits": {"x": True}}, "length_limits.x"),
    ],
)
def test_policy_errors_name_the_key(raw: object, key: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(raw)
    assert caught.value.field == key
    assert str(caught.value).startswith(f"{key}: ")


def test_a_policy_file_that_is_not_yaml_or_absent_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("terms: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")


def test_the_fingerprint_changes_with_the_policy() -> None:
    one = parse_policy({"terms": {"block": ["fraud"]}})
    assert one.fingerprint == parse_policy({"terms": {"block": ["fraud"]}}).fingerprint
    assert one.fingerprint != parse_policy({"terms": {"block": ["scam"]}}).fingerprint


# -- terms ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "guaranteed returns",
        "GUARANTEED RETURNS!",
        "Guaranteed   returns.",
        "gu4r4nt33d r3turns",
        "g.u.a.r.a.n.t.e.e.d returns",
        "g u a r a n t e e d returns",
        "guaranteeeed returnsss",
        "guaranteed\nreturns",
        "gu@r@nteed return$",
        "Guarantéed retürns",
        "ｇｕａｒａｎｔｅｅｄ returns",
    ],
)
def test_a_term_is_found_through_case_accents_and_obfuscation(text: str) -> None:
    assert _terms(f"Buy now: {text} for all", "guaranteed returns") != []


@pytest.mark.parametrize(
    "text",
    [
        "unguaranteed returns",  # not a whole word
        "guaranteed returnsfor",
        "guaranteed results",
        "returns guaranteed",
        "guaranteed, and returns",  # words of a phrase: non-letters only between them
    ],
)
def test_near_misses_of_a_phrase_are_not_found(text: str) -> None:
    assert _terms(text, "guaranteed returns") == []


def test_whole_words_only_and_spans_of_the_original_text() -> None:
    assert _terms("Scunthorpe, a classic assessment", "ass", "cunt") == []
    assert _terms("Call it what it is: Fr4ud!", "fraud") == ["Fr4ud"]
    assert _terms("In 2024 we grew", "zoza") == []  # digits between digits stay digits
    assert _terms("a b$c", "bsc") == ["b$c"]


# -- personal data --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("Write to jane.doe@example.com today", "email", "j*******@example.com"),
        ("Call +44 20 7946 0958 now", "phone", "+** ** **** 0958"),
        ("Call (555) 123-4567", "phone", "(***) ***-**67"),
        ("Call 0049 30 1234567", "phone", "**** ** ***4567"),
        ("Call 020 7946 0958", "phone", "*** **** **58"),
        ("Card 4111 1111 1111 1111 please", "card", "**** **** **** 1111"),
        ("Card 4111-1111-1111-1111", "card", "****-****-****-1111"),
        ("Card 5500000000000004", "card", "************0004"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban", "**** **** **** **** **30 00"),
        ("IBAN GB82WEST12345698765432", "iban", "******************5432"),
    ],
)
def test_personal_data_is_found_and_masked(text: str, kind: str, masked: str) -> None:
    found = find_personal_data(text, ALL_KINDS)
    assert [(m.kind, m.masked) for m in found] == [(kind, masked)]
    assert text[found[0].start : found[0].end].replace(" ", "")[-2:] == masked[-2:]


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112 (checksum fails)",
        "IBAN DE89 3704 0044 0532 0130 01",
        "IBAN DE89 3704 0044 0532 0130",  # Germany's are 22 characters
        "From 2016-2024 we grew by 25%",
        "Order 123456789 shipped",
        "We have 10,000 employees and 1.5 million users",
        "Version 3.12.1 released on 2026-12-03",
        "Write to us at jane at example dot com",
        "0000 0000 0000 0000",
    ],
)
def test_near_misses_are_not_personal_data(text: str) -> None:
    assert find_personal_data(text, ALL_KINDS) == []


def test_only_the_kinds_asked_for_are_reported() -> None:
    text = "jane@example.com or 4111 1111 1111 1111"
    assert [m.kind for m in find_personal_data(text, frozenset({"card"}))] == ["card"]


def test_checksums() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("NL91 ABNA 0417 1643 00") and not iban_valid("NL91 ABNA 0417 1643 01")
    assert mask("ab") == "ab" and mask("123456789012") == "********9012"


# -- the whole screen -------------------------------------------------------------------------
POLICY = parse_policy(
    {
        "terms": {"block": ["guaranteed returns"], "hold": ["lawsuit"]},
        "patterns": [{"name": "price promise", "regex": r"price will double", "action": "block"}],
        "links": {"allowed_domains": ["example.com"]},
        "sensitive_topics": ["Earnings"],
        "personal_data": {"kinds": ["email", "phone", "card", "iban"]},
        "tone": {"threshold": -0.6},
        "language": {"min_confidence": 0.9, "min_words": 8},
    }
)
CLEAN = ContentText(
    title="We are hiring data engineers",
    body="Join our team in Lisbon. We are thrilled to grow the analytics group this year. "
    "Read more on https://careers.example.com/jobs/42.",
    url="https://www.example.com/jobs/42",
    topics=("careers", "data"),
    language="en",
)


def _with(**changes: object) -> ContentText:
    return ContentText(**{**CLEAN.__dict__, **changes})


def test_clean_content_passes() -> None:
    assert screen(POLICY, CLEAN).status == Status.PASSED


@pytest.mark.parametrize(
    ("changes", "detector", "status", "excerpt"),
    [
        ({"title": "G.u.a.r.a.n.t.e.e.d returns inside"}, "terms", Status.BLOCKED,
         "G.u.a.r.a.n.t.e.e.d returns"),
        ({"body": "A lawsuit was filed today against a rival."}, "terms", Status.HELD, "lawsuit"),
        ({"body": "Our PRICE WILL DOUBLE next week."}, "patterns", Status.BLOCKED,
         "PRICE WILL DOUBLE"),
        ({"url": "https://example.com.evil.biz/x"}, "links", Status.HELD,
         "https://example.com.evil.biz/x"),
        ({"body": "Details at www.rival.biz/deal, today."}, "links", Status.HELD,
         "www.rival.biz/deal"),
        ({"topics": ("earnings",)}, "sensitive_topic", Status.HELD, "earnings"),
        ({"body": "Questions? Mail hr.team@example.com."}, "personal_data", Status.HELD,
         "h******@example.com"),
        ({"body": "Our competitors are disgusting liars and I hate them."}, "tone", Status.HELD,
         "Our competitors are disgusting liars and I hate them."),
        ({"body": "Wir freuen uns sehr, heute unsere neue Analyseplattform für alle Kunden "
                  "vorzustellen."}, "language", Status.HELD, "declared en, written in de"),
    ],
)  # fmt: skip
def test_each_detector_holds_or_blocks(
    changes: dict, detector: str, status: Status, excerpt: str
) -> None:
    result = screen(POLICY, _with(**changes))
    assert result.status == status
    assert [f.detector for f in result.findings] == [detector]
    finding = result.findings[0]
    assert finding.excerpt.startswith(excerpt)
    assert finding.action == (Action.BLOCK if status == Status.BLOCKED else Action.HOLD)
    if finding.start >= 0:  # a span of the field it names (masked for personal data)
        matched = getattr(_with(**changes), finding.field)[finding.start : finding.end]
        assert matched == excerpt or detector == "personal_data"


def test_near_misses_pass_the_whole_screen() -> None:
    cases = [
        {"body": "Returns are guaranteed to be processed within 30 days."},
        {"body": "Version 2.5 is out. Visit https://docs.example.com/v2.5 for notes."},
        {"body": "The team had a terrible commute but a great day."},  # mixed, not hostile
        {"title": "Lawsuits", "body": "An explainer on how contracts work in our industry."},
        {"topics": ("earnings-call-prep",)},
        {"language": "en-GB"},
        {"body": "Kurz.", "language": "de"},  # too short to judge its language
    ]
    for changes in cases:
        result = screen(POLICY, _with(**changes))
        assert result.status == Status.PASSED, (changes, result.findings)


def test_a_block_outranks_holds_and_every_finding_is_kept() -> None:
    result = screen(
        POLICY,
        _with(
            title="guaranteed returns",
            body="A lawsuit. Mail x.y@example.com.",
            topics=("earnings",),
        ),
    )
    assert result.status == Status.BLOCKED
    assert [f.detector for f in result.findings] == [
        "terms", "terms", "personal_data", "sensitive_topic",
    ]  # fmt: skip
    assert result.findings[0].to_dict()["action"] == "block"


# -- planted violations and the benchmark ----------------------------------------------------
def test_the_planted_vocabulary_is_what_the_example_policy_screens_for() -> None:
    from features.data.synthetic import violations

    policy = load_policy(EXAMPLE_POLICY)
    assert set(violations.BLOCK_TERMS) <= set(policy.block_terms)
    assert set(violations.HOLD_TERMS) <= set(policy.hold_terms)
    assert set(violations.SENSITIVE_TOPICS) <= policy.sensitive_topics
    assert policy.allowed_domains is not None
    for domain in violations.BAD_DOMAINS:
        assert not any(domain == d or domain.endswith(f".{d}") for d in policy.allowed_domains)


def test_planting_leaves_the_other_tables_unchanged_and_writes_the_truth(tmp_path: Path) -> None:
    from features.data.synthetic import OrgConfig, generate, write

    config = OrgConfig(employees=60, content=200, days=30, seed=4)
    plain = generate(config)
    planted = generate(OrgConfig(**{**config.__dict__, "violation_rate": 0.5}))
    for name, table in plain.tables.items():
        if name != "content":
            assert table.equals(planted.tables[name]), name
    truth = planted.screening_truth
    assert 70 <= len(truth) <= 130 and set(truth.columns) == {
        "content_id", "kind", "detector", "planted",
    }  # fmt: skip
    assert set(planted.tables["content"]["language"]) == {"en"}
    assert plain.screening_truth.empty
    write(planted, tmp_path)
    assert (tmp_path / "ground_truth_screening.csv").exists()
    write(plain, tmp_path / "plain")
    assert not (tmp_path / "plain" / "ground_truth_screening.csv").exists()


def test_the_synthetic_benchmark_meets_the_goals() -> None:
    from training.evaluation.screening import synthetic_screening

    found = synthetic_screening(employees=100, content=1500, days=30, seed=1, rate=0.3)
    metrics = found["models"]["screen"]
    assert set(metrics["recall"]) == {
        "term_block", "term_hold", "pattern", "link", "sensitive_topic", "email", "phone",
        "card", "iban", "tone", "language",
    }  # fmt: skip
    assert min(metrics["recall"].values()) >= 0.95, metrics["recall"]
    assert metrics["false_holds"] <= 0.02
    assert metrics["goal_met"] is True


def test_the_benchmark_cli(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from training.cli import app

    runner = CliRunner()
    args = ["evaluate", "synthetic-screening", "--employees", "60", "--content", "300"]
    done = runner.invoke(app, [*args, "--days", "30", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["benchmark"] == "synthetic-screening"
    bad = tmp_path / "policy.yaml"
    bad.write_text("tone: {threshold: 2}\n")
    refused = runner.invoke(app, [*args, "--policy", str(bad)])
    assert refused.exit_code == 2
    assert "tone.threshold" in refused.output
