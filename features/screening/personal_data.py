"""Personal data in text: e-mail addresses, phone numbers, payment cards and IBANs.

Cards and IBANs count only when their checksum holds (Luhn; ISO 13616 mod 97 with the
country's length where it is known), so order numbers and dates are not mistaken for them.
A phone number is 9 to 15 digits written as one: starting with ``+`` or ``00``, or with a
parenthesised area code, or in at least three groups (``020 7946 0958``); a year range such
as ``2016-2024`` is one separator and does not count. Each match is reported masked (most of
its characters replaced by ``*``), so that findings stored for review do not copy the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
PHONE = re.compile(r"(?<![\w+])(?:\+|00|\()?\d[\d ().\-/]{6,}\d(?![\w])")
#: IBAN lengths of the countries most programs operate in (others: 15-34 characters).
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SK": 24,
}  # fmt: skip


@dataclass(frozen=True)
class Match:
    """One piece of personal data: its kind, its span in the text and a masked copy."""

    kind: str
    start: int
    end: int
    masked: str


def find_personal_data(text: str, kinds: frozenset[str]) -> list[Match]:
    """Every e-mail, card, IBAN and phone number of ``kinds`` in ``text`` (a phone number is
    not reported inside a card or IBAN it is part of)."""
    found: list[Match] = []
    finders = (("email", EMAIL, _true), ("card", CARD, _is_card), ("iban", IBAN, _is_iban))
    for kind, regex, valid in finders:
        if kind in kinds:
            found += [_match(kind, m) for m in regex.finditer(text) if valid(m.group())]
    if "phone" in kinds:
        taken = [(m.start, m.end) for m in found]
        for m in PHONE.finditer(text):
            inside = any(s <= m.start() and m.end() <= e for s, e in taken)
            if not inside and _is_phone(m.group()):
                found.append(_match("phone", m))
    return sorted(found, key=lambda m: m.start)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits holds."""
    total = 0
    for j, char in enumerate(reversed(digits)):
        value = int(char) * (2 if j % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: the country's length (when known) and the mod-97 check."""
    code = iban.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(code[:2])
    if (expected is not None and len(code) != expected) or not 15 <= len(code) <= 34:
        return False
    rearranged = code[4:] + code[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _is_card(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _is_iban(text: str) -> bool:
    return iban_valid(text)


def _is_phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if not 9 <= len(digits) <= 15:
        return False
    groups = len(re.findall(r"\d+", text))
    return text.startswith(("+", "00", "(")) or groups >= 3


def _true(_: str) -> bool:
    return True


def _match(kind: str, match: re.Match[str]) -> Match:
    return Match(kind, match.start(), match.end(), mask(match.group()))


def mask(text: str) -> str:
    """``text`` with all but its last 2 letters or digits (4 from 12 on) replaced by ``*``;
    an e-mail keeps its first character and its domain."""
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"
    keep = 4 if sum(c.isalnum() for c in text) >= 12 else 2
    out, kept = [], 0
    for char in reversed(text):
        if char.isalnum() and kept >= keep:
            out.append("*")
        else:
            kept += char.isalnum()
            out.append(char)
    return "".join(reversed(out))
