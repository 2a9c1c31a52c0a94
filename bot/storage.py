"""Opening a store from configuration: the one place that chooses an engine. Adapters and the CLI come
here (they never import `bot.store`), and get the `bot.ports.Store` port back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from bot.config import Settings
from bot.ports import SchemaTooNew, Store, StoreUnavailable
from bot.records import BackupError, Snapshot
from bot.store.sqlite import backup as _backup
from bot.store.sqlite.engine import SqliteStore
from bot.store.sqlite.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "BackupError",
    "SchemaTooNew",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "backup",
    "inspect_backup",
    "is_url",
    "open_configured",
    "open_store",
    "restore",
]


@asynccontextmanager
async def open_store(
    path: Path | str,
    *,
    migrate: bool = True,
    check: bool = False,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    pool_size: int = 10,
) -> AsyncIterator[Store]:
    """Open (creating and migrating) the desk's database — an SQLite file, or a `postgresql://` URL;
    closed when the block ends."""
    if is_url(path):
        from bot.store.postgres.engine import PostgresStore  # asyncpg loads only for a PostgreSQL desk

        async with PostgresStore.open(str(path), migrate=migrate, pool_size=pool_size) as pg:
            yield pg
        return
    async with SqliteStore.open(path, migrate=migrate, check=check, synchronous=synchronous) as store:
        yield store


def is_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


@asynccontextmanager
async def open_configured(settings: Settings, *, migrate: bool = True, check: bool = False) -> AsyncIterator[Store]:
    """Open the store the settings name: `[store] url` / `THREADDESK_DATABASE_URL`, else the SQLite file."""
    target: Path | str = settings.store.url or settings.resolve(settings.store.path)
    async with open_store(
        target, migrate=migrate, check=check, synchronous=settings.store.synchronous, pool_size=settings.store.pool_size
    ) as store:
        yield store


def backup(source: Path, target: Path) -> Snapshot:
    """A consistent, checked online copy of the database at `source` (see `bot.store.sqlite.backup`)."""
    return _backup.backup(source, target)


def restore(backup_file: Path, target: Path) -> tuple[Snapshot, Path | None]:
    return _backup.restore(backup_file, target)


def inspect_backup(path: Path) -> Snapshot:
    return _backup.inspect(path)
