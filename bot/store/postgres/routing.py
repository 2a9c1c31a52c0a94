"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.refs import UserRef


class PgRouting:
    """Implements `bot.repositories.RoutingRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def set_team(self, ticket: int, team: str | None) -> None:
        raise NotImplementedError  # SKELETON

    async def team_of(self, ticket: int) -> str | None:
        raise NotImplementedError  # SKELETON

    async def open_load(self, platform: str, ids: Sequence[str]) -> dict[str, int]:
        raise NotImplementedError  # SKELETON

    async def away(self, platform: str, ids: Sequence[str], now: datetime) -> dict[str, datetime | None]:
        raise NotImplementedError  # SKELETON

    async def set_away(self, person: UserRef, until: datetime | None, now: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def set_back(self, person: UserRef) -> bool:
        raise NotImplementedError  # SKELETON

    async def pointer(self, team: str) -> str | None:
        raise NotImplementedError  # SKELETON

    async def move_pointer(self, team: str, member: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def mark_unstaffed(self, team: str, at: datetime, ticket: int) -> bool:
        raise NotImplementedError  # SKELETON

    async def clear_unstaffed(self, team: str) -> None:
        raise NotImplementedError  # SKELETON

    async def unstaffed_since(self, team: str) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def waiting(self, team: str, limit: int = 50) -> list[int]:
        raise NotImplementedError  # SKELETON

    async def open_assigned_to(self, person: UserRef) -> list[int]:
        raise NotImplementedError  # SKELETON

    async def team_counts(self, team: str) -> tuple[int, int]:
        raise NotImplementedError  # SKELETON
