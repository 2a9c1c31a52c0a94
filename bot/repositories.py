"""What the core asks of a store, one protocol per repository. `bot.store.sqlite` implements them over SQLite;
every engine implements them with the same records (`bot.records`) and the same meaning."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.macros import Macro
from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.sla import Due, Level, ResolutionClock, Target
from bot.domain.ticket import Priority, Ticket
from bot.outbound import Destination, Message
from bot.records import (
    ArticleStats,
    Conversation,
    Daily,
    Delivery,
    Erasure,
    Event,
    Holder,
    IncidentReport,
    IncidentStats,
    Job,
    Learned,
    LinkRow,
    LoggedMessage,
    LoggedUpdate,
    OutboxRow,
    QueueFilter,
    Report,
    SessionRow,
    StoredClock,
    Survey,
    TakenIn,
    TicketQuery,
    Timer,
    Version,
    WaitingMessage,
)
from bot.telemetry import DeskStats
from kb.article import Article


class TicketsRepository(Protocol):
    async def insert_ticket(
        self,
        *,
        subject: str,
        description: str,
        customer: UserRef,
        origin: ThreadRef,
        priority: Priority,
        category: str,
        at: datetime,
    ) -> Ticket: ...

    async def save_ticket(self, ticket: Ticket) -> None:
        """Write back every field a command may change."""
        ...

    async def save_card(self, number: int, card: MessageRef) -> None: ...

    async def set_origin_thread(self, number: int, thread: str) -> None: ...

    async def get_ticket(self, number: int) -> Ticket | None: ...

    async def ticket_for_thread(self, thread: ThreadRef) -> tuple[Ticket, bool] | None:
        """The ticket whose customer thread (False) or queue-card thread (True) this is."""
        ...

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Queue order: most urgent first, then oldest first."""
        ...

    async def count_active_for_customer(self, customer: UserRef) -> int: ...


class HistoryRepository(Protocol):
    async def add_event(self, ticket: int, at: datetime, actor: UserRef, kind: str, **detail: Any) -> None: ...

    async def events_for(self, ticket: int) -> list[Event]: ...


class MessagesRepository(Protocol):
    async def add_message(
        self,
        ticket: int,
        at: datetime,
        author: UserRef,
        *,
        role: str,
        visibility: str,
        body: str,
        delivery: str,
        platform_message_id: str | None = None,
    ) -> int: ...

    async def messages_for(self, ticket: int, *, public_only: bool = False) -> list[LoggedMessage]: ...


class PeopleRepository(Protocol):
    async def remember_person(self, user: UserRef, at: datetime) -> None: ...

    async def find_person(self, platform: str, token: str) -> UserRef | None:
        """A person by id, or by display name (case-insensitive), among people seen on `platform`."""
        ...


class InboundRepository(Protocol):
    async def taken_in(self, platform: str, message_id: str) -> TakenIn | None:
        """None when the desk has never taken this message in."""
        ...

    async def claim_inbound(self, platform: str, message_id: str, at: datetime) -> bool:
        """True the first time a platform message id is seen; False for a re-delivery."""
        ...

    async def accept(self, platform: str, message_id: str, payload: str, at: datetime) -> bool:
        """Keep a message until it is handled. False when it was handled already or is waiting already
        (a redelivery): nothing to do."""
        ...

    async def settle(self, platform: str, message_id: str) -> None:
        """The message is being handled in this unit of work: it leaves the inbox when the unit commits."""
        ...

    async def waiting(self, limit: int = 500) -> list[WaitingMessage]:
        """Messages kept but not handled yet, in arrival order; each read counts as an attempt."""
        ...

    async def give_up(self, platform: str, message_id: str, at: datetime) -> None:
        """A message that failed every attempt: recorded as handled (the log says so), so it stops coming back."""
        ...

    async def depth(self) -> tuple[int, datetime | None]:
        """How many messages wait, and since when the oldest has."""
        ...


class RecentTicketsRepository(Protocol):
    async def latest_active(self, customer: UserRef) -> Ticket | None:
        """The customer's most recently updated ticket that is not resolved or closed."""
        ...

    async def latest_resolved_since(self, customer: UserRef, since: datetime) -> Ticket | None:
        """The customer's most recently resolved ticket, resolved (and still resolved or closed) at `since` or later."""
        ...


