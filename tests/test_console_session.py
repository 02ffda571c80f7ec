"""serving.console.session: signed session cookies and CSRF tokens on literal tokens."""

from __future__ import annotations

import pytest

from serving.auth import Role, Tokens
from serving.console.session import SessionSigner, SignInError

MANAGER = "manager-token-0123456789"
FRONTEND = "frontend-token-0123456789"
SECRET = b"s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def signer(tokens: str = f"{MANAGER}:manager,{FRONTEND}:frontend", **kwargs) -> SessionSigner:
    table = Tokens.parse(tokens)
    return SessionSigner(SECRET, lambda: table, **kwargs)


def test_a_manager_token_signs_in_and_the_cookie_round_trips() -> None:
    clock = Clock()
    sessions = signer(lifetime=60, clock=clock)
    session, cookie = sessions.sign_in(f"  {MANAGER} ", "  Ann   Lee ")
    assert session.role is Role.MANAGER and session.name == "Ann Lee"
    assert MANAGER not in cookie  # the token never travels in the cookie
    assert sessions.session(cookie) == session
    clock.now += 61
    assert sessions.session(cookie) is None  # expired


@pytest.mark.parametrize(
    ("token", "name", "field", "status"),
    [
        (FRONTEND, "Ann", "token", 403),
        ("unknown-token-0123456789", "Ann", "token", 401),
        ("", "Ann", "token", 401),
        (MANAGER, "  ", "name", 401),
        (MANAGER, "x" * 121, "name", 422),
    ],
)
def test_refused_sign_ins_name_the_field(token: str, name: str, field: str, status: int) -> None:
    with pytest.raises(SignInError) as refused:
        signer().sign_in(token, name)
    assert (refused.value.field, refused.value.status) == (field, status)
    assert token not in str(refused.value) or not token


def test_forged_tampered_or_revoked_cookies_are_no_session() -> None:
    sessions = signer()
    _, cookie = sessions.sign_in(MANAGER, "Ann")
    body, signature = cookie.split(".")
    assert sessions.session(None) is None and sessions.session("") is None
    assert sessions.session(f"{body}.{signature[:-2]}xx") is None
    other = SessionSigner(b"t" * 32, lambda: Tokens.parse(f"{MANAGER}:manager"))
    assert other.session(cookie) is None  # another secret
    revoked = SessionSigner(SECRET, lambda: Tokens.parse("other-token-0123456789:manager"))
    assert revoked.session(cookie) is None  # the token is no longer configured
    demoted = SessionSigner(SECRET, lambda: Tokens.parse(f"{MANAGER}:frontend"))
    assert demoted.session(cookie) is None  # the token's role changed


def test_csrf_tokens_are_bound_to_the_session_and_the_login_nonce() -> None:
    clock = Clock()
    sessions = signer(clock=clock)
    first, _ = sessions.sign_in(MANAGER, "Ann")
    second, _ = sessions.sign_in(MANAGER, "Ann")
    token = sessions.csrf_token(first)
    assert sessions.csrf_valid(first, token)
    assert not sessions.csrf_valid(second, token)
    assert not sessions.csrf_valid(first, None) and not sessions.csrf_valid(first, "")
    cookie, login_token = sessions.login_nonce()
    assert sessions.login_csrf_valid(cookie, login_token)
    assert not sessions.login_csrf_valid(cookie, token)
    assert not sessions.login_csrf_valid(None, login_token)
    clock.now += 31 * 60
    assert not sessions.login_csrf_valid(cookie, login_token)  # the form expired


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionSigner(b"short", lambda: Tokens())
