"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from bot.records import (
    Erasure,
)


class PgPrivacy:
    """Implements `bot.repositories.PrivacyRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def person_data(self, platform: str, user_id: str) -> dict[str, Any]:
        raise NotImplementedError  # SKELETON

    async def erase_person(self, platform: str, user_id: str, *, apply: bool) -> Erasure:
        raise NotImplementedError  # SKELETON

    async def purge_closed(self, closed_before: datetime) -> list[int]:
        raise NotImplementedError  # SKELETON