class OutboxRepository(Protocol):
    async def enqueue(
        self,
        destination: Destination,
        message: Message,
        *,
        at: datetime,
        ticket: int | None = None,
        log_message: int | None = None,
        coalesce: bool = True,
    ) -> int: ...

    async def due(self, now: datetime, *, platforms: Sequence[str], limit: int = 200) -> list[OutboxRow]:
        """The oldest pending row of each ordering key, if it is due: later rows wait their turn."""
        ...

    async def next_attempt_at(self, *, platforms: Sequence[str]) -> datetime | None: ...

    async def pending_count(self) -> int: ...

    async def mark_sending(self, row: OutboxRow, at: datetime) -> None:
        """The post is being handed to the platform: until its answer is recorded, its outcome is unknown. An
        earlier attempt whose outcome is still unknown keeps its moment (`sending_since`): the post may be that
        attempt's, so the look starts there, and a nonce the platform keeps for minutes is trusted only from
        then — never from a later attempt in a chain of unknown ones."""
        ...

    async def mark_delivered(self, row: OutboxRow, at: datetime, delivered_id: str) -> bool:
        """False when the row changed while it was being sent (a newer card): it stays pending."""
        ...

    async def mark_retry(self, row: OutboxRow, next_at: datetime, error: str, *, outcome_unknown: bool = False) -> None:
        """Try again at `next_at`. With `outcome_unknown` (no answer came) the post may exist: the next attempt
        looks for it first."""
        ...

    async def mark_failed(self, row: OutboxRow, error: str) -> bool:
        """False when the row was no longer pending: another attempt failed or delivered it first."""
        ...

    async def delivered_ids(self, platform: str, since: datetime) -> set[str]:
        """The platform's ids of the posts delivered on `platform` from `since` on (of a split post, its first
        part): a post whose outcome is unknown is none of these, however alike it looks."""
        ...


class TimersRepository(Protocol):
    async def apply(
        self, ticket: int, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
    ) -> None:
        """Arm (or move) `arm`, arm `keep` unless already armed, and clear `clear` — few round trips."""
        ...

    async def clear_timers(self, ticket: int, kinds: tuple[str, ...]) -> None: ...

    async def reschedule(self, timer: Timer, due_at: datetime) -> None: ...

    async def due_timers(self, now: datetime, limit: int = 500) -> list[Timer]: ...

    async def next_due(self) -> datetime | None: ...

    async def ensure_job(self, name: str, kind: str, spec: dict[str, Any], first_due: datetime) -> None:
        """Create the job if it is new; an existing job keeps its due moment (that is what survives restarts)."""
        ...

    async def drop_jobs_except(self, kind: str, keep: set[str]) -> None: ...

    async def due_jobs(self, now: datetime) -> list[Job]: ...

    async def job_done(self, job: Job, ran_at: datetime, next_due: datetime) -> bool:
        """Move a job that ran to its next moment. False when someone else already moved it (never run twice)."""
        ...

    async def last_digest_run(self, platform: str, channel: str) -> datetime | None:
        """When a scheduled digest for this channel last ran (any of its schedules)."""
        ...

    async def still_armed(self, timer: Timer) -> bool:
        """The timer is still set as it was read (not moved or cleared since)."""
        ...


class SlaRepository(Protocol):
    async def get_clock(self, ticket: int) -> StoredClock | None: ...

    async def save_clock(self, ticket: int, clock: ResolutionClock, due: Due) -> None: ...

    async def load(self, ticket: int) -> tuple[StoredClock | None, set[tuple[str, str]]]:
        """The clock and the alerts already fired, in one round trip (this runs on every ticket change)."""
        ...

    async def record_alert(
        self, ticket: int, target: Target, level: Level, due_at: datetime, fired_at: datetime, late: bool
    ) -> bool:
        """True the first time; False when this alert already fired (so it is never posted twice)."""
        ...


class CsatRepository(Protocol):
    async def ask(self, ticket: int, at: datetime) -> bool:
        """Record that the survey goes out; False when this ticket was already asked (never twice)."""
        ...

    async def get(self, ticket: int) -> Survey | None: ...

    async def rate(self, ticket: int, rating: int, comment: str | None, at: datetime) -> None: ...


