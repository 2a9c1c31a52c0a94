"""What the web dashboard shows, read in one place: the queue page, a ticket's whole story, the reports
and the knowledge base. Pages only read here; every change goes through `Desk.run` as command text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.ticket import Ticket
from bot.services import followups, metrics
from bot.services.context import DeskContext
from bot.services.queries import describe_event
from bot.store import articles, tickets
from bot.store import web as web_store
from bot.store.articles import ArticleStats, Learned, Version
from bot.store.tickets import LoggedMessage
from bot.store.web import QueueFilter
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
        capped = self.total > web_store.COUNT_CAP
        return f"{web_store.COUNT_CAP:,}+" if capped else f"{self.total:,}"


async def queue(ctx: DeskContext, f: QueueFilter) -> QueuePage:
    async with ctx.db.reading() as conn:
        stamp = await web_store.change_stamp(conn)
        found, total = await web_store.queue_page(conn, f)
        flags = await web_store.sla_flags(conn, [t.number for t in found if t.status.is_active])
    return QueuePage(found, total, flags, stamp, f)


async def stamp(ctx: DeskContext) -> str:
    async with ctx.db.reading() as conn:
        return await web_store.change_stamp(conn)


@dataclass(frozen=True)
class FilterChoices:
    categories: list[str]
    assignees: list[tuple[str, str]]
    tags: list[str]


async def filter_choices(ctx: DeskContext) -> FilterChoices:
    async with ctx.db.reading() as conn:
        categories, assignees, tags = await web_store.choices(conn)
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
class TicketStory:
    ticket: Ticket
    history: list[HistoryLine]
    messages: list[LoggedMessage]
    sla: str
    suggested_at_open: list[str]
    suggestions: list[SuggestionLine]
    escalated: bool


async def ticket_story(ctx: DeskContext, number: int) -> TicketStory | None:
    now = ctx.clock.now()
    async with ctx.db.reading() as conn:
        t = await tickets.get_ticket(conn, number)
        if t is None:
            return None
        events = await tickets.events_for(conn, number)
        log = await tickets.messages_for(conn, number)
        sla = await followups.sla_line(ctx, conn, t, now) if t.status.is_active else ""
        offered = await articles.suggested_for(conn, number)
    found = ctx.kb.suggest(f"{t.subject}\n{t.description}", limit=3)
    suggestions = [
        SuggestionLine(s.article.id, s.article.title, round(s.score, 1), s.article.summary(160)) for s in found
    ]
    history = [HistoryLine(e.at, e.actor.display, describe_event(e), e.kind) for e in events]
    return TicketStory(t, history, log, sla, offered, suggestions, "escalated" in t.tags)


async def transcript(ctx: DeskContext, number: int) -> tuple[Ticket, list[LoggedMessage]] | None:
    """The ticket and its whole message log, in order (internal notes included, marked by the page)."""
    async with ctx.db.reading() as conn:
        t = await tickets.get_ticket(conn, number)
        if t is None:
            return None
        return t, await tickets.messages_for(conn, number)


@dataclass(frozen=True)
class ReportData:
    report: metrics.Report
    previous: metrics.Report
    daily: metrics.Daily


async def report(ctx: DeskContext, span: timedelta) -> ReportData:
    until = ctx.clock.now()
    since = until - span
    async with ctx.db.reading() as conn:
        now = await metrics.compute(conn, since, until)
        before = await metrics.compute(conn, since - span, since)
        daily = await metrics.per_day(conn, until, days=max(1, min(90, span.days or 1)))
    return ReportData(now, before, daily)


async def article_stats(ctx: DeskContext) -> list[ArticleStats]:
    async with ctx.db.reading() as conn:
        return await articles.stats(conn)


@dataclass(frozen=True)
class ArticlePage:
    article: Article
    stats: ArticleStats | None
    learned: list[Learned]
    versions: list[Version]


async def article(ctx: DeskContext, article_id: str) -> ArticlePage | None:
    async with ctx.db.reading() as conn:
        found = await articles.get_article(conn, article_id)
        if found is None:
            return None
        stats = next((s for s in await articles.stats(conn) if s.article == article_id), None)
        return ArticlePage(
            found, stats, await articles.learned(conn, article_id), await articles.versions(conn, article_id)
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
