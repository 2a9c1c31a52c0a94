"""`[email]`: the e-mail channel — an SMTP listener (and/or IMAP polling) for inbound mail and an SMTP relay
for replies.

Like every adapter table it extends `PlatformChannels`, but e-mail has no channels of its own: e-mail
tickets are worked where the agents are (`agents_platform`), so its cards, notes and alerts use that
platform's `queue_channel`, `leads_channel` and `archive_channel`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from bot.config import PlatformChannels

ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EmailConfig(PlatformChannels):
    host: str = Field(default="127.0.0.1", description="address the inbound SMTP listener binds to")
    port: int = Field(default=2525, ge=0, le=65535, description="its port (25 when ThreadDesk is the MX)")
    recipients: tuple[str, ...] = Field(default=(), description="addresses mail is accepted for")
    address: str | None = Field(default=None, description="our From address; default: the first recipient")
    display_name: str = Field(default="Support", description="our From name")
    agents_platform: str = Field(default="console", description="where agents work e-mail tickets")
    smtp_url: str = Field(default="smtp://127.0.0.1:25", description="relay for outbound mail")
    starttls: bool | None = Field(default=None, description="STARTTLS on smtp://; default: yes unless on loopback")
    username_env: str | None = Field(default=None, description="environment variable with the relay user name")
    password_env: str | None = Field(default=None, description="environment variable with the relay password")
    imap_url: str | None = Field(default=None, description="poll this mailbox: imaps://host:993 or imap://host:143")
    imap_folder: str = Field(default="INBOX", min_length=1, description="the folder polled for new (unseen) mail")
    imap_interval: float = Field(default=60.0, ge=1, le=3600, description="seconds between two polls")
    imap_starttls: bool | None = Field(default=None, description="STARTTLS on imap://; default: yes unless on loopback")
    imap_username_env: str | None = Field(default=None, description="environment variable with the IMAP user name")
    imap_password_env: str | None = Field(default=None, description="environment variable with the IMAP password")
    max_message_bytes: int = Field(default=10_000_000, ge=10_000, description="larger mail is refused (552)")
    timeout: float = Field(default=30.0, gt=0, description="seconds for one relay conversation")

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not ADDRESS.match(item):
                raise ValueError(f"{item!r} is not an e-mail address")
        return tuple(v.lower() for v in value)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"{value!r}: use smtp://host:587 (STARTTLS) or smtps://host:465 (TLS)")
        if parts.username or parts.password:
            raise ValueError("credentials do not go in the URL: set username_env and password_env")
        return value

    @field_validator("imap_url")
    @classmethod
    def _imap_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError(f"{value!r}: use imaps://host:993 (TLS) or imap://host:143 (STARTTLS)")
        if parts.username or parts.password:
            raise ValueError("credentials do not go in the URL: set imap_username_env and imap_password_env")
        return value

    @field_validator("username_env", "password_env", "imap_username_env", "imap_password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _needs_recipients(self) -> EmailConfig:
        if self.enabled and not self.recipients:
            raise ValueError("recipients: list the addresses mail is accepted for, e.g. ['support@example.com']")
        if self.imap_url and not (self.imap_username_env and self.imap_password_env):
            raise ValueError(
                "imap_url needs imap_username_env and imap_password_env: the names of the environment "
                "variables holding the mailbox's user name and password"
            )
        return self

    @property
    def from_address(self) -> str:
        return (self.address or (self.recipients[0] if self.recipients else "support@localhost")).lower()

    @property
    def domain(self) -> str:
        return self.from_address.rsplit("@", 1)[-1]

    @property
    def relay(self) -> tuple[bool, str, int]:
        """(implicit TLS, host, port) of the relay."""
        parts = urlsplit(self.smtp_url)
        tls = parts.scheme == "smtps"
        return tls, parts.hostname or "127.0.0.1", parts.port or (465 if tls else 25)

    @property
    def imap_server(self) -> tuple[bool, str, int]:
        """(implicit TLS, host, port) of the polled mailbox."""
        parts = urlsplit(self.imap_url or "imap://127.0.0.1")
        tls = parts.scheme == "imaps"
        return tls, parts.hostname or "127.0.0.1", parts.port or (993 if tls else 143)

    @property
    def imap_use_starttls(self) -> bool:
        tls, host, _ = self.imap_server
        if tls:
            return False
        if self.imap_starttls is not None:
            return self.imap_starttls
        return host not in ("127.0.0.1", "localhost", "::1")

    @property
    def use_starttls(self) -> bool:
        tls, host, _ = self.relay
        if tls:
            return False
        if self.starttls is not None:
            return self.starttls
        return host not in ("127.0.0.1", "localhost", "::1")