class ArticlesRepository(Protocol):
    async def bump_revision(self) -> None: ...

    async def revision(self) -> int: ...

    async def save_article(self, article: Article, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update the authored fields. Returns the new version, or None when nothing changed."""
        ...

    async def get_article(self, article_id: str) -> Article | None: ...

    async def all_articles(self) -> list[Article]:
        """Every article with its learned aliases, ordered by id (two queries, whatever the KB size)."""
        ...

    async def count_articles(self) -> int: ...

    async def versions(self, article_id: str) -> list[Version]: ...

    async def learned(self, article_id: str) -> list[Learned]: ...

    async def learn(self, article_id: str, text: str, *, source: str, ticket: int | None, at: datetime) -> bool:
        """Keep a customer's wording as a learned alias. False when it adds nothing (empty, a duplicate of an
        authored or learned alias). Beyond the cap the oldest learned alias goes."""
        ...

    async def unlearn(self, article_id: str, positions: Sequence[int] | None) -> int:
        """Remove learned aliases by their 1-based position in `learned()`, or all of them (None)."""
        ...

    async def record_feedback(self, ticket: int | None, articles: Sequence[str], kind: str, at: datetime) -> None: ...

    async def suggested_for(self, ticket: int) -> list[str]: ...

    async def stats(self) -> list[ArticleStats]:
        """Per article: times suggested, accepted and rejected, and distinct tickets it helped resolve
        (accepted by the customer or cited by the resolving agent)."""
        ...


class MacrosRepository(Protocol):
    async def get(self, name: str, owner: str) -> Macro | None: ...

    async def visible(self, owner: str) -> list[Macro]:
        """Shared macros and `owner`'s own, most used first, then by name."""
        ...

    async def shared(self) -> list[Macro]: ...

    async def everything(self) -> list[Macro]: ...

    async def save(self, macro: Macro, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update; a new version only when the text or actions changed. Returns the version written
        (None: unchanged)."""
        ...

    async def rename(self, macro: Macro, new_name: str, *, actor: str, at: datetime) -> None: ...

    async def delete(self, macro: Macro, *, actor: str, at: datetime) -> None: ...

    async def versions(self, name: str, owner: str) -> list[tuple[int, datetime, str, str]]: ...

    async def usage(self, since: datetime, until: datetime, teams: Sequence[str] = ()) -> dict[str, int]:
        """Macro name → times applied in `[since, until)` (personal macros count under their name too); with
        `teams`, only on tickets of those teams."""
        ...

    async def used_on(self, limit_per_macro: int = 50) -> dict[str, list[str]]:
        """Shared macro name → subjects of the tickets it was applied to (latest first): what the suggester learns."""
        ...

    async def revision(self) -> tuple[int, int]:
        """Changes to shared macros and their uses: the suggester rebuilds when this moves."""
        ...

    async def suggestion_for(self, ticket: int) -> str | None: ...

    async def remember_suggestion(self, ticket: int, name: str) -> None: ...


class RoutingRepository(Protocol):
    async def set_team(self, ticket: int, team: str | None) -> None: ...

    async def team_of(self, ticket: int) -> str | None: ...

    async def open_load(self, platform: str, ids: Sequence[str]) -> dict[str, int]:
        """Open tickets assigned to each of `ids` on `platform` (every team's)."""
        ...

    async def away(self, platform: str, ids: Sequence[str], now: datetime) -> dict[str, datetime | None]:
        """Who of `ids` is away now, with until when (None: until they come back)."""
        ...

    async def set_away(self, person: UserRef, until: datetime | None, now: datetime) -> None: ...

    async def set_back(self, person: UserRef) -> bool: ...

    async def pointer(self, team: str) -> str | None: ...

    async def move_pointer(self, team: str, member: str, at: datetime) -> None: ...

    async def mark_unstaffed(self, team: str, at: datetime, ticket: int) -> bool:
        """True the first time since someone was last available: the leads are told once."""
        ...

    async def clear_unstaffed(self, team: str) -> None: ...

    async def unstaffed_since(self, team: str) -> datetime | None: ...

    async def waiting(self, team: str, limit: int = 50) -> list[int]:
        """The team's open unassigned tickets, oldest first."""
        ...

    async def open_assigned_to(self, person: UserRef) -> list[int]: ...

    async def team_counts(self, team: str) -> tuple[int, int]:
        """(open, of which unassigned) tickets of `team` now."""
        ...


class IncidentsRepository(Protocol):
    async def insert_incident(
        self, *, platform: str, title: str, owner: UserRef | None, source: str, rule: str | None, at: datetime
    ) -> Incident: ...

    async def save_incident(self, incident: Incident) -> None: ...

    async def save_card(self, incident: int, card: MessageRef) -> None: ...

    async def get_incident(self, incident: int) -> Incident | None: ...

    async def rule_of(self, incident: int) -> str | None: ...

    async def incident_for_card(self, platform: str, channel: str, message: str) -> Incident | None: ...

    async def list_incidents(
        self, *, open_only: bool, platform: str | None = None, limit: int = 50
    ) -> list[Incident]: ...

    async def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened or resolved in [start, end)."""
        ...

    async def link(self, incident: int, ticket: int, at: datetime, how: str) -> None: ...

    async def unlink(self, incident: int, ticket: int, at: datetime) -> bool: ...

    async def linked_tickets(self, incident: int) -> list[int]: ...

    async def ever_linked(self, incident: int) -> int: ...

    async def incident_of_ticket(self, ticket: int) -> int | None: ...

    async def member_texts(self, incident: int, limit: int = 20) -> list[str]:
        """What the linked customers wrote when they opened their tickets (the earliest `limit`)."""
        ...

    async def last_report_at(self, incident: int) -> datetime | None:
        """When the latest linked report arrived (the ticket's opening)."""
        ...

    async def first_report_at(self, incident: int) -> datetime | None: ...

    async def add_update(
        self, incident: int, at: datetime, author: UserRef, status: IncidentStatus, text: str, *, visibility: str
    ) -> None: ...

    async def updates_for(self, incident: int, *, public_only: bool) -> list[LoggedUpdate]: ...

    async def latest_public_update(self, incident: int) -> IncidentUpdate | None: ...

    async def add_negative(self, incident: int, ticket: int, text: str, at: datetime) -> None: ...

    async def negatives_for(self, incident: int) -> list[str]: ...

    async def record_report(
        self, ticket: int, platform: str, customer: str, at: datetime, text: str, rule: str | None, state: str
    ) -> None: ...

    async def free_reports(
        self, platform: str, since: datetime, *, exclude: int, state: str = "free", limit: int = 200
    ) -> list[IncidentReport]:
        """The latest `limit` reports since `since` that belong to no incident, proposal or dismissal yet (or
        in `state`), oldest first."""
        ...

    async def set_report_state(self, tickets: Sequence[int], state: str) -> None: ...

    async def recent_report_texts(self, limit: int) -> list[str]:
        """The background corpus for word rarity after a restart."""
        ...

    async def all_proposed(self, numbers: list[int]) -> bool:
        """Every one of these tickets is a report waiting in a detection proposal."""
        ...


class WebRepository(Protocol):
    async def insert_link(self, link_id: str, user: UserRef, at: datetime, expires_at: datetime) -> None: ...

    async def get_link(self, link_id: str) -> LinkRow | None: ...

    async def use_link(self, link_id: str, at: datetime) -> bool:
        """Mark the link used; False when it already was (two tabs racing: exactly one wins)."""
        ...

    async def insert_session(
        self, token_hash: str, user: UserRef, csrf: str, at: datetime, expires_at: datetime, user_agent: str
    ) -> None: ...

    async def get_session(self, token_hash: str) -> SessionRow | None: ...

    async def sessions(self, user: UserRef | None = None) -> list[SessionRow]: ...

    async def revoke(self, at: datetime, *, token_hash: str | None = None, user: UserRef | None = None) -> int:
        """Revoke one session, every session of one person, or (neither given) every session."""
        ...

    async def queue_page(self, f: QueueFilter) -> tuple[list[Ticket], int]:
        """One page of the filtered queue and the number of matching tickets."""
        ...

    async def sla_flags(self, numbers: Sequence[int]) -> dict[int, str]:
        """`breached` or `at_risk` per ticket among `numbers` (open tickets only matter to the caller)."""
        ...

    async def change_stamp(self) -> str:
        """Moves whenever any ticket changes (every change writes an event or a message); O(1) on both keys."""
        ...

    async def choices(self) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """Categories, assignees (id, name) and tags that occur on open tickets, for the filter menus (read
        through the open-queue index: the closed history is never scanned)."""
        ...


class WebhookDeliveriesRepository(Protocol):
    async def list_deliveries(self, *, failed_only: bool = False, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        ...

    async def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    async def requeue(self, delivery_id: int, at: datetime) -> int | None:
        """A new pending delivery with the same body (so the same `webhook-id`); the old row stays as it was."""
        ...

    async def pending_row(self, delivery_id: int) -> OutboxRow | None: ...


class PrivacyRepository(Protocol):
    async def person_data(self, platform: str, user_id: str) -> dict[str, Any]:
        """Everything stored about `platform:user_id`: their profile, their tickets with history, messages
        and rating, what they wrote in other tickets, and the KB wordings learned from their tickets."""
        ...

    async def erase_person(self, platform: str, user_id: str, *, apply: bool) -> Erasure:
        """Erase what `platform:user_id` wrote and their name. With `apply=False` only counts (a dry run)."""
        ...

    async def purge_closed(self, closed_before: datetime) -> list[int]:
        """Retention: erase message texts (and subject, description, rating comment, sent posts) of tickets
        closed before `closed_before`. Returns the tickets purged now (already purged ones are skipped)."""
        ...


class LeasesRepository(Protocol):
    async def current(self, role: str) -> Holder | None: ...

    async def take(self, role: str, claimant: Holder, now: datetime) -> Holder | None:
        """Take `role` for `claimant` (inside a write transaction). Returns the live holder that stops us, or
        None when the lease is now ours."""
        ...

    async def renew(self, role: str, token: str, expires: datetime) -> bool:
        """Push our lease's expiry forward; False when it is no longer ours (we stalled and someone took it)."""
        ...

    async def release(self, role: str, token: str) -> None: ...


class OpsStatsRepository(Protocol):
    async def last_event_id(self) -> int: ...

    async def count_openings(self, stats: DeskStats, after_id: int, upto_id: int) -> None:
        """Add the tickets opened (priority when opened) and resolved (current priority) among the history events
        with ids in (after_id, upto_id] to `stats` — a range scan on the primary key, so a scrape only reads the
        events since the previous one."""
        ...

    async def read_stats(self, now: datetime) -> DeskStats:
        """The cheap part of a scrape: gauges and small tables (openings and resolutions: `count_openings`)."""
        ...

    async def oldest_pending(self, platforms: tuple[str, ...]) -> datetime | None:
        """When the oldest post still waiting for one of `platforms` was written."""
        ...

    async def schema_version(self) -> int: ...

    async def pending_count(self) -> int: ...


class ReportsRepository(Protocol):
    async def report(self, since: datetime, until: datetime, *, oldest: int = 5, team: str | None = None) -> Report:
        """All metrics for `[since, until)` (of one team's tickets when `team` is given); open-queue figures
        are as of now (the moment of the query)."""
        ...

    async def per_day(self, until: datetime, days: int = 14) -> Daily:
        """Created vs resolved per UTC day over the last `days` days up to `until` (for the chart)."""
        ...

    async def incidents(self, since: datetime, until: datetime) -> IncidentStats: ...


class CatchUpRepository(Protocol):
    async def read_marks(self, platform: str) -> dict[str, str]:
        """How far the desk has read each conversation (channel, thread or DM) of a platform: every message
        there up to this position (a Discord message id, a Slack `ts`) was taken in."""
        ...

    async def advance(self, platform: str, marks: dict[str, str], at: datetime) -> None:
        """Move read marks forward (never back: a position not after the stored one changes nothing).
        Positions compare as the platforms write them: decimal numbers, longer is later, then text order."""
        ...

    async def open_conversations(self, platform: str, limit: int) -> list[Conversation]:
        """The conversations of the platform's tickets that are not closed (a customer may still write there),
        most recently updated first."""
        ...
