"""What the core needs from the outside world, as protocols. Adapters and tests implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from bot.domain.refs import MessageRef, UserRef
from bot.domain.roles import Role
from bot.outbound import Message
from bot.records import TableRows
from bot.repositories import (
    ArticlesRepository,
    CatchUpRepository,
    CsatRepository,
    HistoryRepository,
    InboundRepository,
    IncidentsRepository,
    LeasesRepository,
    MacrosRepository,
    MessagesRepository,
    OpsStatsRepository,
    OutboxRepository,
    PeopleRepository,
    PrivacyRepository,
    RecentTicketsRepository,
    ReportsRepository,
    RoutingRepository,
    SlaRepository,
    TicketsRepository,
    TimersRepository,
    WebhookDeliveriesRepository,
    WebRepository,
)


class DeliveryError(Exception):
    """A platform could not take a post. The outbox decides whether to try again."""


class RetryLater(DeliveryError):
    """Rate limited (429) or a temporary failure (5xx, timeout): try again, after `retry_after` if given."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        rate_limited: bool = False,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.rate_limited = rate_limited  # an HTTP 429 (counted in /metrics)
        #: no answer came (a timeout, a dropped connection): the platform may have taken the post
        self.outcome_unknown = outcome_unknown


class DeliveryRefused(DeliveryError):
    """The platform said no for good (unknown channel, missing scope): retrying will not help.

    The message is for whoever runs the bot (the platform's error and what to fix); `plain` says why in words
    any agent follows ("they accept no direct messages from this server's members"), for the line that stands
    in for a refused post (`Fallback`)."""

    def __init__(self, reason: str, *, plain: str | None = None) -> None:
        super().__init__(reason)
        self.plain = plain or "the platform refused it"


@dataclass(frozen=True)
class PostLookup:
    """What `ChatPlatform.find_post` looks for: the post an earlier attempt may have made, its outcome unknown
    (the process died, or the request timed out, between sending and hearing back).

    `channel`, `thread` (the thread's root, when it was a reply) and `nonce`: where it was posted and the
    outbox's mark on it. `since`: when that attempt began — the post, if it exists, is not older. `message`:
    what it posted, for a platform that keeps no trace of the nonce and must recognise the post by what it
    shows (Discord after its nonce window). `others`: ids of posts other outbox rows are recorded to have made
    since then (less an hour) — never this one, however alike (the same reply twice in a thread)."""

    channel: str
    nonce: str
    thread: str | None = None
    since: datetime | None = None
    message: Message | None = None
    others: Collection[str] = ()


class ChatPlatform(Protocol):
    """Outbound side of one chat platform. `name` matches `UserRef.platform` of its people."""

    name: str

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        """Post at top level, or as a reply in `thread` (the id of the thread's root message)."""
        ...

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        """Edit a message the bot posted earlier (the queue card)."""
        ...

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """Our post `lookup` describes, if the platform has it; asked before posting again. Look at everything
        posted from `lookup.since` on (less a margin for clock skew), however many posts that is, never just
        the latest N. A platform that recognises posts by what they show and split this one into parts posts
        the parts that are missing before answering. A platform that refuses a second post with the same
        nonce by itself (e-mail receivers by Message-ID) answers None. Raises `RetryLater` when it could not
        look."""
        ...


@runtime_checkable
class DirectMessages(Protocol):
    """A platform that can write to one person directly (a DM) and link to a message it posted. The delivery
    worker uses it for `DestinationKind.DIRECT` posts (the assignee's note with the card link)."""

    async def direct_channel(self, user_id: str) -> str:
        """The id of the bot's direct conversation with `user_id`, opened when there is none yet."""
        ...

    async def link_to(self, ref: MessageRef) -> str | None:
        """A web address that opens `ref` for people who can see it (None: the platform has none)."""
        ...


class RoleSource(Protocol):
    """Extra role information a platform knows (Slack user groups, Discord guild roles)."""

    def role_of(self, user: UserRef) -> Role | None: ...


class GroupMembers(Protocol):
    """The people in groups a platform keeps — Slack user groups, Discord roles — as it last told: a team whose
    `members` name `slack:group:S0123` or `discord:role:1234` has these people as members."""

    @property
    def platform(self) -> str: ...

    def members_of(self, group: str) -> Sequence[str]:
        """User ids in `group` (`group:S0123`, `role:1234`), in a stable order; empty while unknown."""
        ...


