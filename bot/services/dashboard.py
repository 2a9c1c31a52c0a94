"""What the web dashboard shows, read in one place: the queue page, a ticket's whole story, the reports
and the knowledge base. Pages only read here; every change goes through `Desk.run` as command text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import records
from bot.domain.incident import Incident, IncidentUpdate
from bot.domain.ticket import Ticket
from bot.ports import UnitOfWork
from bot.records import COUNT_CAP, ArticleStats, Learned, LoggedMessage, QueueFilter, Version
from bot.services import followups
from bot.services.desk_context import DeskContext
from bot.services.history_text import describe_event
from kb.article import Article


@dataclass(frozen=True)
class QueuePage:
    tickets: list[Ticket]
    total: int
    sla: dict[int, str]  # ticket number → "at_risk" | "breached"
    stamp: str
    filter: QueueFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))

    @property
    def shown_total(self) -> str:
        """The number of matching tickets; past the counting cap, "10,000+"."""
        capped = self.total > COUNT_CAP
        return f"{COUNT_CAP:,}+" if capped else f"{self.total:,}"


async def queue(ctx: DeskContext, f: QueueFilter) -> QueuePage:
    async with ctx.store.reading() as uow:
        stamp = await uow.web.change_stamp()
        found, total = await uow.web.queue_page(f)
        flags = await uow.web.sla_flags([t.number for t in found if t.status.is_active])
    return QueuePage(found, total, flags, stamp, f)


async def stamp(ctx: DeskContext) -> str:
    async with ctx.store.reading() as uow:
        return await uow.web.change_stamp()


@dataclass(frozen=True)
class FilterChoices:
    categories: list[str]
    assignees: list[tuple[str, str]]
    tags: list[str]


async def filter_choices(ctx: DeskContext) -> FilterChoices:
    async with ctx.store.reading() as uow:
        categories, assignees, tags = await uow.web.choices()
    configured = [ctx.intake.default_category, *(r.category for r in ctx.intake.rules if r.category)]
    return FilterChoices(sorted({*categories, *configured}), assignees, tags)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str
    text: str
    kind: str


@dataclass(frozen=True)
class SuggestionLine:
    article: str
    title: str
    score: float
    summary: str


@dataclass(frozen=True)
class LinkedIncident:
    """The incident a ticket is linked to, as the ticket page shows it."""

    incident: Incident
    linked_tickets: int
    latest_update: IncidentUpdate | None


@dataclass(frozen=True)
class TicketStory:
    ticket: Ticket
    history: list[HistoryLine]
    messages: list[LoggedMessage]
    sla: str
    suggested_at_open: list[str]
    suggestions: list[SuggestionLine]
    escalated: bool
    incident: LinkedIncident | None = None


async def ticket_story(ctx: DeskContext, number: int) -> TicketStory | None:
    now = ctx.clock.now()
    async with ctx.store.reading() as uow:
        t = await uow.tickets.get_ticket(number)
        if t is None:
            return None
        events = await uow.history.events_for(number)
        log = await uow.messages.messages_for(number)
        sla = await followups.sla_line(ctx, uow, t, now) if t.status.is_active else ""
        offered = await uow.articles.suggested_for(number)
        incident = await _linked_incident(uow, number)
    found = ctx.kb.suggest(f"{t.subject}\n{t.description}", limit=3)
    suggestions = [
        SuggestionLine(s.article.id, s.article.title, round(s.score, 1), s.article.summary(160)) for s in found
    ]
    history = [HistoryLine(e.at, e.actor.display, describe_event(e), e.kind) for e in events]
    return TicketStory(t, history, log, sla, offered, suggestions, "escalated" in t.tags, incident)


async def _linked_incident(uow: UnitOfWork, number: int) -> LinkedIncident | None:
    incident_id = await uow.incidents.incident_of_ticket(number)
    incident = await uow.incidents.get_incident(incident_id) if incident_id is not None else None
    if incident is None:
        return None
    linked = await uow.incidents.linked_tickets(incident.id)
    return LinkedIncident(incident, len(linked), await uow.incidents.latest_public_update(incident.id))


async def transcript(ctx: DeskContext, number: int) -> tuple[Ticket, list[LoggedMessage]] | None:
    """The ticket and its whole message log, in order (internal notes included, marked by the page)."""
    async with ctx.store.reading() as uow:
        t = await uow.tickets.get_ticket(number)
        if t is None:
            return None
        return t, await uow.messages.messages_for(number)


@dataclass(frozen=True)
class ReportData:
    report: records.Report
    previous: records.Report
    daily: records.Daily


async def report(ctx: DeskContext, span: timedelta) -> ReportData:
    until = ctx.clock.now()
    since = until - span
    async with ctx.store.reading() as uow:
        now = await uow.reports.report(since, until)
        before = await uow.reports.report(since - span, since)
        daily = await uow.reports.per_day(until, days=max(1, min(90, span.days or 1)))
    return ReportData(now, before, daily)


async def article_stats(ctx: DeskContext) -> list[ArticleStats]:
    async with ctx.store.reading() as uow:
        return await uow.articles.stats()


@dataclass(frozen=True)
class ArticlePage:
    article: Article
    stats: ArticleStats | None
    learned: list[Learned]
    versions: list[Version]


async def article(ctx: DeskContext, article_id: str) -> ArticlePage | None:
    async with ctx.store.reading() as uow:
        found = await uow.articles.get_article(article_id)
        if found is None:
            return None
        stats = next((s for s in await uow.articles.stats() if s.article == article_id), None)
        return ArticlePage(
            found, stats, await uow.articles.learned(article_id), await uow.articles.versions(article_id)
        )


def flatten(data: dict[str, object], prefix: str = "") -> Sequence[tuple[str, object]]:
    """The report's JSON as `metric,value` rows (the same shape as `threaddesk report --format csv`)."""
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, name + ".")
        else:
            rows.append((name, "" if value is None else value))
    return rows
