"""Prometheus metrics (the official `prometheus-client`), on a registry of our own.

Two kinds. What only the running process sees (deliveries, 429s, latencies, scheduler lag) is counted
where it happens, in the functions below. What the database already knows (tickets opened and resolved,
SLA alerts, KB feedback, inbox and outbox depth and age) is read from it at scrape time by `DeskCollector`: exact,
and it survives restarts, so rates in Grafana do not jump when the bot is redeployed.
Every metric is documented in README.md ("Metrics").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

DELIVERIES = Counter(
    "threaddesk_deliveries",
    "Outbox deliveries by platform and result: ok, retried (will be tried again), failed (gave up).",
    ["platform", "result"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "threaddesk_rate_limited",
    "HTTP 429 answers (rate limits) the delivery worker was handed back by a platform.",
    ["platform"],
    registry=REGISTRY,
)
KB_SUGGEST_SECONDS = Histogram(
    "threaddesk_kb_suggest_seconds",
    "Time to rank knowledge-base suggestions for one new ticket.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    "threaddesk_command_seconds",
    "Time to run one command (slash command, button, console line), by command; 'message' is a chat message.",
    ["command"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SCHEDULER_LAG = Gauge(
    "threaddesk_scheduler_lag_seconds",
    "How late the scheduler's last tick ran the oldest timer or job that was due (0 when on time).",
    registry=REGISTRY,
)
SCHEDULER_TICKS = Counter(
    "threaddesk_scheduler_ticks", "Scheduler ticks run (SLA timers, auto-close, digests).", registry=REGISTRY
)
UNITS_IN_FLIGHT = Gauge(
    "threaddesk_units_in_flight",
    "Units of work being handled right now (chat messages, commands, buttons), counted by the process.",
    registry=REGISTRY,
)
UNIT_OLDEST = Gauge(
    "threaddesk_unit_oldest_age_seconds",
    "How long the oldest unit of work still being handled has been running (0 when none is).",
    registry=REGISTRY,
)


def delivery(platform: str, result: str) -> None:
    DELIVERIES.labels(platform=platform, result=result).inc()


def rate_limited(platform: str) -> None:
    RATE_LIMITED.labels(platform=platform).inc()


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)


@dataclass
class DeskStats:
    """What the database says, read once per scrape (see `bot.store.ops_stats.read_stats`)."""

    opened: dict[tuple[str, str], int] = field(default_factory=dict)  # (platform, priority when opened) → tickets
    resolved: dict[tuple[str, str], int] = field(default_factory=dict)  # (platform, priority now) → resolutions
    open_now: dict[str, int] = field(default_factory=dict)  # status → tickets
    sla_alerts: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, target) → alerts
    kb_feedback: dict[str, int] = field(default_factory=dict)  # suggested | accepted | rejected | cited → rows
    outbox_depth: dict[str, int] = field(default_factory=dict)  # platform → pending posts
    outbox_oldest_seconds: dict[str, float] = field(default_factory=dict)  # platform → age of the oldest
    outbox_failed: dict[str, int] = field(default_factory=dict)  # platform → posts given up on
    inbox_depth: int = 0  # chat messages kept in the durable inbox, not handled yet
    inbox_oldest_seconds: float = 0.0  # how long the oldest of them has waited


class DeskCollector(Collector):
    """Renders the last `DeskStats` the /metrics handler read."""

    def __init__(self) -> None:
        self.stats = DeskStats()

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        opened = CounterMetricFamily(
            "threaddesk_tickets_opened", "Tickets opened, by platform and priority.", labels=["platform", "priority"]
        )
        for (platform, priority), n in sorted(s.opened.items()):
            opened.add_metric([platform, priority], n)
        yield opened
        resolved = CounterMetricFamily(
            "threaddesk_tickets_resolved",
            "Resolutions (a reopened ticket resolved again counts again), by platform and current priority.",
            labels=["platform", "priority"],
        )
        for (platform, priority), n in sorted(s.resolved.items()):
            resolved.add_metric([platform, priority], n)
        yield resolved
        open_now = GaugeMetricFamily("threaddesk_tickets_open", "Tickets not resolved or closed.", labels=["status"])
        for status, n in sorted(s.open_now.items()):
            open_now.add_metric([status], n)
        yield open_now
        sla = CounterMetricFamily(
            "threaddesk_sla_alerts",
            "SLA alerts sent, by level (warning, breach) and target (first_response, resolution).",
            labels=["level", "target"],
        )
        for (level, target), n in sorted(s.sla_alerts.items()):
            sla.add_metric([level, target], n)
        yield sla
        kb = CounterMetricFamily(
            "threaddesk_kb_feedback",
            "Knowledge-base suggestions and what customers did with them (suggested, accepted, rejected, cited).",
            labels=["kind"],
        )
        for kind, n in sorted(s.kb_feedback.items()):
            kb.add_metric([kind], n)
        yield kb
        depth = GaugeMetricFamily("threaddesk_outbox_depth", "Posts waiting to be delivered.", labels=["platform"])
        oldest = GaugeMetricFamily(
            "threaddesk_outbox_oldest_age_seconds",
            "Age of the oldest post waiting to be delivered.",
            labels=["platform"],
        )
        for platform, n in sorted(s.outbox_depth.items()):
            depth.add_metric([platform], n)
            oldest.add_metric([platform], s.outbox_oldest_seconds.get(platform, 0.0))
        yield depth
        yield oldest
        failed = GaugeMetricFamily(
            "threaddesk_outbox_failed", "Posts the worker gave up on (kept in the log as failed).", labels=["platform"]
        )
        for platform, n in sorted(s.outbox_failed.items()):
            failed.add_metric([platform], n)
        yield failed
        yield GaugeMetricFamily(
            "threaddesk_inbox_depth",
            "Chat messages received and kept in the durable inbox, not handled yet (a message leaves it in the "
            "transaction that handles it).",
            value=s.inbox_depth,
        )
        yield GaugeMetricFamily(
            "threaddesk_inbox_oldest_age_seconds",
            "How long the oldest message waiting in the inbox has waited (0 when none does).",
            value=s.inbox_oldest_seconds,
        )


DESK = DeskCollector()
REGISTRY.register(DESK)


def render(stats: DeskStats) -> bytes:
    """The Prometheus text exposition of every metric, with `stats` as the database's side."""
    DESK.stats = stats
    return generate_latest(REGISTRY)
