"""Whole-word term matching that ignores case, accents and common obfuscations.

Text is folded character by character (:func:`fold`): accents dropped (NFKD without the
combining marks), case folded, and the usual look-alike characters read as letters (``0``
as ``o``, ``3`` as ``e``, ``@`` as ``a``, ``$`` as ``s`` ...) in words that hold a letter
(``r37urns``; ``2024`` and ``$500`` stay as they are; ``!`` only before a letter, so that a
sentence's ``!`` stays punctuation). A term matches when its folded letters appear as a
whole word (no letter or digit just before or after), each letter possibly repeated and
followed by at most one separator (``f.r.a.u.d``, ``f r a u d``, ``fraaud``); the words of
a phrase are separated by any run of non-letters. Matches are reported as spans of the
original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: Look-alike characters read as the letter they stand for (after case folding).
LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
LOOK_ALIKE_CHARS = frozenset("013457@$!")
_WORD = re.compile(r"(?:[^\W_]|[@$!])+")
_SEPARATOR = r"[^a-z0-9]?"


@dataclass(frozen=True)
class Folded:
    """Folded text and, for each of its characters, the index of the original one."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original text's span of the folded span ``[start, end)``."""
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> Folded:
    """``text`` folded for matching (module docstring), with the map back to ``text``."""
    letters = _look_alikes_read_as_letters(text)
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        if index in letters:
            folded = folded.translate(LOOK_ALIKES)
        chars.append(folded)
        origin.extend([index] * len(folded))
    return Folded("".join(chars), tuple(origin))


def _look_alikes_read_as_letters(text: str) -> set[int]:
    """Indexes of the look-alike characters of words that hold a letter (``r37urns``, not
    ``2024`` or ``$500``); a ``!`` only when a letter follows it."""
    found: set[int] = set()
    for word in _WORD.finditer(text):
        if any(c.isalpha() for c in word.group()):
            start = word.start()
            found.update(
                start + j
                for j, c in enumerate(word.group())
                if c in LOOK_ALIKE_CHARS
                and (c != "!" or text[start + j + 1 : start + j + 2].isalpha())
            )
    return found


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return bare.casefold()


@lru_cache(maxsize=1024)
def term_regex(term: str) -> re.Pattern[str]:
    """The regex finding ``term`` in folded text (module docstring)."""
    words = re.findall(r"[a-z0-9]+", fold(term).text)
    if not words:
        raise ValueError(f"term {term!r} has no letter or digit")
    body = r"[^a-z0-9]+".join(_SEPARATOR.join(f"{re.escape(c)}+" for c in word) for word in words)
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def find_terms(folded: Folded, terms: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """Every match of ``terms`` in ``folded``: (term, start, end) in the original text."""
    found = []
    for term in terms:
        for match in term_regex(term).finditer(folded.text):
            start, end = folded.span(match.start(), match.end())
            found.append((term, start, end))
    return found
