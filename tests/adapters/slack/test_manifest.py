"""The install kit matches the app: every listener's event, command and shortcut is in the manifest."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.app import SHORTCUT
from bot.domain.commands import GROUPS

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yml"


def test_manifest_declares_what_the_app_listens_to() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == {f"/{group}" for group in GROUPS}
    assert [s["callback_id"] for s in features["shortcuts"]] == [SHORTCUT]
    assert set(settings["event_subscriptions"]["bot_events"]) >= {"app_mention", "message.im", "reaction_added"}
    assert settings["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for needed in ("chat:write", "commands", "im:history", "users:read", "usergroups:read", "reactions:read"):
        assert needed in scopes
    for url in (settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]):
        assert url.endswith("/slack/events")
