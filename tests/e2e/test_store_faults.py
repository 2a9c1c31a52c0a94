"""A database or config that cannot be used is one line naming the fix, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app


def threaddesk(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input="")
    text = result.output
    assert "Traceback" not in text and not isinstance(result.exception, AssertionError), text
    return result.exit_code, text


def one_error_line(text: str) -> str:
    [line] = [line for line in text.splitlines() if line.strip()]
    assert line.startswith("error: ")
    return line


def test_a_folder_at_the_database_path(tmp_path: Path) -> None:
    code, text = threaddesk("console", "--db", str(tmp_path))
    assert code == 2
    assert one_error_line(text) == f"error: {tmp_path} is a folder — set [store] path (or --db) to a database file"


@pytest.mark.parametrize("content", [b"\x00\xffrandom bytes, not a database" * 64, b"hello"])
def test_a_file_that_is_not_a_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "desk.db"
    path.write_bytes(content)
    code, text = threaddesk("console", "--db", str(path))
    assert code == 2 and "is not a ThreadDesk database" in one_error_line(text)
    assert path.read_bytes() == content  # left as it was


def test_a_path_that_cannot_be_created(tmp_path: Path) -> None:
    code, text = threaddesk("db", "check", "--db", "/proc/threaddesk/desk.db")
    assert code == 2 and one_error_line(text).startswith("error: cannot open /proc/threaddesk/desk.db")


def test_damaged_pages_are_found_at_start_and_by_db_check(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    code, text = threaddesk("db", "migrate", "--db", str(path))
    assert code == 0, text
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    code, text = threaddesk("db", "check", "--db", str(path))
    assert code == 0 and text.strip() == f"{path}: no damage found (quick_check)."
    page = 4096
    data = bytearray(path.read_bytes())
    for offset in range(2 * page, len(data) - page, page):  # scribble over every page but the header
        data[offset + 8 : offset + 64] = b"\xa5" * 56
    path.write_bytes(bytes(data))
    code, text = threaddesk("db", "check", "--db", str(path))
    assert code in (1, 2) and text.splitlines()[-1].startswith(f"error: {path} is damaged"), text
    code, text = threaddesk("console", "--db", str(path))
    assert code == 2 and one_error_line(text).startswith(f"error: {path} is damaged")


def test_a_config_that_is_a_folder_or_binary(tmp_path: Path) -> None:
    code, text = threaddesk("console", "--config", str(tmp_path))
    assert (
        code == 2 and one_error_line(text) == f"error: --config {tmp_path} is a folder — give the path of a TOML file"
    )
    binary = tmp_path / "config.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, text = threaddesk("console", "--config", str(binary))
    assert code == 2 and one_error_line(text) == f"error: {binary}: not a text file (expected TOML in UTF-8)"
