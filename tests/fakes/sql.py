"""Plain SQL against a store's database file, on a connection of its own — what another process (or an
operator with `sqlite3`) would do. For tests that set up a state the product cannot reach, or look at rows."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

from bot.ports import Store


def sql(db: Store, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db.location, isolation_level=None, timeout=30)) as conn:
        return [tuple(row) for row in conn.execute(statement, params).fetchall()]
