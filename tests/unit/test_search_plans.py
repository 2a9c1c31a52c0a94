"""Schema 16 on SQLite: the dashboard's text search starts from the trigram index and the tag filter probes
`ticket_tags`, by the query plan (without `ANALYZE`, as the bot runs); a desk migrated from 15 has both
built from its tickets; an SQLite too old for the trigram tokenizer is refused with one line."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.domain.ticket import Status
from bot.ports import StoreUnavailable
from bot.records import QueueFilter
from bot.store.sqlite import connection
from bot.store.sqlite.connection import _statements, connect, migrate
from bot.store.sqlite.schema import MIGRATIONS
from bot.store.sqlite.web import page_sql

ACTIVE = tuple(s for s in Status if s.is_active)
AT = "2026-03-01T00:00:00.000000Z"


def plan(conn: sqlite3.Connection, sql: str, args: list[Any]) -> str:
    return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())


def insert(conn: sqlite3.Connection, number: int, subject: str, name: str, tags: str = "[]") -> None:
    conn.execute(
        "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
        " origin_channel, origin_thread, priority, category, tags, status, created_at, updated_at)"
        " VALUES (?, ?, 'd', 'test', ?, ?, 'support', ?, 'normal', 'general', ?, 'open', ?, ?)",
        (number, subject, name.lower(), name, f"t{number}", tags, AT, AT),
    )


@pytest.mark.parametrize(
    "f",
    [QueueFilter(text="printer"), QueueFilter(text="printer", statuses=ACTIVE), QueueFilter(text="abc", sort="newest")],
    ids=["all", "open", "newest"],
)
def test_text_of_three_characters_or_more_starts_from_the_trigram_index(
    conn: sqlite3.Connection, f: QueueFilter
) -> None:
    (page, args), (count, count_args) = page_sql(f)
    for found in (plan(conn, page, args), plan(conn, count, count_args)):
        assert "tickets_fts VIRTUAL TABLE INDEX 0:M" in found, found  # a MATCH, not a scan of the index
        assert "SEARCH tickets USING INTEGER PRIMARY KEY" in found, found  # each candidate by its number
        assert not re.search(r"^SCAN tickets( |$)", found, re.MULTILINE), found  # never the whole table


def test_text_past_the_cap_or_too_short_walks_the_queue_in_order(conn: sqlite3.Connection) -> None:
    for f, by_index in ((QueueFilter(text="printer"), False), (QueueFilter(text="ab"), True)):
        found = plan(conn, *page_sql(f, by_index=by_index)[0])
        assert "tickets_fts" not in found, found
        assert "USE TEMP B-TREE FOR ORDER BY" not in found and "ix_tickets_rank" in found, found


def test_a_tag_is_a_primary_key_probe_beside_the_open_queue_index(conn: sqlite3.Connection) -> None:
    found = plan(conn, *page_sql(QueueFilter(statuses=ACTIVE, tag="vip"))[0])
    assert "ix_tickets_open_rank" in found and "USE TEMP B-TREE" not in found, found
    assert "SEARCH ticket_tags USING PRIMARY KEY (tag=? AND ticket=?)" in found, found
    assert "json_each" not in found, found


def test_a_desk_at_15_gets_its_tickets_indexed_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    for script in MIGRATIONS[:15]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 15")
    insert(conn, 1, "Printer on fire", "Ana", '["vip", "mobile"]')
    insert(conn, 2, "Invoice", "Ben Printerson", '["vip"]')
    insert(conn, 3, "Other", "Cy")
    assert migrate(conn, path) == list(range(16, len(MIGRATIONS) + 1))
    rows = conn.execute("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH '\"printer\"' ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == [1, 2]
    tags = conn.execute("SELECT tag, ticket FROM ticket_tags ORDER BY 1, 2").fetchall()
    assert [tuple(r) for r in tags] == [("mobile", 1), ("vip", 1), ("vip", 2)]
    conn.execute("INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()


def test_an_sqlite_without_the_trigram_tokenizer_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.db"
    conn = connect(path)
    monkeypatch.setattr(connection.sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(connection.sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(StoreUnavailable) as refused:
        migrate(conn, path)
    assert str(refused.value) == (
        f"{path} needs SQLite 3.34.0 or newer for schema version 16 (the search index's trigram tokenizer); this"
        " Python has SQLite 3.31.1 — use a Python built with a newer SQLite"
    )
    conn.close()
