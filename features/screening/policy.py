"""The screening policy: what content may not reach a feed, and what a person must approve.

A YAML file (``policy.example.yaml`` beside this module is the shipped example)::

    terms:                       # whole words and phrases; case, accents and common
      block: [guaranteed returns]  #   obfuscations (l33t, s.p.a.c.e.d, repeated letters)
      hold: [lawsuit]              #   are ignored
    patterns:                    # regular expressions on the title and body
      - {name: price promise, regex: 'price (?:will|to) (?:double|triple)', action: hold}
    links: {allowed_domains: [example.com], action: hold}   # subdomains allowed
    sensitive_topics: [earnings]                 # always held for a person's approval
    personal_data: {kinds: [email, phone, card, iban], action: hold}
    tone: {threshold: -0.6, action: hold}        # a sentence this negative or worse
    language: {min_confidence: 0.9, min_words: 8, action: hold}
    disclosures: {linkedin: {"*": "#employee"}, x: {job: "#hiring #employee"}}
    length_limits: {x: 280, linkedin: 3000}

Every section is optional: a detector without its section does not run. ``action`` is
``block`` (never shown) or ``hold`` (shown once a program manager releases it).
``disclosures`` (per network, per content type or ``*``) and ``length_limits`` (per
network) shape the suggested share texts. Every problem raises :class:`PolicyError`
naming the dotted key, e.g. ``tone.threshold: must be a number in [-1, 0]``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from features.data.contract import NETWORKS
from features.yaml_config import mapping, no_unknown_keys, read_yaml
from recsys.errors import FieldError

EXAMPLE_POLICY = Path(__file__).with_name("policy.example.yaml")
#: The policy used when none is configured: personal data and hostile tone held.
DEFAULT_POLICY = Path(__file__).with_name("policy.default.yaml")
#: The environment variable naming the policy file (the CLI and the service read it).
POLICY_ENV = "ADVOCACY_POLICY"

PERSONAL_DATA_KINDS = ("email", "phone", "card", "iban")
_TOP_KEYS = (
    "terms",
    "patterns",
    "links",
    "sensitive_topics",
    "personal_data",
    "tone",
    "language",
    "disclosures",
    "length_limits",
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_-]*")


class PolicyError(FieldError):
    """A policy that cannot be used; ``field`` names the dotted key at fault."""


class Action(StrEnum):
    """What a finding does to its content: blocked, or held for a person's approval."""

    BLOCK = "block"
    HOLD = "hold"


@dataclass(frozen=True)
class Pattern:
    """A named regular expression (searched case-insensitively)."""

    name: str
    regex: re.Pattern[str]
    action: Action


@dataclass(frozen=True)
class Threshold:
    """A detector's cut-off and what crossing it does (tone, language)."""

    action: Action
    threshold: float = 0.0
    min_words: int = 0


