"""Bearer tokens with roles: who may call which endpoint.

Tokens come from a file (one ``token:role`` per line, ``#`` comments) and/or the
environment variable ``ADVOCACY_TOKENS`` (``token:role,token:role``). Roles:

- ``frontend``: feeds, similar content, events, share texts, share plans (what advocacy
  front ends call);
- ``manager``: influencer candidates, review decisions, program analytics and attribution,
  advocates at risk of lapsing, content performance forecasts, share plans (program
  managers);
- ``admin``: everything, and alone the data rights (``/data_export``, ``/data_erase``).

Only SHA-256 digests of the tokens are kept in memory; a presented token is compared
with every configured digest by :func:`hmac.compare_digest` (constant time, no early
exit). Tokens never appear in logs or error messages. With no token configured every
protected endpoint answers 401 (the service fails closed).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from serving.errors import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

TOKENS_ENV = "ADVOCACY_TOKENS"
TOKENS_FILE_ENV = "ADVOCACY_TOKENS_FILE"
MIN_TOKEN_LENGTH = 16


class Role(StrEnum):
    FRONTEND = "frontend"
    MANAGER = "manager"
    ADMIN = "admin"


class Endpoint(StrEnum):
    FEED = "feed"
    FEEDS_BATCH = "feeds_batch"
    SIMILAR = "similar"
    EVENTS = "events"
    SHARE_TEXT = "share_text"
    SHARE_PLAN = "share_plan"
    INFLUENCERS = "influencers"
    INFLUENCER_REVIEW = "influencer_review"
    ANALYTICS = "analytics"
    ATTRIBUTION = "attribution"
    STATUS = "status"
    SCREENING_QUEUE = "screening_queue"
    SCREENING_DECISION = "screening_decision"
    AT_RISK = "at_risk"
    CONTENT_FORECAST = "content_forecast"
    CONTENT_FORECAST_DRAFT = "content_forecast_draft"
    DATA_EXPORT = "data_export"
    DATA_ERASE = "data_erase"


ALLOWED: Mapping[Endpoint, frozenset[Role]] = {
    Endpoint.FEED: frozenset({Role.FRONTEND, Role.ADMIN}),
    Endpoint.FEEDS_BATCH: frozenset({Role.FRONTEND, Role.ADMIN}),
    Endpoint.SIMILAR: frozenset({Role.FRONTEND, Role.ADMIN}),
    Endpoint.EVENTS: frozenset({Role.FRONTEND, Role.ADMIN}),
    Endpoint.SHARE_TEXT: frozenset({Role.FRONTEND, Role.ADMIN}),
    Endpoint.SHARE_PLAN: frozenset({Role.FRONTEND, Role.MANAGER, Role.ADMIN}),
    Endpoint.INFLUENCERS: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.INFLUENCER_REVIEW: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.ANALYTICS: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.ATTRIBUTION: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.STATUS: frozenset({Role.FRONTEND, Role.MANAGER, Role.ADMIN}),
    Endpoint.SCREENING_QUEUE: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.SCREENING_DECISION: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.AT_RISK: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.CONTENT_FORECAST: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.CONTENT_FORECAST_DRAFT: frozenset({Role.MANAGER, Role.ADMIN}),
    Endpoint.DATA_EXPORT: frozenset({Role.ADMIN}),
    Endpoint.DATA_ERASE: frozenset({Role.ADMIN}),
}


class TokenConfigError(ValueError):
    """A token specification that cannot be used (the token itself is never shown)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class Tokens:
    """Configured token digests and their roles."""

    entries: tuple[tuple[bytes, Role], ...] = ()

    @classmethod
    def parse(cls, spec: str, *, source: str = TOKENS_ENV) -> Tokens:
        """``token:role,token:role`` (commas or new lines; blank parts ignored)."""
        parts = [p.strip() for line in spec.splitlines() for p in line.split(",")]
        return cls(tuple(_entry(p, source, n) for n, p in enumerate(parts, 1) if _used(p)))

    @classmethod
    def from_file(cls, path: Path) -> Tokens:
        """One ``token:role`` per line; ``#`` starts a comment."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenConfigError(f"cannot read the tokens file {path}: {exc.strerror}") from exc
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        entries = [_entry(line, str(path), n) for n, line in enumerate(lines, 1) if _used(line)]
        return cls(tuple(entries))

    @classmethod
    def combine(cls, parts: Iterable[Tokens]) -> Tokens:
        return cls(tuple(entry for part in parts for entry in part.entries))

    def __len__(self) -> int:
        return len(self.entries)

    def role_of(self, token: str) -> Role | None:
        """The role of ``token`` (constant-time comparison with every entry), or None."""
        presented = _digest(token)
        found: Role | None = None
        for digest, role in self.entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = role
        return found

    def authorize(self, authorization: str | None, endpoint: Endpoint) -> Role:
        """The caller's role if it may call ``endpoint``; raises 401/403 otherwise."""
        if not authorization:
            raise Unauthorized("missing bearer token", field="Authorization")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("expected 'Authorization: Bearer <token>'", field="Authorization")
        role = self.role_of(token.strip())
        if role is None:
            raise Unauthorized("unknown bearer token", field="Authorization")
        if role not in ALLOWED[endpoint]:
            allowed = ", ".join(sorted(ALLOWED[endpoint]))
            raise Forbidden(
                f"role {role} may not call {endpoint} (allowed: {allowed})", field="Authorization"
            )
        return role


def _used(part: str) -> bool:
    return bool(part) and not part.startswith("#")


def _entry(part: str, source: str, position: int) -> tuple[bytes, Role]:
    token, sep, role = part.rpartition(":")
    token, role = token.strip(), role.strip().lower()
    if not sep or not token:
        raise TokenConfigError(f"{source}: entry {position} is not 'token:role'")
    if role not in {r.value for r in Role}:
        roles = ", ".join(Role)
        raise TokenConfigError(f"{source}: entry {position} has unknown role {role!r} ({roles})")
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenConfigError(
            f"{source}: entry {position}: tokens need at least {MIN_TOKEN_LENGTH} characters"
        )
    return _digest(token), Role(role)
