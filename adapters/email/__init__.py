"""E-mail as a channel: inbound SMTP (aiosmtpd), outbound through an SMTP relay. `SPEC` is registered by the CLI."""

from __future__ import annotations

from adapters.email.config import EmailConfig
from adapters.registry import AdapterSpec, RunningAdapter
from bot.config import PlatformChannels, Settings


def build(config: PlatformChannels, settings: Settings) -> RunningAdapter:
    from adapters.email.adapter import EmailAdapter  # aiosmtpd loads only when e-mail is enabled

    assert isinstance(config, EmailConfig)
    return EmailAdapter(config)


SPEC = AdapterSpec("email", EmailConfig, build)

__all__ = ["SPEC", "EmailConfig", "build"]
