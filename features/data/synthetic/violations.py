"""Planted screening violations: a known share of the content breaks one rule each.

Used by the generator when ``OrgConfig.violation_rate`` is above 0 (stream 10; the other
tables do not change). Each chosen item gets one violation of a kind drawn uniformly from
:data:`KINDS`; the ground truth (``screening_truth``) names the item, the kind, the
detector expected to find it and the planted text.

The planted terms, pattern, topics and domains are those the shipped example policy
(``features/screening/policy.example.yaml``) screens for; a test holds the two together.
Terms are written with a random disguise (capitals, accents, look-alike digits, spaced or
dotted letters, repeated letters); personal data are random but valid (Luhn cards, mod-97
IBANs, several phone formats); hostile sentences are built from templates; a language
violation replaces the body with text in another language while the item stays declared
English. The generator renders every text in English, so with planting on, every item is
declared ``en`` (its ``allowed_languages`` targeting is unchanged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = (
    "term_block",
    "term_hold",
    "pattern",
    "link",
    "sensitive_topic",
    "email",
    "phone",
    "card",
    "iban",
    "tone",
    "language",
)
DETECTOR = {
    "term_block": "terms",
    "term_hold": "terms",
    "pattern": "patterns",
    "link": "links",
    "sensitive_topic": "sensitive_topic",
    "email": "personal_data",
    "phone": "personal_data",
    "card": "personal_data",
    "iban": "personal_data",
    "tone": "tone",
    "language": "language",
}
BLOCK_TERMS = ("guaranteed returns", "insider tip", "get rich quick")
HOLD_TERMS = ("lawsuit", "layoffs", "confidential")
SENSITIVE_TOPICS = ("earnings", "mergers", "litigation")
BAD_DOMAINS = ("bit.ly", "competitor-news.net", "example.com.offers.io", "free-prizes.biz")
_TERM_SENTENCES = (
    "Do not miss this: {term}.",
    "Colleagues keep asking about the {term} we mentioned.",
    "{term} for everyone who shares this today",
)
_PATTERNS = (
    "Our share price will double before the summer.",
    "Analysts agree: the price is going to triple.",
    "Trust us, the price will explode next quarter.",
)
_HOSTILE = (
    "Our competitors are disgusting liars and everyone should hate them.",
    "Honestly, their product is a pathetic, worthless disaster.",
    "These idiots ruined everything and we despise them.",
    "What a horrible, hateful and stupid decision by the regulator.",
    "Their CEO is a cruel, dishonest fraud who should be ashamed.",
)
_FOREIGN = {
    "de": "Wir freuen uns sehr, heute unsere neue Plattform vorzustellen. Sie hilft allen "
    "Teams, schneller zu arbeiten und bessere Entscheidungen zu treffen.",
    "fr": "Nous sommes ravis de vous présenter aujourd'hui notre nouvelle plateforme. Elle aide "
    "toutes les équipes à travailler plus vite et à mieux décider.",
    "es": "Estamos encantados de presentar hoy nuestra nueva plataforma. Ayuda a todos los "
    "equipos a trabajar más rápido y a tomar mejores decisiones.",
    "pt": "Temos o prazer de apresentar hoje a nossa nova plataforma. Ela ajuda todas as "
    "equipas a trabalhar mais depressa e a decidir melhor.",
    "nl": "We zijn blij om vandaag ons nieuwe platform te presenteren. Het helpt alle teams "
    "sneller te werken en betere beslissingen te nemen.",
}
_LOOK_ALIKE = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_ACCENTED = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü"}
_IBAN_COUNTRIES = {"DE": 18, "FR": 23, "GB": 18, "NL": 14, "ES": 20}  # digits after the check


def plant_violations(
    content: pd.DataFrame, rate: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``content`` with one violation in a ``rate`` share of its rows, every item declared
    ``en``, and the ground truth (module docstring)."""
    out = content.copy()
    out["language"] = "en"
    n = len(out)
    chosen = np.flatnonzero(rng.random(n) < rate)
    kinds = rng.integers(0, len(KINDS), len(chosen))
    truth = []
    for row, kind_index in zip(chosen.tolist(), kinds.tolist(), strict=True):
        kind = KINDS[kind_index]
        planted = _plant(out, row, kind, rng)
        content_id = str(out.iloc[row]["content_id"])
        truth.append((content_id, kind, DETECTOR[kind], planted))
    columns = ["content_id", "kind", "detector", "planted"]
    return out, pd.DataFrame(truth, columns=columns).astype("string")


