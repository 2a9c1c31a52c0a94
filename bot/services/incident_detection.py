"""Every new ticket is a possible outage report. Called by intake inside the ticket's own transaction (its text
read before it, `read_report`):

1. **Join.** While an incident is open, a new ticket that reads like its reports (`join_similarity`, the
   mean of its best three similarities to the linked tickets' texts) — or that matches the keyword rule the
   incident came from — is linked, unless it reads even more like a wording an agent unlinked from that
   incident (the negative examples). Its acknowledgement then says so. The incident is compared with its
   earliest reports, so it does not drift towards whatever joined it last; and only while it is still
   drawing reports (its latest within `join_window`): a look-alike hours after the burst is ordinary
   traffic far more often than a late report of the outage, and `/incident link` adds one in a command.
2. **Detect.** Otherwise, when this report and at least `min_reports - 1` others from different customers
   that belong to no incident arrived within `window` and are alike (`similarity`, or the same keyword
   rule) — all like this report, or all like one of them that is like this report — the group is either more
   of an open incident (it reads like one as a whole, though each report fell short of joining it alone: it
   joins that one) or, when so many look-alikes are not explained by how often the subject comes up anyway
   (`_usual`), a new outage: the bot proposes an incident on the queue channel, or creates it
   (`auto_create`), then also linking the window's other free reports that read like the group (they arrived
   before it existed).

Similarity is `kb.grouping` (BM25 + rapidfuzz over the ticket texts, word rarity from recent traffic; fused
with MiniLM sentence embeddings when `[incidents] semantic` is on).

With `[incidents] kb_topics`, the article the knowledge base recognises a report as (`kb.topics`) is a subject
too: reports recognised as one article are a group for step 2 (weighed against that article's usual rate), and a
report recognised as the article most of an incident's reports are joins it once it is above its noise level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from bot.domain.incident import Incident, IncidentUpdate
from bot.domain.refs import bot_user
from bot.domain.text import shorten
from bot.domain.ticket import Ticket
from bot.outbound import Destination, DestinationKind
from bot.ports import UnitOfWork
from bot.records import IncidentReport
from bot.services import incident_notify
from bot.services.desk_context import DeskContext
from bot.services.incident_work import IncidentWork
from kb.grouping import BACKGROUND_SIZE, Prepared, ReportSimilarity
from kb.grouping import prepare as _prepare
from kb.topics import KbTopics

TITLE_CHARS = 60
#: Reports compared with each new one: the latest of the window. An outage's reports are dense, so its
#: `min_reports` look-alikes are among the latest; comparing with every report of a busy window would make
#: each new ticket's cost grow with the traffic (a burst of 1,000 reports cost 40 ms per ticket).
CANDIDATES = 100

#: How rare a window's count of look-alikes must be, under its subject's usual rate, to be an outage (`_usual`):
#: fixed on the training streams (BENCHMARKS.md, "Incident grouping").
SURPRISE = 3e-5

#: A group found while an incident is open joins it when its reports' mean fit reaches this share of
#: `join_similarity` (a mean of several reports is steadier than the one score a report joins by alone). Fixed
#: on the training streams (BENCHMARKS.md, "Incident grouping").
GROUP_FIT = 0.5

#: With `kb_topics`, a report the knowledge base recognises as the article an incident's reports are (most of
#: them) fits it as well as `join_similarity` asks, once its lift over its noise level reaches this: the same
#: subject in the desk's own terms, and closer to the outage than to ordinary traffic. Fixed on the training
#: streams (BENCHMARKS.md, "Incident grouping").
SUBJECT_LIFT = 0.0

#: Reports are compared again and again while they are in the window: tokenise and stem each text once.
prepare = lru_cache(maxsize=4096)(_prepare)


@dataclass(frozen=True)
class Joined:
    incident: Incident
    latest: IncidentUpdate | None
    how: str = "auto"


@dataclass(frozen=True)
class Report:
    """A new ticket's text as detection reads it: worked out before the ticket's unit of work."""

    text: str
    prepared: Prepared
    rule: str | None  # the title of the outage rule it matches


def read_report(ctx: DeskContext, body: str) -> Report | None:
    """The report detection will compare, or None when detection is off."""
    cfg = ctx.incidents
    if not cfg.enabled:
        return None
    rule = cfg.rule_for(body)
    return Report(body, prepare(body), rule.title if rule else None)


async def on_new_ticket(ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, found: Report | None) -> Joined | None:
    """Join, detect, or just remember the report. Returns the incident the ticket joined, if any."""
    if found is None:
        return None
    await _ensure_background(ctx, uow)
    body, report, rule = found.text, found.prepared, found.rule
    platform = ticket.customer.platform
    try:
        joined = await _join(ctx, uow, ticket, report, rule)
        if joined is not None:
            await uow.incidents.record_report(
                ticket.number, platform, ticket.customer.key, ticket.created_at, body, None, "linked"
            )
            return joined
        await uow.incidents.record_report(
            ticket.number, platform, ticket.customer.key, ticket.created_at, body, rule, "free"
        )
        return await _detect(ctx, uow, ticket, report, rule)
    finally:
        ctx.grouping.observe(report)


async def _ensure_background(ctx: DeskContext, uow: UnitOfWork) -> None:
    """After a start, word rarity comes from the reports stored before it; and when the knowledge base's
    articles change, so do the subjects its classifier tells apart (`kb.topics`): the similarity is built again."""
    if ctx.grouping_ready and _topics(ctx) == ctx.grouping_topics:
        return
    reports = await uow.incidents.recent_report_texts(BACKGROUND_SIZE)
    if not ctx.grouping_ready:
        await ctx.kb.refresh(uow)
    # a young desk has few reports to learn word rarity from: the knowledge base's wordings stand in
    wordings = [text for article in ctx.kb.articles for text in (article.title, *article.aliases)]
    embedder = ctx.grouping_embedder
    topics = _topics(ctx)
    ctx.report_articles = None
    if topics is not None and embedder is not None:
        embedder = ctx.report_articles = KbTopics(ctx.kb.matcher, embedder)
    ctx.grouping = ReportSimilarity(
        background=reports, wordings=wordings[: max(0, BACKGROUND_SIZE - len(reports))], embedder=embedder
    )
    ctx.pair_lifts.clear()  # lifts of the similarity before
    ctx.grouping_ready, ctx.grouping_topics = True, topics


def _topics(ctx: DeskContext) -> tuple[str, ...] | None:
    """The articles whose subjects grouping tells apart: None when it does not read them (`reads_articles`) or the
    knowledge base has no classifier (none yet, or too large to fit one)."""
    if not ctx.incidents.reads_articles or ctx.grouping_embedder is None or ctx.kb.matcher.text_classifier is None:
        return None
    return tuple(article.id for article in ctx.kb.articles)


async def _join(ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, report: Prepared, rule: str | None) -> Joined | None:
    best: tuple[float, Incident] | None = None
    for incident in await uow.incidents.list_incidents(open_only=True, platform=ticket.customer.platform):
        if rule is not None and await uow.incidents.rule_of(incident.id) == rule:
            score: float | None = 100.0
        else:
            score = await _fit(ctx, uow, incident, [report], ticket.created_at)
        if score is not None and score >= ctx.incidents.join_similarity and (best is None or score > best[0]):
            best = (score, incident)
    if best is None:
        return None
    return await _link_into(ctx, uow, best[1], [ticket])


async def _fit(
    ctx: DeskContext, uow: UnitOfWork, incident: Incident, reports: list[Prepared], at: datetime
) -> float | None:
    """How much `reports` read like `incident`'s reports: each one's closeness to its earliest reports (so it
    does not drift towards whatever joined it last) above that report's own noise level, averaged. None when
    the incident has stopped drawing reports (its latest more than `join_window` before `at`: similar tickets
    now are ordinary traffic), or when one of them reads even more like a wording an agent unlinked from it."""
    last = await uow.incidents.last_report_at(incident.id)
    if last is not None and at - last > ctx.incidents.join_window_delta:
        return None
    members = [prepare(text) for text in await uow.incidents.member_texts(incident.id)] or [prepare(incident.title)]
    negatives = [prepare(text) for text in await uow.incidents.negatives_for(incident.id)]
    subject = _subject(ctx, members)
    scores = []
    for report in reports:
        score = ctx.grouping.closeness(report, members) - ctx.grouping.noise(report)
        if negatives and max(ctx.grouping.lifts(report, negatives)) >= score:
            return None  # an agent said a wording like this one is not this incident
        if _of_subject(ctx, report, subject, score):
            score = max(score, ctx.incidents.join_similarity)
        scores.append(score)
    return sum(scores) / len(scores)


def reads_like(ctx: DeskContext, group: Sequence[Ticket]) -> Callable[[str], bool]:
    """A test of whether a report reads like `group` as a whole, though not alike enough to any one of its
    reports: its closeness to them above its noise level reaches `join_similarity`, or it is of their subject
    (`_of_subject`). For the reports a new incident takes along."""
    anchors = [prepare(t.description) for t in group]
    subject = _subject(ctx, anchors)

    def test(text: str) -> bool:
        report = prepare(text)
        lift = ctx.grouping.closeness(report, anchors) - ctx.grouping.noise(report)
        return lift >= ctx.incidents.join_similarity or _of_subject(ctx, report, subject, lift)

    return test


def _subject(ctx: DeskContext, reports: list[Prepared]) -> str | None:
    """The article the knowledge base recognises most of `reports` as, when grouping reads articles."""
    return None if ctx.report_articles is None else ctx.report_articles.common_article([r.text for r in reports])


def _of_subject(ctx: DeskContext, report: Prepared, subject: str | None, lift: float) -> bool:
    """Whether `report`, with this lift over its noise level, is more of a group whose subject is `subject`:
    recognised as that article, and at least `SUBJECT_LIFT` closer to the group than to ordinary traffic."""
    if subject is None or ctx.report_articles is None or lift < SUBJECT_LIFT:
        return False
    return ctx.report_articles.article(report.text) == subject


async def _link_into(ctx: DeskContext, uow: UnitOfWork, incident: Incident, tickets: list[Ticket]) -> Joined:
    """Link `tickets` to `incident`; the last is being opened now, and its acknowledgement says it."""
    work = IncidentWork(ctx, uow, incident, bot_user(incident.platform))
    for ticket in tickets:
        await work.link(ticket, "auto", tell_customer=ticket is not tickets[-1])
    await work.finish()
    return Joined(incident, await uow.incidents.latest_public_update(incident.id))


async def _more_of_an_open_one(ctx: DeskContext, uow: UnitOfWork, group: list[Ticket]) -> Joined | None:
    """The open incident a newly found group belongs to, if it reads like one as a whole (its reports' mean fit
    at least `GROUP_FIT` × `join_similarity`). Its reports each fell short of `join_similarity` — some arrived
    before the incident was detected and were never compared — but together they are more of that outage, not
    a second incident of it (which would split its customers between two update logs)."""
    reports = [prepare(t.description) for t in group]
    best: tuple[float, Incident] | None = None
    for incident in await uow.incidents.list_incidents(open_only=True, platform=group[-1].customer.platform):
        fit = await _fit(ctx, uow, incident, reports, group[-1].created_at)
        if fit is not None and fit >= GROUP_FIT * ctx.incidents.join_similarity and (best is None or fit > best[0]):
            best = (fit, incident)
    return None if best is None else await _link_into(ctx, uow, best[1], group)


async def _detect(
    ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, report: Prepared, rule: str | None
) -> Joined | None:
    cfg = ctx.incidents
    since = ticket.created_at - cfg.window_delta
    pending = (
        []
        if cfg.auto_create
        else await uow.incidents.free_reports(
            ticket.customer.platform, since, exclude=ticket.number, state="proposed", limit=CANDIDATES
        )
    )
    customer = ticket.customer.key  # once: up to CANDIDATES reports are compared with it
    recent = [
        r
        for r in await uow.incidents.free_reports(
            ticket.customer.platform, since, exclude=ticket.number, limit=CANDIDATES
        )
        if r.customer != customer
    ]
    enough = len({r.customer for r in recent}) + 1 >= cfg.min_reports
    if not pending and not enough:
        return None
    # one pass bounds the new report against both lists; only the side of the threshold matters below, and
    # bounds settle most pairs without their exact lift
    compared = ctx.grouping.compare(report, [prepare(r.text) for r in (*pending, *(recent if enough else ()))])
    # a proposal is waiting for an agent: a report like its reports (or of one's article) goes with it, not into
    # a new one
    if pending and (
        compared.any_lift_above(slice(0, len(pending)), cfg.similarity) or _same_article(ctx, report, pending)[1]
    ):
        await uow.incidents.set_report_state([ticket.number], "proposed")
        return None
    if not enough:
        return None
    scores = compared.lifts_above(slice(len(pending), None), cfg.similarity)
    pairs = ctx.pair_lifts
    if ctx.pairs_compared > 200_000:
        pairs.clear()
        ctx.pairs_compared = 0
    ctx.pairs_compared += len(recent)
    for r, score in zip(recent, scores, strict=True):
        if score >= cfg.similarity:
            pairs[(r.ticket, ticket.number)] = score

    def alike(a: int, b: int, rule_a: str | None, rule_b: str | None) -> bool:
        if rule_a is not None and rule_a == rule_b:
            return True
        return pairs.get((min(a, b), max(a, b)), -100.0) >= cfg.similarity

    # alike(r, new): its score, just compared (a report numbered after the new one was keyed the other way)
    close = [
        r.ticket
        for r, score in zip(recent, scores, strict=True)
        if (
            score >= cfg.similarity or (rule is not None and r.rule == rule)
            if r.ticket < ticket.number
            else alike(r.ticket, ticket.number, r.rule, rule)
        )
    ]
    # the largest star: the new report's neighbours, or a neighbour's own (with the new report among them)
    by_ticket = {r.ticket: r for r in recent}
    best = close
    for centre in close:
        around = [
            centre,
            *(
                r.ticket
                for r in recent
                if r.ticket != centre and alike(r.ticket, centre, r.rule, by_ticket[centre].rule)
            ),
        ]
        if len({by_ticket[n].customer for n in around}) > len({by_ticket[n].customer for n in best}):
            best = around
    # or the window's reports the knowledge base recognises as the same article as the new one
    article, same = _same_article(ctx, report, recent)
    if len({by_ticket[n].customer for n in same}) > len({by_ticket[n].customer for n in best}):
        best = same
    else:
        article = None
    chosen = set(best)
    kept = [i for i, r in enumerate(recent) if r.ticket in chosen]
    if len({recent[i].customer for i in kept}) + 1 < cfg.min_reports:
        return None
    members: list[Ticket] = []
    for i in kept:
        found = await uow.tickets.get_ticket(recent[i].ticket)
        if found is not None:
            members.append(found)
    members.append(ticket)
    if rule is None:
        # an open incident's own reports make its subject look usual: ask whether the group is more of it first
        if (merged := await _more_of_an_open_one(ctx, uow, members)) is not None:
            return merged
        if _usual(ctx, report, article, recent, len(kept)):
            return None
    rules = {recent[i].rule for i in kept} | {rule}
    title = rule if rule is not None and rules == {rule} else _central_subject(ctx, members)
    if cfg.auto_create:
        # reports of the window that were not alike enough to the newest one but read like the group
        like_them = reads_like(ctx, members)
        chosen = {t.number for t in members}
        for other in recent:
            if other.ticket in chosen or not like_them(other.text):
                continue
            if (late := await uow.tickets.get_ticket(other.ticket)) is not None:
                members.insert(-1, late)
        incident = await open_incident(ctx, uow, title, members, source="auto", rule=rule, tell={ticket.number})
        return Joined(incident, None)
    await uow.incidents.set_report_state([t.number for t in members], "proposed")
    queue = ctx.channels(ticket.customer.platform).queue_channel
    if queue:
        span = (ticket.created_at - min(t.created_at for t in members)).total_seconds()
        dest = Destination(kind=DestinationKind.CHANNEL, platform=ticket.customer.platform, channel=queue)
        await uow.outbox.enqueue(dest, incident_notify.proposal(members, title, span), at=ctx.clock.now())
    return None


def _same_article(ctx: DeskContext, report: Prepared, window: list[IncidentReport]) -> tuple[str | None, list[int]]:
    """The article the knowledge base recognises `report` as (when grouping reads articles), and the window's
    reports it recognises as that article too."""
    topics = ctx.report_articles
    article = None if topics is None else topics.article(report.text)
    if topics is None or article is None:
        return None, []
    return article, [r.ticket for r in window if topics.article(prepare(r.text).text) == article]


def _usual(ctx: DeskContext, report: Prepared, article: str | None, window: list[IncidentReport], found: int) -> bool:
    """Whether `found` look-alikes of `report` among the window's other reports are within what its subject's
    usual rate explains — a busy everyday subject, not an outage. The rate is read off the background: of its
    reports outside the window, the share alike with this one (at `similarity`; or, for a group of reports
    recognised as one `article`, the share recognised as it), taken at the low end of what that count says
    (`_at_least`: a desk that has seen a subject once or twice, or little traffic at all, has not learnt that it
    is common). Under that rate the window's count would be Poisson; the group stands only when a count as high
    is rarer than `SURPRISE`. On a card desk four "virtual card" questions in a quarter hour are an ordinary
    morning; four reports of a login error nobody wrote about all week are not."""
    leave_out = {prepare(r.text).text for r in window} | {report.text}
    if article is None or ctx.report_articles is None:
        alike, compared = ctx.grouping.look_alikes(report, ctx.incidents.similarity, leave_out=leave_out)
    else:
        background = ctx.grouping.background(leave_out=leave_out)
        alike = sum(1 for p in background if ctx.report_articles.article(p.text) == article)
        compared = len(background)
    if not alike:
        return False
    expected = _at_least(alike) * (len(window) + 1) / compared
    return _tail(expected, found) > SURPRISE


def _tail(mean: float, k: int) -> float:
    """P(X ≥ k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    term = total = math.exp(-mean)
    for i in range(1, k):
        term *= mean / i
        total += term
    return max(0.0, 1.0 - total)


def _at_least(count: int) -> float:
    """The lowest Poisson mean that `count` observed events leave 10 % likely: P(X ≥ count | mean) = 0.1."""
    low, high = 0.0, float(count)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if _tail(mid, count) > 0.1 else (mid, high)
    return low


def _central_subject(ctx: DeskContext, members: list[Ticket]) -> str:
    """The subject of the report most like the others: the best one-line name for the group."""
    prepared = [prepare(t.description) for t in members]
    best, best_total = members[-1], -1.0
    for i, ticket in enumerate(members):
        total = sum(ctx.grouping.scores(prepared[i], [p for j, p in enumerate(prepared) if j != i]))
        if total > best_total:
            best, best_total = ticket, total
    return shorten(" ".join(best.subject.split()), TITLE_CHARS)


async def open_incident(
    ctx: DeskContext,
    uow: UnitOfWork,
    title: str,
    members: list[Ticket],
    *,
    source: str,
    rule: str | None = None,
    tell: set[int] | frozenset[int] = frozenset(),
) -> Incident:
    """Create an incident linking `members` (customers hear about it, except those in `tell`, whose
    acknowledgement says it), post its card and tell the leads."""
    platform = members[0].customer.platform if members else ""
    actor = bot_user(platform)
    incident = await uow.incidents.insert_incident(
        platform=platform, title=title, owner=None, source=source, rule=rule, at=ctx.clock.now()
    )
    work = IncidentWork(ctx, uow, incident, actor)
    work.is_new = True
    for member in members:
        await work.link(member, "auto" if source == "auto" else "detected", tell_customer=member.number not in tell)
    await work.to_leads(incident_notify.opened_for_leads(incident, len(members), "automatically"))
    work.touch()
    await work.finish()
    return incident
