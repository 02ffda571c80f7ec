"""Screening one content item against a :class:`~features.screening.policy.Policy`.

Detectors (each runs only when the policy has its section):

- ``terms``: the policy's blocked and held terms in the title and body (:mod:`.terms`).
- ``patterns``: the policy's regular expressions in the title and body.
- ``links``: links in the body and the item's ``url`` outside the allowed domains.
- ``sensitive_topic``: a topic tag the policy says always needs a person's approval.
- ``personal_data``: e-mail addresses, phone numbers, cards, IBANs (:mod:`.personal_data`).
- ``tone``: a sentence of the title or body at or below the tone threshold (VADER).
- ``language``: the text is confidently in another language than the declared one.

The item is ``blocked`` when a finding's action is ``block``, else ``held`` when there is any
finding, else ``passed``. Each finding names its detector, the field and span it matched
(personal data masked), and the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from features.screening.personal_data import find_personal_data
from features.screening.policy import Action, Policy
from features.screening.terms import find_terms, fold
from features.screening.text_models import identify_language, sentence_tone

URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
#: A sentence: up to a ``.``, ``!`` or ``?`` followed by a space or the end (not the dots
#: of a number or a domain), or a line break.
SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+[.!?]*")
TEXT_FIELDS = ("title", "body")


class Status(StrEnum):
    """What screening decided for an item."""

    PASSED = "passed"
    HELD = "held"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    """One reason to hold or block: ``detector``, where (``field`` and ``start``/``end`` in
    it, ``-1`` when the whole field), what matched (``excerpt``, masked for personal data),
    the ``rule`` it broke and its ``action``."""

    detector: str
    field: str
    start: int
    end: int
    excerpt: str
    rule: str
    action: Action

    def to_dict(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "excerpt": self.excerpt,
            "rule": self.rule,
            "action": str(self.action),
        }


@dataclass(frozen=True)
class ContentText:
    """The parts of a content item screening reads."""

    title: str = ""
    body: str = ""
    url: str = ""
    topics: Sequence[str] = ()
    language: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> ContentText:
        """The parts of a ``content`` table row (topics a list or contract text ``a;b``;
        missing values empty)."""
        topics = row.get("topics")
        if isinstance(topics, str):
            topics = [t for t in topics.split(";") if t.strip()]
        elif not isinstance(topics, list | tuple):
            topics = []
        return cls(
            title=_text(row.get("title")),
            body=_text(row.get("body")),
            url=_text(row.get("url")),
            topics=tuple(str(t).strip() for t in topics),
            language=_text(row.get("language")),
        )

    def field(self, name: str) -> str:
        return str(getattr(self, name) or "")


def _text(value: object) -> str:
    """A text cell: missing (None, NaN, pandas' NA) is empty."""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Screening:
    """The decision for one item and its findings (in detector order)."""

    status: Status
    findings: tuple[Finding, ...]


def screen(policy: Policy, content: ContentText) -> Screening:
    """Every finding of ``policy``'s detectors in ``content``, and the decision."""
    findings = tuple(_findings(policy, content))
    if any(f.action == Action.BLOCK for f in findings):
        status = Status.BLOCKED
    else:
        status = Status.HELD if findings else Status.PASSED
    return Screening(status, findings)


def _findings(policy: Policy, content: ContentText) -> Iterator[Finding]:
    for name in TEXT_FIELDS:
        text = content.field(name)
        if text:
            yield from _terms(policy, name, text)
            yield from _patterns(policy, name, text)
            yield from _personal_data(policy, name, text)
            yield from _tone(policy, name, text)
    yield from _links(policy, content)
    yield from _topics(policy, content)
    yield from _language(policy, content)


def _terms(policy: Policy, name: str, text: str) -> Iterator[Finding]:
    if not (policy.block_terms or policy.hold_terms):
        return
    folded = fold(text)
    for action, terms in ((Action.BLOCK, policy.block_terms), (Action.HOLD, policy.hold_terms)):
        for term, start, end in find_terms(folded, terms):
            yield Finding("terms", name, start, end, text[start:end], term, action)


def _patterns(policy: Policy, name: str, text: str) -> Iterator[Finding]:
    for pattern in policy.patterns:
        for match in pattern.regex.finditer(text):
            if match.end() > match.start():
                start, end = match.span()
                yield Finding(
                    "patterns", name, start, end, match.group(), pattern.name, pattern.action
                )


def _personal_data(policy: Policy, name: str, text: str) -> Iterator[Finding]:
    if not policy.personal_data:
        return
    for match in find_personal_data(text, policy.personal_data):
        yield Finding(
            "personal_data", name, match.start, match.end, match.masked, match.kind,
            policy.personal_data_action,
        )  # fmt: skip


def _tone(policy: Policy, name: str, text: str) -> Iterator[Finding]:
    if policy.tone is None:
        return
    text = URL.sub(lambda m: " " * len(m.group()), text)  # a link's words are not its tone
    for match in SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not re.search(r"\w", sentence):
            continue
        score = sentence_tone(sentence)
        if score <= policy.tone.threshold:
            start = match.start() + match.group().index(sentence)
            rule = f"compound score {score:.2f} at or below {policy.tone.threshold:g}"
            yield Finding(
                "tone", name, start, start + len(sentence), sentence, rule, policy.tone.action
            )


def _links(policy: Policy, content: ContentText) -> Iterator[Finding]:
    allowed = policy.allowed_domains
    if allowed is None:
        return
    links = [("url", m) for m in URL.finditer(content.url)]
    links += [("body", m) for m in URL.finditer(content.body or "")]
    for name, match in links:
        link = match.group().rstrip(".,;:!?")
        host = _host(link)
        if not any(host == d or host.endswith(f".{d}") for d in allowed):
            rule = f"domain {host or '(none)'} not allowed"
            start = match.start()
            yield Finding("links", name, start, start + len(link), link, rule, policy.links_action)


def _host(link: str) -> str:
    if not re.match(r"https?://", link, re.IGNORECASE):
        link = f"http://{link}"
    try:
        host = urlsplit(link).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def _topics(policy: Policy, content: ContentText) -> Iterator[Finding]:
    for topic in content.topics:
        if str(topic).lower() in policy.sensitive_topics:
            yield Finding("sensitive_topic", "topics", -1, -1, str(topic), str(topic), Action.HOLD)


def _language(policy: Policy, content: ContentText) -> Iterator[Finding]:
    rule = policy.language
    declared = content.language.split("-")[0].split("_")[0].lower()
    if rule is None or not declared:
        return
    text = " ".join(t for t in (content.title, content.body) if t)
    if len(re.findall(r"\w+", text)) < rule.min_words:
        return
    found, probability = identify_language(text)
    if found != declared and probability >= rule.threshold:
        excerpt = f"declared {declared}, written in {found} (p={probability:.2f})"
        yield Finding("language", "body", -1, -1, excerpt, f"language {declared}", rule.action)