def _plant(content: pd.DataFrame, row: int, kind: str, rng: np.random.Generator) -> str:
    """Write one violation of ``kind`` into ``content``'s ``row``; the planted text."""
    column = content.columns.get_loc
    body = str(content.iat[row, column("body")] or "")
    if kind == "sensitive_topic":
        topic = _pick(SENSITIVE_TOPICS, rng)
        topics = content.iat[row, column("topics")]
        content.iat[row, column("topics")] = [*(topics if isinstance(topics, list) else []), topic]
        return topic
    if kind == "language":
        language = _pick(tuple(_FOREIGN), rng)
        content.iat[row, column("body")] = _FOREIGN[language]
        return language
    planted = _sentence(kind, rng)
    content.iat[row, column("body")] = f"{body} {planted}".strip()
    return planted


def _sentence(kind: str, rng: np.random.Generator) -> str:
    if kind in ("term_block", "term_hold"):
        term = _disguise(_pick(BLOCK_TERMS if kind == "term_block" else HOLD_TERMS, rng), rng)
        sentence = _pick(_TERM_SENTENCES, rng).format(term=term)
        return sentence[0].upper() + sentence[1:]
    if kind == "pattern":
        return _pick(_PATTERNS, rng)
    if kind == "link":
        slug = "".join(rng.choice(list("abcdefghjkmnpqrstuvwxyz23456789"), 6))
        return f"Read the full story at https://{_pick(BAD_DOMAINS, rng)}/{slug}"
    if kind == "tone":
        return _pick(_HOSTILE, rng)
    return f"Questions? Contact {_personal(kind, rng)} any time."


def _personal(kind: str, rng: np.random.Generator) -> str:
    digits = lambda k: "".join(str(d) for d in rng.integers(0, 10, k))  # noqa: E731
    if kind == "email":
        name = _pick(("jane.doe", "j.smith", "maria_rossi", "l.martin+work", "kenji"), rng)
        return f"{name}{rng.integers(1, 99)}@{_pick(('gmail.com', 'corp.example.net'), rng)}"
    if kind == "phone":
        formats = (
            f"+44 20 {digits(4)} {digits(4)}",
            f"+49 30 {digits(7)}",
            f"({rng.integers(200, 999)}) {digits(3)}-{digits(4)}",
            f"0033 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
            f"020 {digits(4)} {digits(4)}",
        )
        return _pick(formats, rng)
    if kind == "card":
        number = _luhn_complete(_pick(("4", "51", "37"), rng) + digits(14))
        return " ".join(number[j : j + 4] for j in range(0, len(number), 4))
    country = _pick(tuple(_IBAN_COUNTRIES), rng)
    return _iban(country, digits(_IBAN_COUNTRIES[country]))


def _disguise(term: str, rng: np.random.Generator) -> str:
    style = int(rng.integers(0, 7))
    if style == 1:
        return term.upper()
    if style == 2:
        return "".join(_LOOK_ALIKE.get(c, c) if rng.random() < 0.5 else c for c in term)
    if style == 3:
        return " ".join(".".join(word) for word in term.split())
    if style == 4:
        return " ".join(" ".join(word) for word in term.split())
    if style == 5:
        return "".join(_ACCENTED.get(c, c) if rng.random() < 0.4 else c for c in term)
    if style == 6:
        j = int(rng.integers(0, len(term)))
        return term[:j] + term[j] * 2 + term[j:] if term[j].isalpha() else term
    return term


def _luhn_complete(partial: str) -> str:
    """``partial`` plus the Luhn check digit."""
    for check in "0123456789":
        total = 0
        for j, char in enumerate(reversed(partial + check)):
            value = int(char) * (2 if j % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return partial + check
    raise AssertionError("unreachable: one check digit always completes a Luhn number")


def _iban(country: str, account: str) -> str:
    """A valid IBAN of ``country`` for the (digit) account part, in groups of four."""
    numeric = "".join(str(int(c, 36)) for c in f"{account}{country}00")
    code = f"{country}{98 - int(numeric) % 97:02d}{account}"
    return " ".join(code[j : j + 4] for j in range(0, len(code), 4))


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(0, len(options)))]
