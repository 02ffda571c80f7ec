"""Suggested share texts: a post for one employee, one content item and one network.

A suggestion is built from the item's own words only (nothing is invented, so it stays in
the item's language):

- the **lead**: one of the body's first 30 sentences (the title when it has none), the one
  whose words overlap most with the employee's interests; ties (and employees without
  interests) are broken by a stable hash of employee id + content id, so colleagues get
  different leads. (The item's topic words are not counted: they are the same for every
  colleague and would give them all the same lead.)
- up to two more sentences, the title in front or not, the hashtags' order and the
  layout (where the hashtags and the link go) vary by the same hash. :func:`share_text`
  walks these variants in the employee's own order and takes the first whose text is not
  ``taken``, e.g. by colleagues who shared the item before (:func:`share_texts_in_turn`);
- **hashtags** from the item's topics, CamelCase (``product-launch`` -> ``#ProductLaunch``),
  deduplicated (also against the disclosure), those matching the employee's interests first;
- the link, then the policy's **disclosure** for the network and content type
  (:meth:`~features.screening.policy.Policy.disclosure`), always last.

The post is kept within the policy's ``length_limits`` for the network, counted as the
network counts (:func:`post_length`: X counts any link as 23 characters and some characters
twice). What does not fit is dropped in this order: the extra sentences, the title, the
hashtags from the last, then the lead is cut at a word boundary with an ellipsis. The link
and the disclosure are never cut: when they alone do not fit, there is no suggestion.

The suggestion then passes the same screen as content (:func:`~features.screening.screen.
screen` on the post as the body, with the item's topics and language); a held or blocked
post is refused with the findings as its reason. Employees who opted out get no
interest-based choices (no profiling): only the hash decides.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from features.data.contract import NETWORKS
from features.screening.policy import Policy
from features.screening.screen import SENTENCE, URL, ContentText, Finding, Status, screen
from recsys.errors import FieldError

#: Characters X counts for any link (its t.co wrapping).
X_LINK_LENGTH = 23
#: Code point ranges X counts once (twitter-text v3 configuration); all others count twice.
_X_SINGLE = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
ELLIPSIS = "…"
#: Body sentences a lead is picked from (the first ones: a long article's opening).
MAX_SENTENCES = 30
#: Body sentences after the lead a suggestion may carry.
MAX_EXTRA_SENTENCES = 2
#: Variants :func:`share_text` tries before giving up on avoiding ``taken`` texts.
MAX_VARIANTS = 5000
#: Ways of placing the hashtags and the link (:func:`_render`).
LAYOUTS = 3
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Sharer:
    """Who shares: their id and interests (ignored when they opted out)."""

    employee_id: str
    interests: Sequence[str] = ()
    opted_out: bool = False


@dataclass(frozen=True)
class ShareItem:
    """What is shared: the screened text parts, the content type and the networks it is
    meant for (empty: any)."""

    content_id: str
    content_type: str
    text: ContentText
    networks: Sequence[str] = ()


@dataclass(frozen=True)
class Suggestion:
    """A suggested post (``text``), or none with the ``reason`` (``text`` is None).

    ``length`` is the post's length as the network counts it, ``limit`` the policy's limit
    (None: no limit); ``status`` and ``findings`` are the screen's on the post."""

    employee_id: str
    content_id: str
    network: str
    text: str | None
    reason: str = ""
    lead: str = ""
    hashtags: tuple[str, ...] = ()
    disclosure: str = ""
    length: int = 0
    limit: int | None = None
    truncated: bool = False
    status: Status = Status.PASSED
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "employee_id": self.employee_id,
            "content_id": self.content_id,
            "network": self.network,
            "text": self.text,
            "reason": self.reason,
            "lead": self.lead,
            "hashtags": list(self.hashtags),
            "disclosure": self.disclosure,
            "length": self.length,
            "limit": self.limit,
            "truncated": self.truncated,
            "status": str(self.status),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class _Draft:
    """One variant before fitting: text units (title?, lead, extras), hashtags, layout."""

    units: tuple[str, ...]
    lead: str
    tags: tuple[str, ...]
    layout: int  # see _render


