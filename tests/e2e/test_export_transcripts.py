"""`threaddesk export --ticket N --format md|html|json` and `--since`: transcripts from the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bootstrap import build_desk
from bot.storage import open_store
from tests.conftest import ALICE, BOB, CAROL, dm, make_settings
from tests.e2e.test_console import threaddesk
from tests.fakes.clock import FakeClock


async def test_export_transcripts(tmp_path: Path) -> None:
    db_path = tmp_path / "desk.db"
    clock = FakeClock(datetime.now(UTC) - timedelta(days=30))
    async with open_store(db_path) as db:
        desk = build_desk(make_settings(kb={"suggestions": 0}), db, clock=clock)
        await desk.receive(dm(ALICE, "My invoice shows the wrong address", message_id="a1"))
        assert (await desk.run(BOB, "/ticket reply 1 Fixed, a corrected invoice is on its way.")).ok
        assert (await desk.run(BOB, "/ticket note 1 Address came from the old CRM import")).ok
        assert (await desk.run(BOB, "/ticket close 1 done")).ok
        clock.advance(days=29)
        await desk.receive(dm(CAROL, "Can I export my data as CSV?", message_id="c1"))

    md = threaddesk("export", "--ticket", "1", "--format", "md", "--db", str(db_path))
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Ticket #1: My invoice shows the wrong address — transcript (agents' copy)\n")
    assert "> Fixed, a corrected invoice is on its way." in md.stdout
    assert "internal note\n> Address came from the old CRM import" in md.stdout and "## History" in md.stdout

    page = tmp_path / "t1.html"
    html = threaddesk(
        "export", "--ticket", "1", "--format", "html", "--copy", "customer", "-o", str(page), "--db", str(db_path)
    )
    assert html.returncode == 0, html.stderr
    assert html.stderr.strip() == f"Wrote 1 ticket(s) to {page}."
    text = page.read_text()
    assert "Fixed, a corrected invoice is on its way." in text and "transcript (your copy)" in text
    assert "CRM import" not in text and "History" not in text

    recent = threaddesk("export", "--since", "7d", "--format", "json", "--copy", "customer", "--db", str(db_path))
    assert recent.returncode == 0, recent.stderr
    [only] = json.loads(recent.stdout)
    assert (only["number"], only["subject"]) == (2, "Can I export my data as CSV?")
    assert only["history"] == [] and {m["visibility"] for m in only["messages"]} == {"public"}

    missing = threaddesk("export", "--ticket", "9", "--format", "md", "--db", str(db_path))
    assert missing.returncode == 1 and missing.stderr.strip() == "error: there is no ticket #9"
