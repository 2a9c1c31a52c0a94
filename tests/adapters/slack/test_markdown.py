"""KB articles (Markdown) reach Slack as mrkdwn: no raw `##` or `**`, links as `<url|text>`, nothing that pings."""

from __future__ import annotations

from pathlib import Path

from adapters.slack.markdown import to_mrkdwn
from adapters.slack.render import render
from bot.outbound import Message

SAMPLE = Path(__file__).parents[3] / "kb" / "sample" / "refund-request.md"


def test_an_article_renders_as_mrkdwn() -> None:
    body = SAMPLE.read_text(encoding="utf-8").split("---", 2)[2]
    text, blocks = render(Message(text=f"Ask for a refund [refund-request]\n{body}", markdown=True))
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*What we refund*" in shown and "## " not in shown and "**" not in shown
    assert "• *Annual plans:* cancelled within 30 days" in shown
    assert "1. Owners and billing admins: open *Settings → Billing → Invoices*." in shown
    assert "*What we refund*" in text  # the notification text too


def test_links_stay_and_everything_else_is_escaped() -> None:
    converted = to_mrkdwn("See [the docs](https://example.com/help) — <!channel> <@U123> & `a <b>`\n\n```\nx < y\n```")
    assert "<https://example.com/help|the docs>" in converted
    assert "<!channel>" not in converted and "<@U123>" not in converted
    assert "&amp;" in converted and "`a &lt;b&gt;`" in converted and "x &lt; y" in converted


def test_plain_messages_are_not_converted() -> None:
    _, blocks = render(Message(text="Alice wrote on #1: **urgent** ## now"))
    assert blocks[0]["text"]["text"] == "Alice wrote on #1: **urgent** ## now"