@dataclass(frozen=True)
class Policy:
    """A validated screening policy (see the module docstring)."""

    block_terms: tuple[str, ...] = ()
    hold_terms: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    allowed_domains: tuple[str, ...] | None = None  # None: links are not checked
    links_action: Action = Action.HOLD
    sensitive_topics: frozenset[str] = frozenset()
    personal_data: frozenset[str] = frozenset()
    personal_data_action: Action = Action.HOLD
    tone: Threshold | None = None
    language: Threshold | None = None
    disclosures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    length_limits: Mapping[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    source: str = ""

    def disclosure(self, network: str, content_type: str) -> str:
        """The disclosure a share of ``content_type`` on ``network`` must carry ('' none)."""
        rules = self.disclosures.get(network, {})
        return rules.get(content_type, rules.get("*", ""))


def resolve_policy(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Policy:
    """The policy in ``path``, else in the file ``ADVOCACY_POLICY`` names, else the default."""
    env = os.environ if environ is None else environ
    chosen = path or env.get(POLICY_ENV) or DEFAULT_POLICY
    return load_policy(chosen)


def load_policy(path: Path | str) -> Policy:
    """The validated policy in YAML file ``path``; :class:`PolicyError` if unusable."""
    return parse_policy(read_yaml(path, PolicyError), source=str(path))


def parse_policy(raw: object, *, source: str = "") -> Policy:
    """The validated policy in a parsed YAML document (``None``: an empty policy)."""
    top = {} if raw is None else _mapping(raw, "(top level)")
    _known(top, _TOP_KEYS, "")
    terms = _mapping(top.get("terms", {}), "terms")
    _known(terms, ("block", "hold"), "terms.")
    links = _section(top, "links", ("allowed_domains", "action"))
    personal = _section(top, "personal_data", ("kinds", "action"))
    return Policy(
        block_terms=_terms(terms.get("block", []), "terms.block"),
        hold_terms=_terms(terms.get("hold", []), "terms.hold"),
        patterns=_patterns(top.get("patterns", [])),
        allowed_domains=None if links is None else _domains(links),
        links_action=_action(links, "links"),
        sensitive_topics=frozenset(
            t.lower() for t in _strings(top.get("sensitive_topics", []), "sensitive_topics")
        ),
        personal_data=frozenset() if personal is None else _kinds(personal),
        personal_data_action=_action(personal, "personal_data"),
        tone=_tone(_section(top, "tone", ("threshold", "action"))),
        language=_language(_section(top, "language", ("min_confidence", "min_words", "action"))),
        disclosures=_disclosures(top.get("disclosures", {})),
        length_limits=_limits(top.get("length_limits", {})),
        fingerprint=hashlib.sha256(
            json.dumps(top, sort_keys=True, default=str).encode()
        ).hexdigest(),
        source=source,
    )


def _section(top: Mapping[str, object], key: str, known: tuple[str, ...]) -> dict | None:
    if key not in top:
        return None
    entry = _mapping(top[key], key)
    _known(entry, known, f"{key}.")
    return entry


def _terms(raw: object, key: str) -> tuple[str, ...]:
    terms = _strings(raw, key)
    for j, term in enumerate(terms):
        if not re.search(r"\w", term):
            raise PolicyError(f"{key}[{j}]", f"must hold a letter or digit, got {term!r}")
    return tuple(terms)


def _patterns(raw: object) -> tuple[Pattern, ...]:
    if not isinstance(raw, list):
        raise PolicyError("patterns", "must be a list of {name, regex, action}")
    patterns = []
    for j, entry in enumerate(raw):
        key = f"patterns[{j}]"
        item = _mapping(entry, key)
        _known(item, ("name", "regex", "action"), f"{key}.")
        for name in ("name", "regex"):
            if not isinstance(item.get(name), str) or not str(item[name]).strip():
                raise PolicyError(f"{key}.{name}", "required: a non-empty string")
        try:
            regex = re.compile(str(item["regex"]), re.IGNORECASE)
        except re.error as exc:
            raise PolicyError(f"{key}.regex", f"not a valid regular expression: {exc}") from None
        if regex.search(""):
            raise PolicyError(f"{key}.regex", "matches the empty text: it would hit everything")
        patterns.append(Pattern(str(item["name"]), regex, _action(item, key)))
    return tuple(patterns)


def _domains(links: Mapping[str, object]) -> tuple[str, ...]:
    domains = _strings(links.get("allowed_domains", []), "links.allowed_domains")
    out = []
    for j, domain in enumerate(domains):
        name = domain.strip().lower().removeprefix("www.")
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", name):
            raise PolicyError(f"links.allowed_domains[{j}]", f"not a domain name: {domain!r}")
        out.append(name)
    return tuple(out)


def _kinds(personal: Mapping[str, object]) -> frozenset[str]:
    kinds = _strings(personal.get("kinds", list(PERSONAL_DATA_KINDS)), "personal_data.kinds")
    for j, kind in enumerate(kinds):
        if kind not in PERSONAL_DATA_KINDS:
            raise PolicyError(
                f"personal_data.kinds[{j}]", f"unknown kind {kind!r}; one of {PERSONAL_DATA_KINDS}"
            )
    return frozenset(kinds)


def _tone(entry: Mapping[str, object] | None) -> Threshold | None:
    if entry is None:
        return None
    value = _number(entry.get("threshold", -0.6), "tone.threshold")
    if not -1.0 <= value <= 0.0:
        raise PolicyError("tone.threshold", f"must be a number in [-1, 0], got {value!r}")
    return Threshold(_action(entry, "tone"), threshold=value)


def _language(entry: Mapping[str, object] | None) -> Threshold | None:
    if entry is None:
        return None
    value = _number(entry.get("min_confidence", 0.9), "language.min_confidence")
    if not 0.0 < value <= 1.0:
        raise PolicyError("language.min_confidence", f"must be in (0, 1], got {value!r}")
    words = entry.get("min_words", 8)
    if not isinstance(words, int) or isinstance(words, bool) or words < 1:
        raise PolicyError("language.min_words", f"must be an integer >= 1, got {words!r}")
    return Threshold(_action(entry, "language"), threshold=value, min_words=words)


def _disclosures(raw: object) -> dict[str, dict[str, str]]:
    networks = _mapping(raw, "disclosures")
    out: dict[str, dict[str, str]] = {}
    for network, rules in networks.items():
        key = f"disclosures.{network}"
        if network not in NETWORKS:
            raise PolicyError(key, f"unknown network; one of {', '.join(NETWORKS)}")
        entries = _mapping(rules, key)
        for content_type, text in entries.items():
            if content_type != "*" and not _TOKEN.fullmatch(content_type):
                raise PolicyError(f"{key}.{content_type}", "must be a content type or '*'")
            if not isinstance(text, str) or not text.strip():
                raise PolicyError(f"{key}.{content_type}", "must be a non-empty text")
        out[network] = {str(t): str(v).strip() for t, v in entries.items()}
    return out


def _limits(raw: object) -> dict[str, int]:
    limits = _mapping(raw, "length_limits")
    for network, value in limits.items():
        key = f"length_limits.{network}"
        if network not in NETWORKS:
            raise PolicyError(key, f"unknown network; one of {', '.join(NETWORKS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 20:
            raise PolicyError(key, f"must be an integer >= 20 (characters), got {value!r}")
    return dict(limits)  # type: ignore[arg-type]


def _action(entry: Mapping[str, object] | None, key: str) -> Action:
    value = "hold" if entry is None else entry.get("action", "hold")
    if value not in tuple(Action):
        raise PolicyError(f"{key}.action", f"must be block or hold, got {value!r}")
    return Action(str(value))


def _number(value: object, key: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise PolicyError(key, f"must be a number, got {value!r}")
    return float(value)


def _strings(raw: object, key: str) -> list[str]:
    if not isinstance(raw, list):
        raise PolicyError(key, "must be a list of texts")
    for j, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{key}[{j}]", f"must be a non-empty text, got {value!r}")
    return [str(v).strip() for v in raw]


def _mapping(raw: object, key: str) -> dict[str, object]:
    return mapping(raw, key, PolicyError)


def _known(entry: Mapping[str, object], known: tuple[str, ...], prefix: str) -> None:
    no_unknown_keys(entry, known, prefix, PolicyError)
