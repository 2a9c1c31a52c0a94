"""IMAP polling (`[email] imap_url`): for teams that cannot point mail at the SMTP listener.

Every `imap_interval` seconds the poller logs in, selects `imap_folder`, asks for the unseen mail
(`UID SEARCH UNSEEN`) and, one mail at a time, fetches it without marking it read (`BODY.PEEK[]`: a plain
`RFC822`/`BODY[]` fetch would set `\\Seen` at once), hands it to the same inbound path as SMTP mail, and
only then marks it `\\Seen`. A crash between the two leaves the mail unseen, so the next poll reads it
again — harmless, since intake is idempotent on the Message-ID. A mail whose handling fails stays unseen
and is tried again at the next poll; a mail over `max_message_bytes` is marked seen and skipped (as the
listener refuses it with 552).

The standard library's `imaplib` does the protocol, each blocking step in a worker thread. The user name
and password come from the environment variables named in the config and never reach a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from adapters.email.config import EmailConfig

log = logging.getLogger(__name__)

Deliver = Callable[[bytes], Awaitable[str]]


class ImapSetupError(Exception):
    """The IMAP credentials are missing: one line naming the variable."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password, not even in a traceback
        return f"Credentials({self.username!r}, ***)"


def credentials(config: EmailConfig, env: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if env is None else env
    found = []
    for name in (config.imap_username_env, config.imap_password_env):
        value = env.get(name or "", "")
        if not value:
            raise ImapSetupError(f"E-mail: the environment variable {name} (IMAP credentials) is not set")
        found.append(value)
    return Credentials(*found)


def _quoted(word: str) -> str:
    """An IMAP quoted string (RFC 3501 4.3): folder names with spaces, passwords with specials."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Mailbox:
    """One IMAP session, used from a worker thread (one step at a time)."""

    def __init__(self, config: EmailConfig, creds: Credentials, ssl_context: ssl.SSLContext) -> None:
        tls, host, port = config.imap_server
        timeout = config.timeout
        if tls:
            self.conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=ssl_context, timeout=timeout)
        else:
            self.conn = imaplib.IMAP4(host, port, timeout=timeout)
            if config.imap_use_starttls:
                self.conn.starttls(ssl_context)
        try:
            self.conn.login(creds.username, creds.password)
            typ, data = self.conn.select(_quoted(config.imap_folder))
            if typ != "OK":
                raise imaplib.IMAP4.error(f"cannot select {config.imap_folder!r}: {_text(data)}")
        except BaseException:
            self.close()
            raise

    def unseen(self) -> list[str]:
        typ, data = self.conn.uid("SEARCH", "UNSEEN")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH failed: {_text(data)}")
        return [uid.decode() for line in data if isinstance(line, bytes) for uid in line.split()]

    def fetch(self, uid: str) -> bytes | None:
        """The whole mail, without setting \\Seen; None when it vanished meanwhile."""
        typ, data = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID FETCH failed: {_text(data)}")
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                return bytes(part[1])
        return None

    def mark_seen(self, uid: str) -> None:
        typ, data = self.conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID STORE failed: {_text(data)}")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.conn.logout()


def _text(data: Sequence[object]) -> str:
    return " ".join(d.decode(errors="replace") if isinstance(d, bytes) else str(d) for d in data)[:200]


class ImapPoller:
    def __init__(
        self,
        config: EmailConfig,
        deliver: Deliver,
        creds: Credentials,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.deliver = deliver
        self.creds = creds
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._stopping = False
        self.polls = 0  # completed polls (for tests and /readyz-like checks)

    def stop(self) -> None:
        """Take no more mail: the mail being handled is finished and marked, then `run` returns."""
        self._stopping = True

    async def poll(self) -> int:
        """One poll: handle every unseen mail in the folder. Returns how many were handled and marked seen.
        Raises what the connection raises (the caller logs it and polls again later)."""
        box = await asyncio.to_thread(_Mailbox, self.config, self.creds, self.ssl_context)
        handled = 0
        try:
            for uid in await asyncio.to_thread(box.unseen):
                if self._stopping:
                    break
                raw = await asyncio.to_thread(box.fetch, uid)
                if raw is None:
                    continue
                if len(raw) > self.config.max_message_bytes:
                    log.warning(
                        "e-mail (IMAP): UID %s is %d bytes, over max_message_bytes; skipped and marked seen",
                        uid,
                        len(raw),
                    )
                else:
                    try:
                        outcome = await self.deliver(raw)
                    except Exception:
                        log.exception("e-mail (IMAP): handling UID %s failed; it stays unseen for the next poll", uid)
                        continue
                    log.info("e-mail (IMAP): UID %s: %s", uid, outcome)
                await asyncio.to_thread(box.mark_seen, uid)
                handled += 1
        finally:
            await asyncio.to_thread(box.close)
        self.polls += 1
        return handled

    async def run(self) -> None:
        """Poll every `imap_interval` seconds until stopped or cancelled; a failed poll is logged (never
        with the credentials) and tried again at the next interval."""
        _, host, port = self.config.imap_server
        log.info(
            "E-mail: polling %s on %s:%d every %gs", self.config.imap_folder, host, port, self.config.imap_interval
        )
        while not self._stopping:
            try:
                await self.poll()
            except (OSError, imaplib.IMAP4.error, EOFError) as exc:
                log.warning(
                    "e-mail (IMAP): polling %s:%d failed (%s: %s); trying again", host, port, type(exc).__name__, exc
                )
            waited = 0.0
            while waited < self.config.imap_interval and not self._stopping:
                step = min(0.5, self.config.imap_interval - waited)
                await asyncio.sleep(step)
                waited += step
