"""The console end to end for team leads: a CSAT survey answered with a button, `/digest now` with its
chart saved to a file, and a refusal for someone who is not a lead."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.test_console import CONFIG, threaddesk

SCRIPT = """\
I can't log in, the password reset email never arrives
/as bob
/ticket show 1
/ticket resolve 1 Reset email re-sent.
/as alice
/go #1
/press Yes, solved
/press Rate 4
/ticket rate 1 4 Quick and friendly
/as bob
/digest now
/as dana
/digest now
/ticket show 1
"""


def test_csat_and_digest_in_the_console(tmp_path: Path) -> None:
    run = threaddesk("console", "--config", str(CONFIG), "--db", str(tmp_path / "c.db"), stdin=SCRIPT)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Traceback" not in out + run.stderr
    # agents see the SLA on the card and in /ticket show
    assert "SLA: first response due in 59m · resolution due in 23h 59m" in out
    # the customer is asked once, presses a rating button, then adds a comment
    assert out.count("── DM alice › ticket #1 · ThreadDesk\n   How did we do on #1? Rate us from 1 (poor) to 5") == 1
    assert "(alice pressed “Rate 4”)" in out
    assert "(only alice sees this) Thanks for rating #1 4/5!" in out
    assert "#1: Alice rated us 4/5: Quick and friendly" in out
    # an agent may not post the digest; the lead may, and the chart is saved to a file
    assert "(only bob sees this) ✗ Only team leads can use `/digest now`." in out
    assert "(only dana sees this) Digest posted in #support-leads." in out
    digest = out.split("── #support-leads · ThreadDesk", 1)[1]
    assert "📊 Queue digest" in digest and "CSAT: 4/5 from 1 of 1 asked (response rate 100%)" in digest
    match = re.search(r"📎 chart saved to (\S+\.png)", digest)
    assert match, digest
    chart = Path(match.group(1))
    assert chart.is_file() and chart.parent == tmp_path / "charts"
    assert "Alice rated it 4/5" in out.split("dana @ #support-queue » /ticket show 1", 1)[1]
