"""The outbox on PostgreSQL, shared by every process of the desk.

A process takes the rows it will send with one statement: the due head row of each ordering key (so per-thread
order holds across processes), locked with `FOR UPDATE SKIP LOCKED` and marked `claimed_by` it. A claim
counts while its claimant is connected to the server (its `application_name` is in `pg_stat_activity`) and
for at most `CLAIM_FOR`: a process killed mid-send leaves its rows to the others at once, and one that hangs,
after that long. A claim ends with the row's outcome (delivered, failed, or a retry later). What is posted
twice is prevented as on SQLite: `sending_since` makes the next claimant look for the post before posting.
Queuing a row announces it (`bot.store.postgres.announce`), which wakes the other processes' delivery workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from bot.outbound import Destination, DestinationKind, Message
from bot.records import OutboxRow
from bot.store.postgres.announce import announce

#: how long a claim lasts even while its claimant stays connected (a send hung far past every timeout)
CLAIM_FOR = timedelta(minutes=5)


def row_from_db(r: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        destination=Destination.model_validate(r["destination"]),
        message=Message.model_validate(r["payload"]),
        ticket=r["ticket"],
        log_message=r["message"],
        version=r["version"],
        attempts=r["attempts"],
        created_at=r["created_at"],
        sending_since=r["sending_since"],
    )


#: free to claim: unclaimed, or its claimant is gone (disconnected) or has held it too long
CLAIMABLE = (
    "(o.claimed_by IS NULL OR o.claimed_until < $2"
    " OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = o.claimed_by))"
)


class PgOutbox:
    """Implements `bot.repositories.OutboxRepository`. `claimant` names this process's claims."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False, claimant: str = "") -> None:
        self.conn = conn
        self.writing = writing
        self.claimant = claimant

    async def enqueue(
        self,
        destination: Destination,
        message: Message,
        *,
        at: datetime,
        ticket: int | None = None,
        log_message: int | None = None,
        coalesce: bool = True,
    ) -> int:
        payload = message.model_dump(mode="json")
        key = destination.ordering_key
        if destination.kind in (DestinationKind.CARD, DestinationKind.INCIDENT_CARD) and coalesce:
            found = await self.conn.fetchval(
                "UPDATE outbox SET payload=$1, version=version+1 WHERE ordering_key=$2 AND state='pending'"
                " AND sending_since IS NULL AND destination->>'kind' = $3 RETURNING id",
                payload,
                key,
                destination.kind.value,
            )
            if found is not None:
                return int(found)
        new_id = await self.conn.fetchval(
            "WITH added AS (INSERT INTO outbox (ordering_key, platform, destination, payload, ticket, message,"
            " next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id)"
            f" SELECT id FROM added, {announce('outbox')}",
            key,
            destination.platform,
            destination.model_dump(mode="json"),
            payload,
            ticket,
            log_message,
            at,
        )
        return int(new_id)

    async def due(self, now: datetime, *, platforms: Sequence[str], limit: int = 200) -> list[OutboxRow]:
        """Claim and return the oldest pending row of each ordering key, if it is due and free to claim: later
        rows wait their turn, and rows another live process claimed are left to it."""
        if not platforms:
            return []
        rows = await self.conn.fetch(
            f"""WITH heads AS (
                    SELECT o.id FROM outbox o
                     WHERE o.state='pending' AND o.platform = ANY($1::text[]) AND o.next_attempt_at <= $2
                       AND {CLAIMABLE}
                       AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state='pending'
                                       AND p.ordering_key = o.ordering_key AND p.id < o.id
                                       AND p.platform = ANY($1::text[]))
                     ORDER BY o.id LIMIT $3
                     FOR UPDATE OF o SKIP LOCKED)
                UPDATE outbox SET claimed_by = $4, claimed_until = $5
                  FROM heads WHERE outbox.id = heads.id
                RETURNING outbox.*""",
            list(platforms),
            now,
            limit,
            self.claimant,
            now + CLAIM_FOR,
        )
        return sorted((row_from_db(r) for r in rows), key=lambda row: row.id)

    async def next_attempt_at(self, *, platforms: Sequence[str]) -> datetime | None:
        if not platforms:
            return None
        value: datetime | None = await self.conn.fetchval(
            "SELECT min(next_attempt_at) FROM outbox WHERE state='pending' AND platform = ANY($1::text[])",
            list(platforms),
        )
        return value

    async def pending_count(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM outbox WHERE state='pending'"))

    async def mark_sending(self, row: OutboxRow, at: datetime) -> None:
        await self.conn.execute("UPDATE outbox SET sending_since=COALESCE(sending_since, $1) WHERE id=$2", at, row.id)

    async def mark_delivered(self, row: OutboxRow, at: datetime, delivered_id: str) -> bool:
        """False when the row changed while it was being sent (a newer card): it stays pending, unclaimed."""
        done = await self.conn.fetchval(
            "UPDATE outbox SET state='delivered', delivered_at=$1, delivered_id=$2, attempts=attempts+1,"
            " last_error=NULL, sending_since=NULL, claimed_by=NULL, claimed_until=NULL"
            " WHERE id=$3 AND version=$4 RETURNING true",
            at,
            delivered_id,
            row.id,
            row.version,
        )
        if not done:
            await self.conn.execute("UPDATE outbox SET claimed_by=NULL, claimed_until=NULL WHERE id=$1", row.id)
        return bool(done)  # the trigger `outbox_delivery_logged` updates the message log

    async def mark_retry(self, row: OutboxRow, next_at: datetime, error: str, *, outcome_unknown: bool = False) -> None:
        await self.conn.execute(
            "UPDATE outbox SET attempts=attempts+1, next_attempt_at=$1, last_error=$2,"
            " sending_since=CASE WHEN $3 THEN sending_since END, claimed_by=NULL, claimed_until=NULL WHERE id=$4",
            next_at,
            error,
            outcome_unknown,
            row.id,
        )

    async def mark_failed(self, row: OutboxRow, error: str) -> bool:
        """False when the row is no longer pending (another attempt at it failed or delivered it first)."""
        done = await self.conn.fetchval(
            "UPDATE outbox SET state='failed', attempts=attempts+1, last_error=$1, sending_since=NULL,"
            " claimed_by=NULL, claimed_until=NULL WHERE id=$2 AND state='pending' RETURNING true",
            error,
            row.id,
        )
        return bool(done)

    async def delivered_ids(self, platform: str, since: datetime) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT delivered_id FROM outbox WHERE state='delivered' AND platform=$1 AND delivered_at >= $2",
            platform,
            since,
        )
        return {str(r["delivered_id"]) for r in rows if r["delivered_id"] is not None}
