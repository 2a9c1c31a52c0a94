"""`threaddesk macros import DIR | export DIR`: Markdown with front matter, bad files reported by line."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_console import threaddesk

GOOD = """---
name: reset-link
status: pending
tags:
- password
- -new
note: Reset link sent; check SSO too
---
Hi {customer.first_name}, here is how to get back in: {kb:reset-password}
"""
BAD_PLACEHOLDER = "---\nname: oops\n---\nHello {nmae}\n"
BAD_STATUS = "---\nname: wrong\nstatus: finished\n---\nDone.\n"


def test_import_then_export_round_trips_and_reports_bad_files(tmp_path: Path) -> None:
    source, target, db = tmp_path / "in", tmp_path / "out", tmp_path / "desk.db"
    source.mkdir()
    (source / "reset-link.md").write_text(GOOD, encoding="utf-8")
    (source / "oops.md").write_text(BAD_PLACEHOLDER, encoding="utf-8")
    (source / "wrong.md").write_text(BAD_STATUS, encoding="utf-8")
    run = threaddesk("macros", "import", str(source), "--db", str(db))
    assert run.returncode == 1, run.stderr
    assert f"Imported from {source}: 1 new, 0 updated, 0 unchanged." in run.stdout
    assert f"skipped {source / 'oops.md'}: Unknown placeholder `{{nmae}}`." in run.stderr
    assert f"skipped {source / 'wrong.md'}:3: “finished” is not a status a macro can set." in run.stderr
    assert "Traceback" not in run.stderr

    again = threaddesk("macros", "import", str(source), "--db", str(db))
    assert "0 new, 0 updated, 1 unchanged." in again.stdout

    exported = threaddesk("macros", "export", str(target), "--db", str(db))
    assert exported.returncode == 0 and f"Wrote 1 macro(s) to {target}." in exported.stdout
    assert (target / "reset-link.md").read_text(encoding="utf-8") == GOOD
