"""Slack: slack-bolt in Socket Mode or HTTP mode. `SPEC` is what the CLI registers."""

from __future__ import annotations

from adapters.registry import AdapterSpec, AdapterStartupError, RunningAdapter
from adapters.slack.config import MissingSecrets, Secrets, SlackConfig
from bot.config import PlatformChannels, Settings


def build(config: PlatformChannels, settings: Settings) -> RunningAdapter:
    """Called by `threaddesk run` when `[slack] enabled = true`. Secrets come from the environment."""
    from adapters.slack.adapter import SlackAdapter  # bolt and aiohttp load only when Slack is enabled

    assert isinstance(config, SlackConfig)
    try:
        secrets = Secrets.from_env(config.mode)
    except MissingSecrets as exc:
        raise AdapterStartupError(str(exc)) from None
    return SlackAdapter(config, secrets, teams=settings.teams)


SPEC = AdapterSpec("slack", SlackConfig, build)

__all__ = ["SPEC", "SlackConfig", "build"]
