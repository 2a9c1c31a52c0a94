"""Fixtures for the unit tests that read SQLite's query plans and statements directly."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store.sqlite.connection import connect, migrate


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A migrated desk file, opened as the store opens it."""
    path = tmp_path / "desk.db"
    conn = connect(path)
    migrate(conn, path)
    yield conn
    conn.close()
