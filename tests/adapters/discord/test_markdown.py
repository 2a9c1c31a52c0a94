"""KB articles on Discord: Markdown as written, except what Discord renders differently."""

from __future__ import annotations

from adapters.discord.markdown import to_discord
from adapters.discord.render import render
from bot.outbound import Message


def test_only_what_discord_renders_differently_is_rewritten() -> None:
    source = "## How to ask\n#### Details\n__Owners__ only: **Settings**\n\n---\n![chart](https://e.com/c.png)"
    assert to_discord(source) == (
        "## How to ask\n**Details**\n**Owners** only: **Settings**\n\n──────────\n[chart](https://e.com/c.png)"
    )


def test_code_is_left_alone() -> None:
    source = "Run `__init__` then:\n```\n#### not a heading\n__x__\n```"
    assert to_discord(source) == source


def test_article_messages_are_converted_and_others_are_not() -> None:
    [part] = render(Message(text="Title [t]\n#### Step", markdown=True))
    assert part.content == "Title [t]\n**Step**"
    [plain] = render(Message(text="#### customer text"))
    assert plain.content == "#### customer text"
