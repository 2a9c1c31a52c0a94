"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.macros import Macro


class PgMacros:
    """Implements `bot.repositories.MacrosRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def get(self, name: str, owner: str) -> Macro | None:
        raise NotImplementedError  # SKELETON

    async def visible(self, owner: str) -> list[Macro]:
        raise NotImplementedError  # SKELETON

    async def shared(self) -> list[Macro]:
        raise NotImplementedError  # SKELETON

    async def everything(self) -> list[Macro]:
        raise NotImplementedError  # SKELETON

    async def save(self, macro: Macro, *, actor: str, at: datetime, change: str) -> int | None:
        raise NotImplementedError  # SKELETON

    async def rename(self, macro: Macro, new_name: str, *, actor: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def delete(self, macro: Macro, *, actor: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def versions(self, name: str, owner: str) -> list[tuple[int, datetime, str, str]]:
        raise NotImplementedError  # SKELETON

    async def usage(self, since: datetime, until: datetime, teams: Sequence[str] = ()) -> dict[str, int]:
        raise NotImplementedError  # SKELETON

    async def used_on(self, limit_per_macro: int = 50) -> dict[str, list[str]]:
        raise NotImplementedError  # SKELETON

    async def revision(self) -> tuple[int, int]:
        raise NotImplementedError  # SKELETON

    async def suggestion_for(self, ticket: int) -> str | None:
        raise NotImplementedError  # SKELETON

    async def remember_suggestion(self, ticket: int, name: str) -> None:
        raise NotImplementedError  # SKELETON