def post_length(text: str, network: str) -> int:
    """``text``'s length as ``network`` counts it: X counts each link as
    :data:`X_LINK_LENGTH` and code points outside its single-width ranges (CJK, emoji,
    the ellipsis ...) twice, on the NFC form (an emoji sequence may count more than X
    does: never less); other networks count code points."""
    text = unicodedata.normalize("NFC", text)
    if network != "x":
        return len(text)
    links = list(URL.finditer(text))
    rest = URL.sub("", text)
    if rest.isascii():
        return len(rest) + X_LINK_LENGTH * len(links)
    weight = sum(1 if any(lo <= ord(c) <= hi for lo, hi in _X_SINGLE) else 2 for c in rest)
    return weight + X_LINK_LENGTH * len(links)


def hashtag(topic: str) -> str:
    """``#CamelCase`` of a topic's words (``product-launch`` -> ``#ProductLaunch``); '' when
    it has no letter (X does not link an all-digit tag)."""
    words = _WORD.findall(topic)
    tag = "".join(w[0].upper() + w[1:] for w in words)
    return f"#{tag}" if any(c.isalpha() for c in tag) else ""


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (as screening splits them), whitespace collapsed."""
    found = (" ".join(m.group().split()) for m in SENTENCE.finditer(text))
    return [s for s in found if _WORD.search(s)]


def share_text(
    policy: Policy,
    sharer: Sharer,
    item: ShareItem,
    network: str,
    *,
    taken: Collection[str] = (),
) -> Suggestion:
    """The suggested post of ``sharer`` for ``item`` on ``network`` (see the module
    docstring), the first of the sharer's variants whose text is not in ``taken``
    (all taken: the first). :class:`FieldError` on ``network`` when it is unknown or the
    item is not meant for it."""
    return _Composer(policy, item, network).suggestion(sharer, taken)


def share_texts_in_turn(
    policy: Policy, sharers: Iterable[Sharer], item: ShareItem, network: str
) -> list[Suggestion]:
    """Each sharer's suggestion in turn, avoiding the texts suggested to those before
    (colleagues in the order they shared)."""
    composer = _Composer(policy, item, network)
    taken: set[str] = set()
    out = []
    for sharer in sharers:
        suggestion = composer.suggestion(sharer, taken)
        if suggestion.text is not None:
            taken.add(suggestion.text)
        out.append(suggestion)
    return out


def texts_in_turn(
    policy: Policy, sharers: Iterable[Sharer], item: ShareItem, network: str
) -> set[str]:
    """The texts :func:`share_texts_in_turn` suggests to ``sharers`` before screening (a
    text the screen refuses is refused to anyone: keeping it out of reach costs nothing)."""
    composer = _Composer(policy, item, network)
    taken: set[str] = set()
    for sharer in sharers:
        chosen = composer.choose(sharer, taken)
        if chosen is not None:
            taken.add(chosen[0])
    return taken


def checked_network(network: str, item: ShareItem) -> str:
    """``network`` lower-cased; :class:`FieldError` on ``network`` when it is unknown or
    ``item`` is meant for other networks."""
    name = network.strip().lower()
    if name not in NETWORKS:
        raise FieldError("network", f"unknown network {network!r}; one of {', '.join(NETWORKS)}")
    meant = [n.strip().lower() for n in item.networks]
    if meant and name not in meant:
        raise FieldError(
            "network",
            f"content {item.content_id!r} is meant for {', '.join(meant)}, not {name}",
        )
    return name


class _Composer:
    """The suggestions of one item on one network: what every sharer's post shares (the
    limit, the disclosure, the link) and each fitted variant, fitted once."""

    def __init__(self, policy: Policy, item: ShareItem, network: str) -> None:
        self.policy = policy
        self.item = item
        self.network = checked_network(network, item)
        self.limit = policy.length_limits.get(self.network)
        self.disclosure = policy.disclosure(self.network, item.content_type)
        self.url = item.text.url.strip()
        self.fitted: dict[_Draft, tuple[str, bool, _Draft]] = {}

    def choose(self, sharer: Sharer, taken: Collection[str]) -> tuple[str, bool, _Draft] | None:
        """The sharer's first variant (fitted) whose text is not ``taken`` (all taken: the
        first); None when the item has no text."""
        first = None
        for draft in itertools.islice(_drafts(sharer, self.item, self.disclosure), MAX_VARIANTS):
            fitted = self.fitted.get(draft)
            if fitted is None:
                fitted = _fit(draft, self.url, self.disclosure, self.network, self.limit)
                self.fitted[draft] = fitted
            if fitted[0] not in taken:
                return fitted
            first = first or fitted
        return first

    def suggestion(self, sharer: Sharer, taken: Collection[str]) -> Suggestion:
        base = Suggestion(sharer.employee_id, self.item.content_id, self.network, None)
        fixed = _render(ELLIPSIS, (), self.url, self.disclosure, layout=0)
        if self.limit is not None and post_length(fixed, self.network) > self.limit:
            return self._refused(
                base,
                f"the link and the disclosure alone are longer than {self.network}'s"
                f" limit {self.limit}",
            )
        chosen = self.choose(sharer, taken)
        if chosen is None:
            return self._refused(base, "the item has no text to share")
        return self._screened(base, *chosen)

    def _refused(self, base: Suggestion, reason: str) -> Suggestion:
        return replace(base, reason=reason, disclosure=self.disclosure, limit=self.limit)

    def _screened(self, base: Suggestion, text: str, truncated: bool, kept: _Draft) -> Suggestion:
        topics, language = self.item.text.topics, self.item.text.language
        result = screen(self.policy, ContentText(body=text, topics=topics, language=language))
        reason = ""
        if result.status != Status.PASSED:
            shown = "; ".join(f"{f.detector} {f.rule!r} ({f.excerpt})" for f in result.findings[:5])
            reason = f"the post would be {result.status} by screening: {shown}"
        return replace(
            base,
            text=text if result.status == Status.PASSED else None,
            reason=reason,
            lead=kept.lead,
            hashtags=kept.tags,
            disclosure=self.disclosure,
            length=post_length(text, self.network),
            limit=self.limit,
            truncated=truncated,
            status=result.status,
            findings=result.findings,
        )


# -- variants -----------------------------------------------------------------------------
def _drafts(sharer: Sharer, item: ShareItem, disclosure: str) -> Iterator[_Draft]:
    """The sharer's variants, their favourite first: the lead varies slowest, the extra
    sentences fastest (the words change before the layout does)."""
    interests = () if sharer.opted_out else tuple(sharer.interests)
    salt = f"{sharer.employee_id}\x1f{item.content_id}"
    title = " ".join(item.text.title.split())
    body = sentences(item.text.body)[:MAX_SENTENCES]
    if not body:
        body, title = ([title], "") if title else ([], "")
    if not body:
        return
    wanted = _words(interests)
    leads = sorted(
        range(len(body)),
        key=lambda j: (-len(_words([body[j]]) & wanted), _hash(salt, "lead", j)),
    )
    tag_orders = _tag_orders(*_hashtags(item.text.topics, interests, disclosure), salt)
    layouts = sorted(range(LAYOUTS), key=lambda v: _hash(salt, "layout", v))
    titles = sorted((True, False) if title else (False,), key=lambda v: _hash(salt, "title", v))
    for lead in leads:
        rest = [j for j in range(len(body)) if j != lead]
        extras = sorted(_ordered_subsets(rest), key=lambda s: _hash(salt, "extras", *s))
        for layout, tags, with_title, more in itertools.product(
            layouts, tag_orders, titles, extras
        ):
            units = ((title,) if with_title else ()) + tuple(body[j] for j in (lead, *more))
            yield _Draft(units, body[lead], tags, layout)


def _ordered_subsets(rest: Sequence[int]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for size in range(min(MAX_EXTRA_SENTENCES, len(rest)) + 1):
        out += itertools.permutations(rest, size)
    return out


def _hashtags(
    topics: Sequence[str], interests: Sequence[str], disclosure: str
) -> tuple[list[str], list[str]]:
    """Unique hashtags of ``topics`` (not in the disclosure): those matching ``interests``,
    and the others."""
    seen = {t.casefold() for t in disclosure.split() if t.startswith("#")}
    wanted = _words(interests)
    matching: list[str] = []
    other: list[str] = []
    for topic in topics:
        tag = hashtag(str(topic))
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            (matching if _words([str(topic)]) & wanted else other).append(tag)
    return matching, other


def _tag_orders(first: list[str], second: list[str], salt: str) -> list[tuple[str, ...]]:
    """Orders of the hashtags (``first`` stay first), at most 6, ordered by the hash."""
    orders = [
        a + b
        for a, b in itertools.islice(
            itertools.product(itertools.permutations(first), itertools.permutations(second)), 6
        )
    ]
    return sorted(orders, key=lambda o: _hash(salt, "tags", *o))


def _words(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(_stem(w) for t in texts for w in _WORD.findall(str(t).casefold()))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _hash(salt: str, *parts: object) -> int:
    key = "\x1f".join([salt, *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


# -- fitting ------------------------------------------------------------------------------
def _render(text: str, tags: Sequence[str], url: str, disclosure: str, *, layout: int) -> str:
    """The post in one of :data:`LAYOUTS` layouts, the disclosure always last: 0 the text,
    the link, the hashtags; 1 the text, the hashtags, the link; 2 the text with the
    hashtags on its line, the link (each part on its own line)."""
    tag_line = " ".join(tags)
    if layout == 0:
        lines = [text, url, tag_line]
    elif layout == 1:
        lines = [text, tag_line, url]
    else:
        lines = [f"{text} {tag_line}".strip(), url]
    lines = [line for line in lines if line]
    if disclosure:
        lines[-1:] = [f"{lines[-1]} {disclosure}" if lines else disclosure]
    return "\n".join(lines)


def _join(units: Sequence[str], has_title: bool) -> str:
    """The text units as one text; a title without final punctuation is followed by a dash
    (``Title — lead ...``; titles often hold a colon of their own)."""
    if has_title and len(units) > 1 and not re.search(r"[.!?:]$", units[0]):
        return f"{units[0]} — {' '.join(units[1:])}"
    return " ".join(units)


def _fit(
    draft: _Draft, url: str, disclosure: str, network: str, limit: int | None
) -> tuple[str, bool, _Draft]:
    """The draft's post within ``limit``: extras, then the title, then hashtags are
    dropped, then the lead is cut at a word boundary with an ellipsis."""
    units, tags = list(draft.units), list(draft.tags)
    has_title = units[0] != draft.lead

    def render(text: str) -> str:
        return _render(text, tags, url, disclosure, layout=draft.layout)

    def fits(text: str) -> bool:
        return limit is None or post_length(render(text), network) <= limit

    while not fits(_join(units, has_title)) and len(units) > 1:
        if units[-1] != draft.lead:
            units.pop()
        else:  # only the title and the lead are left
            units, has_title = [draft.lead], False
    while not fits(_join(units, has_title)) and tags:
        tags.pop()
    text = _join(units, has_title)
    kept = _Draft(tuple(units), draft.lead, tuple(tags), draft.layout)
    if fits(text):
        return render(text), False, kept
    return render(_cut(text, fits)), True, kept


def _cut(text: str, fits: Callable[[str], bool]) -> str:
    """The longest word-boundary prefix of ``text`` plus an ellipsis that ``fits``."""
    words = text.split(" ")
    lo, hi = 0, len(words)  # words[:lo] + ellipsis fits (lo=0: the ellipsis alone)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(_ellipsized(words[:mid])):
            lo = mid
        else:
            hi = mid - 1
    return _ellipsized(words[:lo])


def _ellipsized(words: Sequence[str]) -> str:
    return f"{' '.join(words).rstrip(' ,;:-')}{ELLIPSIS}" if words else ELLIPSIS
