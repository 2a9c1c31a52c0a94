"""The console from a piped script, as a newcomer runs it: the whole journey, then a second run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from bot.storage import SCHEMA_VERSION
from tests.fakes.patience import HANG

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.example.toml"

JOURNEY = """\
# alice says hello first: a kind answer, no ticket
hello?
# then writes to the bot in her DM
I can't log in to my account, the password reset email never arrives
/as bob
/ticket list
/ticket claim 1
/ticket reply 1 I've re-sent the reset email, please check your spam folder too.
/ticket note 1 Mail provider bounced the first one; flagged to infra
/ticket resolve 1 Reset email re-sent; the first one had bounced.
/as alice
/go #1
/read
/press Yes, solved
/ticket show 1
/go top
thanks!
"""


def threaddesk(*args: str, stdin: str = "", timeout: float = 2 * HANG) -> subprocess.CompletedProcess[str]:
    """Run the real CLI. If it hangs, it is made to print every thread's stack (faulthandler on SIGABRT)
    before the test fails, so a hang is diagnosable from the CI log."""
    command = [sys.executable, "-X", "faulthandler", "-m", "adapters.cli", *args]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as process:
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            out, err = process.communicate()
            raise AssertionError(
                f"threaddesk {' '.join(args)} hung for {timeout:.0f} s\n{out[-3000:]}\n{err}"
            ) from None
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def section(output: str, start: str, end: str) -> str:
    return output.split(start, 1)[1].split(end, 1)[0]


def test_full_journey_in_the_console_then_a_second_run(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    run = threaddesk("console", "--config", str(CONFIG), "--db", str(db), stdin=JOURNEY)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Traceback" not in out + run.stderr

    assert "── DM alice › “hello?” · ThreadDesk\n   Hi Alice! 👋 How can we help?" in out
    # the customer is acknowledged in her thread with the number and KB suggestions
    ack = section(out, "── DM alice › ticket #1 · ThreadDesk", "──")
    assert "Thanks, Alice — we've opened ticket #1 (priority: high)" in ack
    assert "these articles may help" in ack
    # the agents' queue gets a card, edited in place as it changes
    assert "── #support-queue · ThreadDesk\n   #1 · I can't log in to my account" in out
    assert "── #support-queue · ThreadDesk (card updated)" in out
    assert "(only bob sees this) You claimed #1" in out

    # what alice reads back in her thread: claim, reply, resolution — never the internal note
    transcript = section(out, "— DM alice › ticket #1:", "(alice pressed")
    assert "ThreadDesk: Bob is looking at this." in transcript
    assert "ThreadDesk: Bob: I've re-sent the reset email, please check your spam folder too." in transcript
    assert "ThreadDesk: #1 is resolved by Bob: Reset email re-sent; the first one had bounced." in transcript
    assert "Mail provider bounced" not in transcript
    assert "── #support-queue › card #1 · ThreadDesk\n   📝 Internal note from Bob: Mail provider bounced" in out

    # she confirms with the button: closed, and she is told so
    assert "(alice pressed “Yes, solved”)" in out
    assert "#1 is now closed. Thanks for reaching out!" in out
    assert "Mail provider bounced" not in section(out, "(only alice sees this) #1 · ", "Bye")

    # a second run on the same database still has it all
    again = threaddesk("console", "--config", str(CONFIG), "--db", str(db), stdin="/as bob\n/ticket show 1\n")
    assert again.returncode == 0, again.stderr
    history = section(again.stdout, "History:", "Messages:")
    for step in (
        "Alice opened it",
        "Bob assigned it to Bob",
        "Bob changed status new → open",
        "Bob replied to the customer",
        "Bob added an internal note",
        "Bob resolved it (Reset email re-sent; the first one had bounced.)",
        "Alice changed status resolved → closed (customer confirmed)",
        "Alice thanked us (no reopen: it stays closed)",
    ):
        assert step in history
    assert "Bob [internal]: Mail provider bounced the first one" in again.stdout


def test_terminal_views_and_export(tmp_path: Path) -> None:
    db = tmp_path / "views.db"
    script = "Our data export to CSV is empty\n/as carol\nThe site is down for everyone!\n"
    assert threaddesk("console", "--config", str(CONFIG), "--db", str(db), stdin=script).returncode == 0

    listing = threaddesk("tickets", "list", "--db", str(db))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    urgent = next(i for i, line in enumerate(lines) if "The site is down" in line)
    export_line = next(i for i, line in enumerate(lines) if "Our data export" in line)
    assert urgent < export_line, "most urgent first"

    shown = threaddesk("tickets", "show", "2", "--db", str(db))
    assert "urgent" in shown.stdout and "Carol" in shown.stdout and "opened it" in shown.stdout
    missing = threaddesk("tickets", "show", "99", "--db", str(db))
    assert missing.returncode == 1 and "there is no ticket #99" in missing.stderr

    exported = threaddesk("export", "--format", "json", "--db", str(db))
    data = json.loads(exported.stdout)
    assert [t["number"] for t in data] == [1, 2]
    assert data[1]["priority"] == "urgent" and data[1]["customer"] == "console:carol"
    assert data[0]["messages"][0]["body"] == "Our data export to CSV is empty"
    as_csv = threaddesk("export", "--format", "csv", "--db", str(db))
    assert as_csv.stdout.splitlines()[0].startswith("number,subject,status,priority")
    assert len(as_csv.stdout.strip().splitlines()) == 3


def test_bad_config_is_reported_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[intake]\ndefault_priority = "asap"\n', encoding="utf-8")
    run = threaddesk("console", "--config", str(bad), stdin="hello\n")
    assert run.returncode == 2
    assert "intake.default_priority: Input should be 'low', 'normal', 'high' or 'urgent' (got 'asap')" in run.stderr
    assert "Traceback" not in run.stderr


def test_db_migrate(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    first = threaddesk("db", "migrate", "--db", str(db))
    assert f"to schema version {SCHEMA_VERSION}" in first.stdout
    again = threaddesk("db", "migrate", "--db", str(db)).stdout
    assert f"is up to date (schema version {SCHEMA_VERSION})" in again
