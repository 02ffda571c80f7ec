"""Console sign-in: a bearer token becomes a signed, expiring session cookie.

The cookie holds ``base64url(JSON payload) "." base64url(HMAC-SHA256)`` signed with the
console secret. The payload names the role, a key derived from the token (an HMAC of the
token's digest, so the token itself is never in the cookie and a token removed from the
configuration ends its sessions at once), the signer's name for review decisions, the
expiry and a random nonce. The cookie is ``HttpOnly``, ``SameSite=Strict``, limited to the
console's path, and ``Secure`` when the request came over HTTPS.

Forms that change something carry a CSRF token bound to the session (an HMAC of its nonce);
the sign-in form carries one bound to a short-lived pre-session cookie. Both are checked in
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from serving.auth import Role, Tokens

SESSION_COOKIE = "advocacy_console"
LOGIN_COOKIE = "advocacy_console_login"
CSRF_FIELD = "csrf_token"
CONSOLE_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
LOGIN_SECONDS = 30 * 60
MIN_SECRET_BYTES = 32


class SignInError(ValueError):
    """A sign-in that cannot succeed; ``field`` names the form field at fault."""

    def __init__(self, field: str, problem: str, *, status: int = 401) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.status = status


@dataclass(frozen=True)
class Session:
    """A signed-in console user."""

    role: Role
    name: str
    key: str  # HMAC of the token digest: which token signed in
    expires: float
    nonce: str


class SessionSigner:
    """Issues and checks session cookies and CSRF tokens with one secret.

    ``tokens`` is called on every check so that the service's current token table decides
    (a removed token ends its sessions). ``clock`` returns seconds since the epoch.
    """

    def __init__(
        self,
        secret: bytes,
        tokens: Callable[[], Tokens],
        *,
        lifetime: float = 8 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the console secret needs at least {MIN_SECRET_BYTES} bytes")
        if not lifetime > 0:
            raise ValueError(f"the session lifetime must be > 0 seconds, got {lifetime}")
        self._secret = secret
        self._tokens = tokens
        self.lifetime = float(lifetime)
        self._clock = clock

    # -- sign in ------------------------------------------------------------------------
    def sign_in(self, token: str, name: str) -> tuple[Session, str]:
        """A session and its cookie value for a manager or admin ``token``."""
        token, name = token.strip(), " ".join(name.split())
        if not token:
            raise SignInError("token", "enter your access token")
        if not name:
            raise SignInError("name", "enter your name (it is recorded with your decisions)")
        if len(name) > 120:
            raise SignInError("name", "at most 120 characters", status=422)
        role = self._tokens().role_of(token)
        if role is None:
            raise SignInError("token", "this token is not known to the service")
        if role not in CONSOLE_ROLES:
            raise SignInError(
                "token",
                f"a {role} token may not use the console: sign in with a manager or admin token",
                status=403,
            )
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        session = Session(
            role=role,
            name=name,
            key=self._key(digest),
            expires=self._clock() + self.lifetime,
            nonce=secrets.token_urlsafe(16),
        )
        return session, self._seal(
            {"r": str(role), "n": name, "k": session.key, "e": session.expires, "x": session.nonce}
        )

    def session(self, cookie: str | None) -> Session | None:
        """The session of a cookie value, or None (absent, forged, expired, token revoked)."""
        payload = self._open(cookie)
        if payload is None:
            return None
        try:
            session = Session(
                role=Role(payload["r"]),
                name=str(payload["n"]),
                key=str(payload["k"]),
                expires=float(payload["e"]),
                nonce=str(payload["x"]),
            )
        except (KeyError, ValueError, TypeError):
            return None
        if session.expires <= self._clock() or session.role not in CONSOLE_ROLES:
            return None
        if not self._still_configured(session):
            return None
        return session

    # -- CSRF -------------------------------------------------------------------------
    def csrf_token(self, session: Session) -> str:
        return self._mac(f"csrf:{session.nonce}")

    def csrf_valid(self, session: Session, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token(session), str(presented))

    def login_nonce(self) -> tuple[str, str]:
        """A pre-session cookie value and the sign-in form's CSRF token bound to it."""
        nonce = secrets.token_urlsafe(16)
        cookie = self._seal({"l": nonce, "e": self._clock() + LOGIN_SECONDS})
        return cookie, self._mac(f"login:{nonce}")

    def login_csrf_valid(self, cookie: str | None, presented: str | None) -> bool:
        payload = self._open(cookie)
        if payload is None or not presented or float(payload.get("e", 0)) <= self._clock():
            return False
        return hmac.compare_digest(self._mac(f"login:{payload.get('l', '')}"), str(presented))

    # -- internals --------------------------------------------------------------------
    def _key(self, digest: bytes) -> str:
        return self._mac(b"token:" + digest)

    def _still_configured(self, session: Session) -> bool:
        found = False
        for digest, role in self._tokens().entries:
            same = hmac.compare_digest(self._key(digest), session.key)
            found |= same and role == session.role
        return found

    def _mac(self, message: str | bytes) -> str:
        data = message.encode("utf-8") if isinstance(message, str) else message
        return _b64(hmac.new(self._secret, data, hashlib.sha256).digest())

    def _seal(self, payload: dict[str, object]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._mac(body)}"

    def _open(self, value: str | None) -> dict[str, object] | None:
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(self._mac(body), signature):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
