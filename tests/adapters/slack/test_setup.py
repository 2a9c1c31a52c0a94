"""Start-up checks, people and roles, and the Web API error mapping, against the fake Slack API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import pytest

from adapters.registry import AdapterStartupError
from adapters.slack import build
from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from adapters.slack.platform import SlackPlatform
from adapters.slack.translate import user
from bot.domain.refs import MessageRef
from bot.domain.roles import Role
from bot.outbound import Message
from bot.ports import DeliveryRefused, RetryLater
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import SIGNING_SECRET
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, Failure, FakeSlackApi

MakeAdapter = Callable[..., SlackAdapter]


@pytest.fixture
async def make_adapter(slack_api: FakeSlackApi) -> AsyncIterator[MakeAdapter]:
    made: list[SlackAdapter] = []

    def make(token: str = BOT_TOKEN, **slack: object) -> SlackAdapter:
        config = slack_settings(slack_api.api_url, **slack).adapters["slack"]
        assert isinstance(config, SlackConfig)
        made.append(SlackAdapter(config, Secrets(token, SIGNING_SECRET, APP_TOKEN)))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.close()


async def test_start_logs_workspace_and_bot(
    make_adapter: MakeAdapter, slack_api: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.slack.adapter")
    await make_adapter().check_setup()
    assert "Slack: connected to workspace Acme (T0ACME) as @threaddesk (UBOT)" in caplog.text


async def test_a_bad_token_is_one_clear_line(make_adapter: MakeAdapter, slack_api: FakeSlackApi) -> None:
    with pytest.raises(AdapterStartupError) as caught:
        await make_adapter(token="xoxb-wrong").check_setup()
    assert str(caught.value) == (
        "Slack: Slack said invalid_auth: SLACK_BOT_TOKEN is not valid — copy the Bot User OAuth Token (xoxb-…) again"
    )


async def test_bot_not_in_the_queue_channel_says_how_to_fix_it(
    make_adapter: MakeAdapter, slack_api: FakeSlackApi
) -> None:
    slack_api.channels["CQUEUE"]["is_member"] = False
    with pytest.raises(AdapterStartupError) as caught:
        await make_adapter().check_setup()
    assert "invite @threaddesk to #support-queue" in str(caught.value)


async def test_other_channel_problems_are_logged_not_fatal(
    make_adapter: MakeAdapter, slack_api: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    del slack_api.channels["CLEADS"]
    slack_api.fail_next("conversations.info", Failure(error="missing_scope", channel="CSUPPORT"))
    await make_adapter().check_setup()
    assert "[slack] leads_channel CLEADS: Slack said channel_not_found" in caplog.text
    assert "[slack] intake_channels CSUPPORT: Slack said missing_scope" in caplog.text


def test_missing_secrets_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    config = slack_settings("https://slack.com/api/", mode="socket")
    with pytest.raises(AdapterStartupError) as caught:
        build(config.adapters["slack"], config)
    assert "SLACK_BOT_TOKEN" in str(caught.value) and "SLACK_APP_TOKEN" in str(caught.value)
    assert "SLACK_SIGNING_SECRET" not in str(caught.value)  # not needed in Socket Mode


def test_config_is_validated_with_its_keys() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        slack_settings("ftp://x", queue_channel="support-queue", agent_groups=["agents"], mode="webhook")
    text = str(caught.value)
    assert "slack.queue_channel: 'support-queue' is not a Slack channel id" in text
    assert "slack.agent_groups: 'agents' is not a Slack user-group id" in text
    assert "slack.api_base_url: 'ftp://x' is not an http(s) URL" in text
    assert "slack.mode: Input should be 'socket' or 'http'" in text


async def test_roles_from_user_groups_and_cached_names(make_adapter: MakeAdapter, slack_api: FakeSlackApi) -> None:
    slack_api.groups = {"SAGENTS": ["UERIN", "UFRANK"], "SLEADS": ["UFRANK"]}
    adapter = make_adapter(agent_groups=["SAGENTS"], lead_groups=["SLEADS"])
    assert adapter.groups.role_of(user("UFRANK")) is None
    await adapter.groups.refresh()
    assert adapter.groups.role_of(user("UERIN")) is Role.AGENT
    assert adapter.groups.role_of(user("UFRANK")) is Role.LEAD
    assert adapter.groups.role_of(user("UALICE")) is None
    slack_api.fail_next("usergroups.users.list", Failure(error="ratelimited", status=429))
    await adapter.groups.refresh()  # a failed group keeps its last known members
    assert adapter.groups.role_of(user("UERIN")) is Role.AGENT
    assert await adapter.people.name("UALICE") == "Alice"
    assert await adapter.people.name("UALICE") == "Alice"
    assert len(slack_api.calls_to("users.info")) == 1
    assert await adapter.people.name("UNOBODY") == "UNOBODY"


async def test_web_api_errors_map_to_retry_or_refuse(make_adapter: MakeAdapter, slack_api: FakeSlackApi) -> None:
    platform = make_adapter().platform
    assert isinstance(platform, SlackPlatform)
    slack_api.fail_next("chat.postMessage", Failure(status=429, retry_after=30))
    with pytest.raises(RetryLater) as limited:
        await platform.post_message("CQUEUE", Message(text="hi"))
    assert limited.value.retry_after == 30
    slack_api.fail_next("chat.postMessage", Failure(status=500))
    with pytest.raises(RetryLater):
        await platform.post_message("CQUEUE", Message(text="hi"))
    slack_api.fail_next("chat.postMessage", Failure(error="channel_not_found"))
    with pytest.raises(DeliveryRefused, match="check the \\[slack\\] channel ids"):
        await platform.post_message("CQUEUE", Message(text="hi"))
    ref = await platform.post_message("CQUEUE", Message(text="hi"), thread="1699990000.000100")
    assert ref.platform == "slack" and ref.channel == "CQUEUE" and slack_api.posted[-1].thread_ts == "1699990000.000100"
    with pytest.raises(DeliveryRefused, match="message to update is gone"):
        await platform.update_message(MessageRef(platform="slack", channel="CQUEUE", id="1.2"), Message(text="x"))
