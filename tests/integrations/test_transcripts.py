"""Transcripts at close: the agents' copy in the archive channel, the customer's copy in their thread."""

from __future__ import annotations

import re
from pathlib import Path

from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store
from tests.conftest import ALICE, BOB, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform


def transcript_settings(**transcripts: object) -> object:
    return make_settings(
        kb={"suggestions": 0},
        transcripts={"enabled": True, **transcripts},
        test={
            "enabled": True,
            "intake_channels": ["support"],
            "queue_channel": "queue",
            "leads_channel": "leads",
            "archive_channel": "archive",
        },
    )


async def close_a_ticket(db: Store, clock: FakeClock, platform: RecordingPlatform, **transcripts: object) -> None:
    settings = transcript_settings(dir=str(db.path.parent / "transcripts"), **transcripts)
    desk = build_desk(settings, db, clock=clock)  # type: ignore[arg-type]
    worker = DeliveryWorker(db, {platform.name: platform}, clock)
    await desk.receive(dm(ALICE, "Invoice <b>#7</b> is wrong, @here please help", message_id="m-open"))
    clock.advance(minutes=3)
    assert (await desk.run(BOB, "/ticket reply 1 I've corrected the invoice & re-sent it.")).ok
    assert (await desk.run(BOB, "/ticket note 1 Finance approved the credit, ref FIN-22")).ok
    await desk.receive(dm(ALICE, "Got it, thanks!", thread="m-open"))
    assert (await desk.run(BOB, "/ticket resolve 1 Invoice corrected.")).ok
    clock.advance(minutes=10)
    assert (await desk.run(ALICE, "/ticket close 1")).ok
    await worker.drain()


async def test_both_copies_at_close(db: Store, clock: FakeClock, platform: RecordingPlatform) -> None:
    await close_a_ticket(db, clock, platform, to_customer=True)

    html_post, md_post = platform.in_channel("archive")
    assert html_post.text == (
        "🗂 Transcript of #1 · Invoice <b>#7</b> is wrong, @\u200bhere please help — Alice via test · "
        "8 message(s), 1 internal (agents' copy)"
    )
    assert md_post.text == "#1 transcript as Markdown"
    agents_html = Path(html_post.message.attachment or "").read_text()
    agents_md = Path(md_post.message.attachment or "").read_text()

    mine = platform.in_thread("dm-alice", "m-open")[-1]
    assert mine.text == "Here is the transcript of #1 for your records."
    customer_html = Path(mine.message.attachment or "").read_text()
    customer_md = Path(str(mine.message.attachment).replace(".html", ".md")).read_text()

    # the conversation, in both
    for text in (agents_html, customer_html):
        assert "I&#x27;ve corrected the invoice &amp; re-sent it." in text
        assert "Got it, thanks!" in text and "Invoice corrected." in text
        assert "Invoice &lt;b&gt;#7&lt;/b&gt; is wrong" in text, "customer text is escaped, never markup"
        assert "@\u200bhere" in text and "@here" not in text
        # self-contained: no scripts, no external resources
        assert "<script" not in text and not re.search(r"(src|href)=\"https?:", text)
        assert text.startswith("<!DOCTYPE html>") and "<style>" in text
    # internal notes and the history only in the agents' copy
    assert "Finance approved the credit, ref FIN-22" in agents_html and "internal note" in agents_html
    assert "Finance approved" not in customer_html and "FIN-22" not in customer_md
    assert "<h2>History</h2>" in agents_html and "History" not in customer_html
    assert "transcript (agents&#x27; copy)" in agents_html and "transcript (your copy)" in customer_html

    assert agents_md.splitlines()[:9] == [
        "# Ticket #1: Invoice \\<b\\>#7\\</b\\> is wrong, @\u200bhere please help — transcript (agents' copy)",
        "",
        "- **Customer:** Alice (via test)",
        "- **Status:** closed",
        "- **Priority:** normal",
        "- **Category:** general",
        "- **Assignee:** Bob",
        "- **Opened:** 2026-11-02 09:00 UTC",
        "- **Resolved:** 2026-11-02 09:03 UTC",
    ]
    assert (
        "**Bob** (agent) · 2026-11-02 09:03 UTC · internal note\n> Finance approved the credit, ref FIN-22" in agents_md
    )
    assert "**Alice** (customer) · 2026-11-02 09:03 UTC\n> Got it, thanks!" in customer_md
    assert "## History" in agents_md and "· Bob: resolved it (Invoice corrected.)" in agents_md
    assert "## History" not in customer_md


async def test_without_to_customer_only_the_archive_gets_it(
    db: Store, clock: FakeClock, platform: RecordingPlatform
) -> None:
    await close_a_ticket(db, clock, platform)
    assert len(platform.in_channel("archive")) == 2
    assert not any(p.message.attachment for p in platform.in_thread("dm-alice", "m-open"))
