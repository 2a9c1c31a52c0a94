"""The repositories of one pooled PostgreSQL connection, as the core's `UnitOfWork` sees them."""

from __future__ import annotations

import asyncpg

from bot.store.postgres.articles import PgArticles
from bot.store.postgres.catch_up import PgCatchUp
from bot.store.postgres.csat import PgCsat
from bot.store.postgres.inbound import PgInbound
from bot.store.postgres.incidents import PgIncidents
from bot.store.postgres.lease import PgLeases
from bot.store.postgres.macros import PgMacros
from bot.store.postgres.ops_stats import PgOpsStats
from bot.store.postgres.outbox import PgOutbox
from bot.store.postgres.privacy import PgPrivacy
from bot.store.postgres.recent_tickets import PgRecentTickets
from bot.store.postgres.reports import PgReports
from bot.store.postgres.routing import PgRouting
from bot.store.postgres.sla import PgSla
from bot.store.postgres.tickets import PgHistory, PgMessages, PgPeople, PgTickets
from bot.store.postgres.timers import PgTimers
from bot.store.postgres.web import PgWeb
from bot.store.postgres.webhook_deliveries import PgWebhookDeliveries


class PostgresUnitOfWork:
    """Repositories over one connection for one unit of work (built per unit: they are a few small objects).
    `writing` units lock what they read to change; `claimant` names this store's outbox claims (see
    `bot.store.postgres.engine`)."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool, claimant: str) -> None:
        self.tickets = PgTickets(conn, writing=writing)
        self.history = PgHistory(conn, writing=writing)
        self.messages = PgMessages(conn, writing=writing)
        self.people = PgPeople(conn, writing=writing)
        self.inbound = PgInbound(conn, writing=writing)
        self.recent_tickets = PgRecentTickets(conn, writing=writing)
        self.outbox = PgOutbox(conn, writing=writing, claimant=claimant)
        self.timers = PgTimers(conn, writing=writing)
        self.sla = PgSla(conn, writing=writing)
        self.csat = PgCsat(conn, writing=writing)
        self.articles = PgArticles(conn, writing=writing)
        self.macros = PgMacros(conn, writing=writing)
        self.routing = PgRouting(conn, writing=writing)
        self.incidents = PgIncidents(conn, writing=writing)
        self.web = PgWeb(conn, writing=writing)
        self.webhook_deliveries = PgWebhookDeliveries(conn, writing=writing)
        self.privacy = PgPrivacy(conn, writing=writing)
        self.leases = PgLeases(conn, writing=writing)
        self.ops_stats = PgOpsStats(conn, writing=writing)
        self.reports = PgReports(conn, writing=writing)
        self.catch_up = PgCatchUp(conn, writing=writing)
