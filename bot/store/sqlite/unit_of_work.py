"""The repositories of one SQLite connection, as the core's `UnitOfWork` sees them."""

from __future__ import annotations

import sqlite3

from bot.store.sqlite.articles import SqliteArticles
from bot.store.sqlite.catch_up import SqliteCatchUp
from bot.store.sqlite.csat import SqliteCsat
from bot.store.sqlite.inbound import SqliteInbound
from bot.store.sqlite.incidents import SqliteIncidents
from bot.store.sqlite.lease import SqliteLeases
from bot.store.sqlite.macros import SqliteMacros
from bot.store.sqlite.ops_stats import SqliteOpsStats
from bot.store.sqlite.outbox import SqliteOutbox
from bot.store.sqlite.privacy import SqlitePrivacy
from bot.store.sqlite.recent_tickets import SqliteRecentTickets
from bot.store.sqlite.reports import SqliteReports
from bot.store.sqlite.routing import SqliteRouting
from bot.store.sqlite.sla import SqliteSla
from bot.store.sqlite.tickets import SqliteHistory, SqliteMessages, SqlitePeople, SqliteTickets
from bot.store.sqlite.timers import SqliteTimers
from bot.store.sqlite.web import SqliteWeb
from bot.store.sqlite.webhook_deliveries import SqliteWebhookDeliveries


class SqliteUnitOfWork:
    """Stateless repositories over one connection; built once per connection and reused for every unit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.tickets = SqliteTickets(conn)
        self.history = SqliteHistory(conn)
        self.messages = SqliteMessages(conn)
        self.people = SqlitePeople(conn)
        self.inbound = SqliteInbound(conn)
        self.recent_tickets = SqliteRecentTickets(conn)
        self.outbox = SqliteOutbox(conn)
        self.timers = SqliteTimers(conn)
        self.sla = SqliteSla(conn)
        self.csat = SqliteCsat(conn)
        self.articles = SqliteArticles(conn)
        self.macros = SqliteMacros(conn)
        self.routing = SqliteRouting(conn)
        self.incidents = SqliteIncidents(conn)
        self.web = SqliteWeb(conn)
        self.webhook_deliveries = SqliteWebhookDeliveries(conn)
        self.privacy = SqlitePrivacy(conn)
        self.leases = SqliteLeases(conn)
        self.ops_stats = SqliteOpsStats(conn)
        self.reports = SqliteReports(conn)
        self.catch_up = SqliteCatchUp(conn)
