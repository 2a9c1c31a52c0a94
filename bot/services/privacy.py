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
from bot.ports import Clock, Store
from bot.records import Erasure

log = logging.getLogger(__name__)

OPERATOR = UserRef(platform="operator", id="cli", name="Operator")
ERASED_EVENT = "customer_data_erased"
PURGED_EVENT = "message_texts_purged"


async def export(db: Store, platform: str, user_id: str) -> dict[str, Any]:
    async with db.reading() as uow:
        return await uow.privacy.person_data(platform, user_id)


async def forget(db: Store, clock: Clock, platform: str, user_id: str, *, dry_run: bool) -> Erasure:
    """Erase what `platform:user_id` wrote, their name and the KB wordings learned from their tickets.
    A dry run reports the same counts and changes nothing."""
    if dry_run:
        async with db.reading() as uow:
            return await uow.privacy.erase_person(platform, user_id, apply=False)
    now = clock.now()
    async with db.transaction() as uow:
        found = await uow.privacy.erase_person(platform, user_id, apply=True)
        counts = {k: v for k, v in found.to_json().items() if k not in ("tickets", "other_tickets")}
        for number in found.tickets + found.other_tickets:
            await uow.history.add_event(number, now, OPERATOR, ERASED_EVENT, customer=f"{platform}:{user_id}", **counts)
    await db.compact_log()
    log.warning(
        "erased the data of %s:%s on %d ticket(s) (%d message(s))",
        platform,
        user_id,
        len(found.tickets) + len(found.other_tickets),
        found.messages,
    )
    return found


async def purge_expired(db: Store, clock: Clock, message_days: int) -> list[int]:
    """Retention: erase the message texts of tickets closed more than `message_days` days ago."""
    now = clock.now()
    async with db.transaction() as uow:
        purged = await uow.privacy.purge_closed(now - timedelta(days=message_days))
        for number in purged:
            ticket = await uow.tickets.get_ticket(number)
            platform = ticket.customer.platform if ticket else "threaddesk"
            await uow.history.add_event(number, now, bot_user(platform), PURGED_EVENT, days=message_days)
    if purged:
        await db.compact_log()
        log.info(
            "retention: erased the message texts of %d ticket(s) closed over %d days ago", len(purged), message_days
        )
    return purged
