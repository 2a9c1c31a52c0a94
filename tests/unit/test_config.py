from __future__ import annotations

from pathlib import Path

import pytest

from adapters.cli import ADAPTERS
from bot.bootstrap import kb_folder
from bot.config import ConfigError, load_settings
from bot.domain.ticket import Priority

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_is_valid_and_resolves_paths_next_to_itself() -> None:
    settings = load_settings(ROOT / "config.example.toml", ADAPTERS)
    assert settings.resolve(settings.kb.path) == ROOT / "kb" / "sample"
    assert "console:bob" in settings.roles.agents and "console:dana" in settings.roles.leads
    assert settings.adapters["console"].queue_channel == "support-queue"
    assert settings.intake.classify("Everything is down!!") == (Priority.URGENT, "incident")
    assert settings.intake.classify("I need a refund") == (Priority.NORMAL, "billing")
    assert settings.intake.classify("hello") == (Priority.NORMAL, "general")


def test_a_missing_kb_folder_is_named_where_it_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config copied elsewhere keeps `path = "kb/sample"`, which is read next to the copy: the error says where."""
    (tmp_path / "desk").mkdir()
    copied = tmp_path / "desk" / "threaddesk.toml"
    copied.write_text('[kb]\npath = "kb/sample"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path("desk/threaddesk.toml"), ADAPTERS)
    with pytest.raises(ConfigError) as error:
        kb_folder(settings)
    assert str(error.value) == f"[kb] path: {tmp_path / 'desk' / 'kb' / 'sample'} is not a folder of articles"


def test_db_override_wins(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "config.example.toml", ADAPTERS, db_override=tmp_path / "x.db")
    assert settings.resolve(settings.store.path) == tmp_path / "x.db"


def test_bad_values_are_reported_with_key_and_allowed_values(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[roles]
agents = ["bob"]
[intake]
max_open_per_customer = -1
[[intake.rules]]
match = "(unclosed"
priority = "hot"
[console]
queue_chanel = "q"
[slak]
enabled = true
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, ADAPTERS)
    assert (
        "unknown table(s) slak; allowed: [automation], [console], [digests], [discord], [email], [incidents], "
        "[intake], [kb], [ops], [retention], [roles], [sla], [slack], [store], [teams], [transcripts], [web], "
        "[webhooks]" in str(caught.value)
    )
    bad.write_text(bad.read_text().replace("[slak]\nenabled = true\n", ""), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, ADAPTERS)
    text = str(caught.value)
    assert "roles.agents: 'bob' is not 'platform:user-id'" in text
    assert "intake.max_open_per_customer: Input should be greater than or equal to 0 (got -1)" in text
    assert "intake.rules.0.match: not a valid regular expression" in text
    assert "intake.rules.0.priority: Input should be 'low', 'normal', 'high' or 'urgent' (got 'hot')" in text
    assert "console.queue_chanel: unknown key" in text


def test_missing_file_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", ADAPTERS)
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\npath=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, ADAPTERS)


def test_team_lead_tables_in_the_example(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "config.example.toml", ADAPTERS)
    policy = settings.sla.policy()
    assert policy.warn_at == 0.8
    assert settings.digests.schedules[0].cron == "0 9 * * 1-5"
    assert settings.automation.auto_close_days == 7


def test_team_lead_tables_are_validated_with_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[sla]
warn_at = 1.5
[sla.targets]
urgent = { first_response = "soon", resolution = "4h" }
[sla.calendar]
timezone = "Mars/Olympus"
[[digests.schedules]]
cron = "every morning"
platform = "console"
[[digests.schedules]]
cron = "0 9 * * *"
platform = "slack"
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, ADAPTERS)
    text = str(caught.value)
    assert "sla.warn_at: Input should be less than 1 (got 1.5)" in text
    assert "sla.targets.urgent.first_response: 'soon' is not a duration" in text
    assert "sla.calendar.timezone: 'Mars/Olympus' is not a known timezone" in text
    assert "digests.schedules.0.cron: 'every morning' is not a five-field cron expression" in text


def test_digest_targets_must_exist(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[digests.schedules]]\ncron = "0 9 * * *"\nplatform = "teams"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"digests.schedules.0.platform: unknown platform 'teams' \(known: console"):
        load_settings(bad, ADAPTERS)


def test_store_synchronous_is_normal_unless_full_is_asked_for() -> None:
    from bot.config import settings_from_dict

    assert settings_from_dict({}, {}).store.synchronous == "NORMAL"
    assert settings_from_dict({"store": {"synchronous": "FULL"}}, {}).store.synchronous == "FULL"
