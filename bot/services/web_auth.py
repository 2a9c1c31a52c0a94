"""Signing in to the web dashboard through chat: `/dashboard` issues a one-time link, the link opens a
server-side session. No passwords, no accounts beyond the chat identity.

- A link is `<id>.<signature>`: the id is random and stored (so a link is single-use and expires after
  10 minutes), the signature is an HMAC over id, person and expiry with the dashboard key (so a link
  cannot be forged or re-pointed at someone else even by someone who can write to the table).
- A session is a random cookie value; only its SHA-256 is stored, with the person, a CSRF token, 12 h
  expiry and a revocation time. The person's role is never stored: the web adapter asks the same role
  source as chat on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.refs import UserRef
from bot.ports import Clock, Store
from bot.records import SessionRow as SessionRow  # re-exported for the terminal command

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
SECRET_ENV = "THREADDESK_WEB_SECRET"


@dataclass(frozen=True)
class DashboardAccess:
    """Where the dashboard is and the key its links are signed with."""

    public_url: str
    secret: bytes

    def url(self, path: str) -> str:
        return self.public_url + path


class LinkProblem(StrEnum):
    FORGED = "This sign-in link is not valid. Type /dashboard in chat for a new one."
    EXPIRED = "This sign-in link has expired (links work for 10 minutes). Type /dashboard in chat for a new one."
    USED = "This sign-in link was already used (each link works once). Type /dashboard in chat for a new one."


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: UserRef
    csrf: str
    expires_at: datetime


def _sign(secret: bytes, link_id: str, user: UserRef, expires_at: datetime) -> str:
    message = f"{link_id}|{user.key}|{expires_at.isoformat()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(db: Store, clock: Clock, access: DashboardAccess, user: UserRef) -> str:
    """A fresh one-time sign-in URL for `user`."""
    now = clock.now()
    link_id = secrets.token_urlsafe(18)
    expires_at = now + LINK_TTL
    async with db.transaction() as uow:
        await uow.web.insert_link(link_id, user, now, expires_at)
    async with db.reading() as uow:  # read back what was stored, so the signature covers the stored moment
        row = await uow.web.get_link(link_id)
    assert row is not None
    return access.url(f"/signin/{link_id}.{_sign(access.secret, link_id, user, row.expires_at)}")


async def check_link(db: Store, clock: Clock, access: DashboardAccess, token: str) -> UserRef | LinkProblem:
    """Who the link is for, without using it up (for the confirmation page)."""
    link_id, _, signature = token.partition(".")
    async with db.reading() as uow:
        row = await uow.web.get_link(link_id) if link_id and signature else None
    if row is None or not hmac.compare_digest(signature, _sign(access.secret, link_id, row.user, row.expires_at)):
        return LinkProblem.FORGED
    if row.used_at is not None:
        return LinkProblem.USED
    if clock.now() >= row.expires_at:
        return LinkProblem.EXPIRED
    return row.user


async def redeem_link(
    db: Store, clock: Clock, access: DashboardAccess, token: str, user_agent: str = ""
) -> tuple[str, Session] | LinkProblem:
    """Use the link up and open a session: the cookie value and the session, or why not."""
    checked = await check_link(db, clock, access, token)
    if isinstance(checked, LinkProblem):
        return checked
    now = clock.now()
    cookie = secrets.token_urlsafe(32)
    session = Session(token_hash(cookie), checked, secrets.token_urlsafe(24), now + SESSION_TTL)
    async with db.transaction() as uow:
        if not await uow.web.use_link(token.partition(".")[0], now):
            return LinkProblem.USED
        await uow.web.insert_session(
            session.token_hash, session.user, session.csrf, now, session.expires_at, user_agent
        )
    return cookie, session


async def session_for(db: Store, clock: Clock, cookie: str) -> Session | None:
    """The live session behind a cookie value: None when unknown, expired or revoked."""
    if not cookie:
        return None
    async with db.reading() as uow:
        row = await uow.web.get_session(token_hash(cookie))
    if row is None or row.revoked_at is not None or clock.now() >= row.expires_at:
        return None
    return Session(row.token_hash, row.user, row.csrf, row.expires_at)


async def revoke(
    db: Store, clock: Clock, *, session: Session | None = None, user: UserRef | None = None, everyone: bool = False
) -> int:
    """Sign out one session, every session of one person, or everyone. Returns how many were live."""
    if session is None and user is None and not everyone:
        raise ValueError("revoke what? pass a session, a user or everyone=True")
    async with db.transaction() as uow:
        return await uow.web.revoke(clock.now(), token_hash=session.token_hash if session else None, user=user)


async def live_sessions(db: Store, clock: Clock, user: UserRef | None = None) -> list[SessionRow]:
    now = clock.now()
    async with db.reading() as uow:
        rows = await uow.web.sessions(user)
    return [r for r in rows if r.revoked_at is None and r.expires_at > now]