class PeopleNames(Protocol):
    """How a platform names a person its events give only an id for (a Slack event carries no name). The desk
    asks when it handles a kept message after a restart, so that ticket is not opened for "U0123"."""

    @property
    def platform(self) -> str: ...

    async def person(self, user_id: str, hint: str = "") -> UserRef: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class StoreUnavailable(RuntimeError):
    """The database cannot be used as it is; the message is one line that names the fix."""


class SchemaTooNew(StoreUnavailable):
    pass


class UnitOfWork(Protocol):
    """The repositories one unit of work reads and writes through. Inside `Store.transaction()` everything
    done through them is stored together or not at all; inside `Store.reading()` they only read."""

    @property
    def tickets(self) -> TicketsRepository: ...
    @property
    def history(self) -> HistoryRepository: ...
    @property
    def messages(self) -> MessagesRepository: ...
    @property
    def people(self) -> PeopleRepository: ...
    @property
    def inbound(self) -> InboundRepository: ...
    @property
    def recent_tickets(self) -> RecentTicketsRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def timers(self) -> TimersRepository: ...
    @property
    def sla(self) -> SlaRepository: ...
    @property
    def csat(self) -> CsatRepository: ...
    @property
    def articles(self) -> ArticlesRepository: ...
    @property
    def macros(self) -> MacrosRepository: ...
    @property
    def routing(self) -> RoutingRepository: ...
    @property
    def incidents(self) -> IncidentsRepository: ...
    @property
    def web(self) -> WebRepository: ...
    @property
    def webhook_deliveries(self) -> WebhookDeliveriesRepository: ...
    @property
    def privacy(self) -> PrivacyRepository: ...
    @property
    def leases(self) -> LeasesRepository: ...
    @property
    def ops_stats(self) -> OpsStatsRepository: ...
    @property
    def reports(self) -> ReportsRepository: ...
    @property
    def catch_up(self) -> CatchUpRepository: ...


class Store(Protocol):
    """A database engine behind the core (cosmicpython's unit-of-work port). Services receive units of work
    from it, never a connection."""

    engine: str  # "sqlite" | "postgresql"

    @property
    def location(self) -> str:
        """Where the data lives, safe to log (a path, or a URL with its password masked)."""
        ...

    def transaction(self, *, first: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        """One unit of work: stored when the block ends without an exception — and the block's caller goes
        on only once it is stored — or rolled back on any exception.

        `first=True` is for a small unit a platform's acknowledgement waits on (keeping an inbound event,
        `Desk.accept`): it goes ahead of the ordinary units waiting for the database, so an acknowledgement
        never queues behind the handling backlog. Everything else about a unit stays as it is."""
        ...

    def reading(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Reads of what is committed; they never wait for a unit of work in progress."""
        ...

    def exclusive(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Work one process of the desk does for all (building a scheduled digest, seconds of CPU that every
        process would otherwise spend on a result only one of them posts): the block gets True when this
        process holds `key` until the block ends, or False at once when another holder has it now. A holder
        that dies lets go. It saves duplicate work only: what must happen once is still decided by the unit
        of work that records it (`TimersRepository.job_done`)."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every commit (wakes the delivery worker)."""
        ...

    def on_notice(self, topic: str, callback: Callable[[], None]) -> None:
        """Run `callback` when another process announces a change of `topic` ("kb": the articles). An engine
        without such announcements (SQLite) never runs it; readers there poll."""
        ...

    async def schema_version(self) -> int: ...

    async def migrate(self) -> list[int]: ...

    async def integrity_problems(self, *, full: bool = False) -> list[str]: ...

    def dump_table(self, table: str, batch: int) -> AsyncIterator[TableRows]:
        """A table's rows in the portable form, `batch` at a time, in key order (`threaddesk db copy`)."""
        ...

    async def load_table(self, table: str, rows: TableRows) -> None:
        """Insert rows in the portable form (columns this engine lacks are left out)."""
        ...

    async def count_rows(self, table: str) -> int: ...

    async def clear_table(self, table: str) -> None: ...

    async def after_load(self) -> None:
        """After a copy: number sequences continue after the highest number copied."""
        ...

    async def compact_log(self) -> None:
        """Make erased text unrecoverable from the engine's logs (SQLite: truncate the WAL)."""
        ...
