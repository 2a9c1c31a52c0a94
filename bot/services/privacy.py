"""A customer's data on request: export everything stored about them, or erase it (`threaddesk customer
…`), and the `[retention] message_days` purge the scheduler runs.

An erasure runs in one transaction with SQLite's `secure_delete` on (as every connection of ours), is
recorded in the history of every ticket it touched, then the WAL is checkpointed and truncated, so the old
text survives neither in free space nor in the journal — without a VACUUM, which would stop intake while it
rewrote the file. Backups taken before stay as they were: see README "Customer data".
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.domain.refs import UserRef, bot_user
from bot.ports import Clock
from bot.store import privacy, tickets
from bot.store.db import Database
from bot.store.privacy import Erasure

log = logging.getLogger(__name__)

OPERATOR = UserRef(platform="operator", id="cli", name="Operator")
ERASED_EVENT = "customer_data_erased"
PURGED_EVENT = "message_texts_purged"


async def export(db: Database, platform: str, user_id: str) -> dict[str, Any]:
    async with db.reading() as conn:
        return await privacy.person_data(conn, platform, user_id)


async def forget(db: Database, clock: Clock, platform: str, user_id: str, *, dry_run: bool) -> Erasure:
    """Erase what `platform:user_id` wrote, their name and the KB wordings learned from their tickets.
    A dry run reports the same counts and changes nothing."""
    if dry_run:
        async with db.reading() as conn:
            return await privacy.erase_person(conn, platform, user_id, apply=False)
    async with db.autocommit() as conn:
        await privacy.secure_delete(conn)
    now = clock.now()
    async with db.transaction() as conn:
        found = await privacy.erase_person(conn, platform, user_id, apply=True)
        counts = {k: v for k, v in found.to_json().items() if k not in ("tickets", "other_tickets")}
        for number in found.tickets + found.other_tickets:
            await tickets.add_event(
                conn, number, now, OPERATOR, ERASED_EVENT, customer=f"{platform}:{user_id}", **counts
            )
    async with db.autocommit() as conn:
        await privacy.scrub_free_pages(conn)
    log.warning(
        "erased the data of %s:%s on %d ticket(s) (%d message(s))",
        platform,
        user_id,
        len(found.tickets) + len(found.other_tickets),
        found.messages,
    )
    return found


async def purge_expired(db: Database, clock: Clock, message_days: int) -> list[int]:
    """Retention: erase the message texts of tickets closed more than `message_days` days ago."""
    now = clock.now()
    async with db.autocommit() as conn:
        await privacy.secure_delete(conn)
    async with db.transaction() as conn:
        purged = await privacy.purge_closed(conn, now - timedelta(days=message_days))
        for number in purged:
            ticket = await tickets.get_ticket(conn, number)
            platform = ticket.customer.platform if ticket else "threaddesk"
            await tickets.add_event(conn, number, now, bot_user(platform), PURGED_EVENT, days=message_days)
    if purged:
        async with db.autocommit() as conn:
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.info(
            "retention: erased the message texts of %d ticket(s) closed over %d days ago", len(purged), message_days
        )
    return purged
