from __future__ import annotations

import pytest

from bot.domain.text import ZWSP, clean_text, neutralise_mentions, subject_from


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("hey @channel look", f"hey @{ZWSP}channel look"),
        ("@everyone @here", f"@{ZWSP}everyone @{ZWSP}here"),
        ("<!channel> <!everyone> <!here|here>", f"@{ZWSP}channel @{ZWSP}everyone @{ZWSP}here"),
        (
            "ping <@U024BE7LH> and <@!80351110224678912>",
            f"ping @{ZWSP}U024BE7LH and @{ZWSP}80351110224678912",
        ),
        ("<@&123456> <!subteam^S0614TZR7|@devs>", f"@{ZWSP}123456 @{ZWSP}devs"),
        ("@bob can you check", f"@{ZWSP}bob can you check"),
        ("mail me at a@b.com", "mail me at a@b.com"),
    ],
)
def test_relayed_text_cannot_ping(raw: str, safe: str) -> None:
    assert neutralise_mentions(raw) == safe


def test_clean_text_drops_control_and_bidi_overrides_but_keeps_emoji_and_scripts() -> None:
    assert clean_text(" a\x00b\u202ec ") == "abc"
    family = "👩\u200d👩\u200d👧"
    assert clean_text(f"{family} مرحبا 你好") == f"{family} مرحبا 你好"


def test_subject_is_first_non_empty_line_trimmed() -> None:
    assert subject_from("\n\n  Export   fails \nmore") == "Export fails"
    long = subject_from("x" * 500)
    assert len(long) == 120 and long.endswith("…")
    assert subject_from("   ") == "(no text)"
