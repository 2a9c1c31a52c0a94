"""`threaddesk kb …` and the self-service loop in the console, as a person runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import semantic
from tests.e2e.test_console import CONFIG, threaddesk

SELF_SERVICE = """\
I never received the password reset email
/press This solved it: Can't log in or forgot your password
/as carol
my password reset mail did not arrive
/as bob
/kb show reset-password
"""


def test_self_service_in_the_console_then_stats(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.db")
    run = threaddesk("console", "--config", str(CONFIG), "--db", db, stdin=SELF_SERVICE)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "#1 is resolved — thanks for letting us know!" in out
    assert "Great — glad “Can't log in or forgot your password” helped. #1 is resolved." in out
    assert "Tags: self-served" in out
    # carol's similar message gets the article, helped by alice's learned wording
    carol = out.split("carol @ DM carol » my password reset mail did not arrive", 1)[1]
    assert "• Can't log in or forgot your password" in carol.split("bob @", 1)[0]
    assert "Learned from customers (1; remove with `/kb unlearn reset-password N`):" in out
    assert "1. I never received the password reset email" in out

    stats = threaddesk("kb", "stats", "--db", db, "--config", str(CONFIG))
    row = next(line for line in stats.stdout.splitlines() if "reset-password" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][2:] == ["2", "1", "0", "1"]


def test_import_reports_bad_files_with_line_and_imports_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.md").write_text(
        "---\ntitle: Redeem a gift card\naliases: [how do I redeem my gift card]\n---\nGo to Billing → Redeem.\n",
        encoding="utf-8",
    )
    (folder / "bad.md").write_text("---\ntitle: Broken\nflavour: lemon\n---\nx\n", encoding="utf-8")
    db = str(tmp_path / "desk.db")
    run = threaddesk("kb", "import", str(folder), "--db", db)
    assert run.returncode == 1
    assert f"skipped {folder / 'bad.md'}:3: unknown key 'flavour'" in run.stderr
    assert "1 new, 0 updated, 0 unchanged" in run.stdout

    (folder / "bad.md").unlink()
    (folder / "good.md").write_text(
        "---\ntitle: Redeem a gift card\naliases: [redeem gift card, gift code]\n---\nBilling → Redeem.\n",
        encoding="utf-8",
    )
    again = threaddesk("kb", "import", str(folder), "--db", db)
    assert again.returncode == 0 and "0 new, 1 updated, 0 unchanged" in again.stdout

    shown = threaddesk("kb", "show", "good", "--db", db).stdout
    assert "Redeem a gift card [good]" in shown and "  - gift code" in shown
    assert "v1 " in shown and "v2 " in shown

    search = threaddesk("kb", "search", "how can I redeem a gift code", "--db", db).stdout
    first = next(line for line in search.splitlines() if line.startswith("│"))
    assert "│ good " in first and "yes" in first

    out = tmp_path / "export"
    assert threaddesk("kb", "export", str(out), "--db", db).returncode == 0
    assert (out / "good.md").read_text(encoding="utf-8").startswith("---\nid: good\ntitle: Redeem a gift card\n")
    missing = threaddesk("kb", "show", "nope", "--db", db)
    assert missing.returncode == 1 and "there is no article 'nope'" in missing.stderr


@pytest.mark.skipif(semantic.available(), reason="the semantic extra is installed here")
def test_semantic_without_the_extra_is_a_clear_config_error(tmp_path: Path) -> None:
    config = tmp_path / "semantic.toml"
    config.write_text("[kb]\nsemantic = true\n", encoding="utf-8")
    run = threaddesk("console", "--config", str(config), "--db", str(tmp_path / "d.db"))
    assert run.returncode == 2
    assert (
        "[kb] semantic = true, but the semantic boost is not installed: run `pip install '.[semantic]'`" in run.stderr
    )
    assert "Traceback" not in run.stderr
