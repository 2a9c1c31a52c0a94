"""Teams at work: a new ticket goes to its team's queue and, with automatic assignment, to an available
member; `/ticket transfer` and escalation tiers move it; `/agent away|back` and `/team list|show`.

Auto-assignment runs inside the ticket's own transaction (one unit of work), so the pick, the pointer and
the assignment commit together: a restart between two tickets continues the same rotation, and two
processes cannot hand out the same turn (SQLite's write lock; row locks on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import assignment
from bot.domain.assignment import Candidate
from bot.domain.errors import CommandError, IllegalTransition
from bot.domain.refs import UserRef, bot_user
from bot.domain.text import clean_text
from bot.domain.ticket import Ticket
from bot.outbound import Button, Destination, DestinationKind, Fallback, Link, Message
from bot.ports import UnitOfWork
from bot.services import notify
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
from bot.services.teams import open_hours
from bot.services.ticket_work import TicketWork
from bot.sla_config import parse_duration
from bot.teams_config import Assignment, TeamConfig


async def on_open(work: TicketWork, channel: str, rule_team: str | None) -> None:
    """A new ticket: route it to a team and, when the team assigns automatically, to an available member."""
    teams = work.ctx.teams
    if not teams:
        return
    t = work.ticket
    team = teams.route(t.customer, channel, rule_team, t.category)
    if team is None:
        return
    await work.uow.routing.set_team(t.number, team.name)
    work.team = team.name
    if await auto_assign(work, team) is not None and work.is_new:
        await work.uow.tickets.save_ticket(t)  # a new ticket's row was written before it was assigned


async def person(ctx: DeskContext, uow: UnitOfWork, platform: str, user_id: str) -> UserRef:
    """A member by the name this process last saw, else the one stored, else their id (never asked the
    platform: the adapters store the names of the groups' people as they learn them)."""
    known = ctx.known_name(f"{platform}:{user_id}")  # seen by this process: no query
    if known:
        return UserRef(platform=platform, id=user_id, name=known)
    found = await uow.people.find_person(platform, user_id)
    if found is None or found.id != user_id:
        return UserRef(platform=platform, id=user_id, name=user_id[:1].upper() + user_id[1:])
    ctx.note_name(found)  # the next time: no query
    return found


async def candidates(
    ctx: DeskContext, uow: UnitOfWork, team: TeamConfig, platform: str, now: datetime, *, load: bool = True
) -> list[Candidate]:
    """The team's members on `platform` with their availability and open load (without `load`: counted as 0,
    for a round-robin pick that caps nobody), in rotation order."""
    ids = ctx.teams.members(team, platform)
    away = await uow.routing.away(platform, ids, now)
    counts = await uow.routing.open_load(platform, ids) if load else {}
    closed = not open_hours(team, now)
    return [Candidate(key=i, away=closed or i in away, open_tickets=counts.get(i, 0)) for i in ids]


async def auto_assign(work: TicketWork, team: TeamConfig) -> UserRef | None:
    """Assign the loaded (unassigned) ticket to the next available member; tell the leads once when nobody is.
    The members are those where the ticket's card is (`desk_platform`): an e-mail ticket goes to the team's
    people on the chat its agents work it from."""
    if team.assignment is Assignment.MANUAL or work.ticket.assignee is not None:
        return None
    uow = work.uow
    desk = work.desk_platform
    # round-robin needs the open load only to skip members at their cap
    counted = team.assignment is Assignment.LEAST_LOADED or team.max_open_per_agent is not None
    found = await candidates(work.ctx, uow, team, desk, work.now, load=counted)
    last = await uow.routing.pointer(team.name)
    pick = assignment.round_robin if team.assignment is Assignment.ROUND_ROBIN else assignment.least_loaded
    chosen = pick(found, last, team.max_open_per_agent)
    if chosen is None:
        if await uow.routing.mark_unstaffed(team.name, work.now, work.ticket.number):
            await work.to_leads(_nobody_available(work, team, found))
        await work.event("unassigned_waiting", by=bot_user(work.platform), team=team.name)
        return None
    await uow.routing.clear_unstaffed(team.name)
    await uow.routing.move_pointer(team.name, chosen, work.now)
    agent = await person(work.ctx, uow, desk, chosen)
    await assign_to(work, agent, how=f"{team.assignment.value.replace('_', '-')}, team {team.name}")
    return agent


async def assign_to(work: TicketWork, agent: UserRef, *, how: str) -> None:
    """As a claim by `agent`, done by ThreadDesk: the customer sees "Erin is looking at this"; Erin is told
    directly (a DM) with a link to the card — once, through the outbox, after the card is posted. A DM the
    platform refuses becomes one line in the card's thread instead, without a mention (it pings nobody)."""
    t = work.ticket
    await work.record(t.assign(agent, auto=how))
    await work.to_customer(notify.claimed(agent))
    queue = await work.queue()
    instead = None
    if queue:
        instead = Fallback(
            destination=Destination.card_thread(work.desk_platform, queue, t.number),
            message=notify.card_event(t, f"assigned to {notify.relay(agent.display)} — I couldn't DM them"),
        )
    work.after_card.append((assigned_note(t, agent, how, instead), agent))


def assigned_note(t: Ticket, agent: UserRef, how: str, instead: Fallback | None = None) -> Message:
    """What the assignee reads in their DM: the ticket, why it is theirs, the card's link and a Show button;
    `instead`, what the card's thread reads when the platform refuses the DM."""
    return Message(
        text=f"{t.ref} is yours, {agent.display} ({how}): {notify.relay(t.subject)}",
        link=Link(label=f"Open the card of {t.ref}"),
        buttons=(Button(label="Show", command=f"/ticket show {t.number}"),),
        if_refused=instead,
    )


def _nobody_available(work: TicketWork, team: TeamConfig, found: list[Candidate]) -> Message:
    t = work.ticket
    if not found:
        why = "it has no members on this platform"
    elif not open_hours(team, work.now):
        why = "it is outside its business hours"
    elif all(c.away for c in found):
        why = "everyone is away"
    else:
        why = f"everyone is away or at {team.max_open_per_agent} open tickets"
    return Message(
        text=(
            f"⚠ Nobody in team {team.name} can take new tickets: {why}. {t.ref} and the next ones wait unassigned "
            "in the queue (told once until someone is available again)."
        ),
        buttons=(Button(label=f"Show {t.ref}", command=f"/ticket show {t.number}"),),
    )


# --- /ticket transfer and escalation tiers -------------------------------------------------------------------


async def transfer(ctx: DeskContext, req: Request) -> Reply:
    """`/ticket transfer [N] TEAM [reason]`: the ticket moves to the team's queue; with automatic assignment
    it goes to one of the team's available members (an assignee outside the team gives it up)."""
    name, _, reason = clean_text(req.command.text).partition(" ")
    team = ctx.teams.get(name.lower())
    if team is None:
        known = ", ".join(ctx.teams.names()) or "none configured (`[[teams]]` in the config)"
        raise CommandError(f"There is no team “{name[:40]}”. Teams: {known}.")
    async with ticket_work(ctx, req) as work:
        if not work.ticket.status.is_active:
            t = work.ticket
            raise IllegalTransition(f"{t.ref} is {t.status.label} — use `/ticket reopen {t.number}` first.")
        return await move(work, team, reason.strip(), kind="transferred")


async def move(work: TicketWork, team: TeamConfig, reason: str, *, kind: str) -> Reply:
    t = work.ticket
    before = await work.uow.routing.team_of(t.number)
    if before == team.name:
        return Reply.done(f"{t.ref} is already with team {team.name}.", t.number)
    why = f": {notify.relay(reason)}" if reason else ""
    note = notify.card_event(t, f"moved to team {team.name} by {work.actor.display}{why}")
    desk, channels = work.desk_platform, work.ctx.channels(work.desk_platform)
    old_queue = work.ctx.teams.queue_channel(before, desk) or channels.queue_channel
    new_queue = work.ctx.teams.queue_channel(team.name, desk) or channels.queue_channel
    if new_queue != old_queue and t.card is not None:
        # a new card in the new team's queue; the note stays in the old card's thread, where it was worked
        old = Destination(kind=DestinationKind.THREAD, platform=desk, channel=t.card.channel, thread=t.card.id)
        await work.uow.outbox.enqueue(old, note, at=work.now, ticket=t.number)
        t.card = None
    else:
        await work.to_card_thread(note)  # the same queue (or no card posted yet): the card's thread
    await work.uow.routing.set_team(t.number, team.name)
    work.team = team.name
    await work.event(kind, before=before, after=team.name, reason=reason)
    if t.assignee is not None and t.assignee.id not in work.ctx.teams.members(team, t.assignee.platform):
        await work.record(t.unassign(reason=f"moved to team {team.name}"))
    work.touch()
    assigned = await auto_assign(work, team)
    to = f", assigned to {assigned.display}" if assigned else ""
    return Reply.done(f"{t.ref} moved to team {team.name}{to}.", t.number)


async def escalate_tier(work: TicketWork, reason: str) -> str:
    """`/ticket escalate` on a ticket whose team names `escalate_to`: it moves there. Returns what happened."""
    teams = work.ctx.teams
    if not teams:
        return ""
    current = teams.get(await work.uow.routing.team_of(work.ticket.number))
    target = teams.get(current.escalate_to) if current else None
    if target is None:
        return ""
    reply = await move(work, target, reason, kind="transferred")
    return " " + reply.text.removeprefix(f"{work.ticket.ref} ").replace("moved to", "Moved to", 1)


# --- /agent away|back ---------------------------------------------------------------------------------------


def _until(text: str, now: datetime) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"“{text[:40]}” is not a time: give a duration (`2h`, `3d`) or a moment (`2026-12-01T09:00+01:00`)."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


async def away(ctx: DeskContext, req: Request) -> Reply:
    """`/agent away [until] [--handover]`: no new tickets until then (or `/agent back`); `--handover` gives
    one's open tickets back to their teams (reassigned where the team assigns automatically)."""
    handover = req.command.options.get("handover") is not None
    now = ctx.clock.now()
    until = _until(req.command.text, now)
    if until is not None and until <= now:
        raise CommandError("That moment has passed: give a time in the future, e.g. `/agent away 2h`.")
    async with ctx.store.transaction() as uow:
        await ctx.remember(uow, req.actor)
        await uow.routing.set_away(req.actor, until, now)
        mine = await uow.routing.open_assigned_to(req.actor)
    when = f" until {until:%Y-%m-%d %H:%M %Z}" if until else " until you run `/agent back`"
    if handover:
        moved = [await _hand_back(ctx, req, n) for n in mine]
        summary = "; ".join(m for m in moved if m) or "none were open"
        return Reply.done(f"You're away{when}. Your tickets went back to the queue: {summary}.")
    if not mine:
        return Reply.done(f"You're away{when}: no new tickets come to you meanwhile.")
    refs = ", ".join(f"#{n}" for n in mine[:10]) + (" …" if len(mine) > 10 else "")
    return Reply(
        message=Message(
            text=f"You're away{when}: no new tickets come to you. You still have {len(mine)} open ({refs}) — "
            "hand them back to the queue with `/agent away --handover`.",
            buttons=(Button(label="Hand them back", command="/agent away --handover " + req.command.text.strip()),),
        )
    )


async def _hand_back(ctx: DeskContext, req: Request, number: int) -> str:
    sub = Request(actor=req.actor, role=req.role, command=req.command, place=req.place, number=number)
    async with ticket_work(ctx, sub) as work:
        t = work.ticket
        if t.assignee is None or not t.assignee.same(req.actor):
            return ""
        await work.record(t.unassign(reason="handed over: away"))
        team = ctx.teams.get(await work.uow.routing.team_of(t.number))
        agent = await auto_assign(work, team) if team else None
        return f"{t.ref} → {agent.display}" if agent else f"{t.ref} unassigned"


async def back(ctx: DeskContext, req: Request) -> Reply:
    """`/agent back`: available again; waiting tickets of one's automatic teams are handed out now."""
    async with ctx.store.transaction() as uow:
        await ctx.remember(uow, req.actor)
        was_away = await uow.routing.set_back(req.actor)
        for team in ctx.teams.teams_of(req.actor):
            await uow.routing.clear_unstaffed(team.name)
    got = await assign_waiting(ctx, [t for t in ctx.teams.teams_of(req.actor) if t.assignment is not Assignment.MANUAL])
    picked = f" Assigned meanwhile: {', '.join(got)}." if got else ""
    return Reply.done(("Welcome back" if was_away else "You're available") + f": new tickets can come to you.{picked}")


async def hand_out_waiting(ctx: DeskContext) -> list[str]:
    """The scheduler's tick: teams whose tickets wait because nobody was available get them handed out as
    soon as someone is (business hours opened, an away time ended)."""
    if not ctx.teams:
        return []
    async with ctx.store.reading() as uow:
        waiting = [t for t in ctx.teams.teams if await uow.routing.unstaffed_since(t.name) is not None]
    return await assign_waiting(ctx, [t for t in waiting if t.assignment is not Assignment.MANUAL])


async def assign_waiting(ctx: DeskContext, teams: list[TeamConfig]) -> list[str]:
    """Hand out the teams' waiting unassigned tickets, oldest first, while someone is available."""
    done: list[str] = []
    now = ctx.clock.now()
    for team in teams:
        async with ctx.store.reading() as uow:
            platforms = {p.split(":", 1)[0] for p in team.members}
            free = [
                c
                for platform in sorted(platforms)
                for c in assignment.available(await candidates(ctx, uow, team, platform, now), team.max_open_per_agent)
            ]
            numbers = await uow.routing.waiting(team.name) if free else []
        for number in numbers:
            async with ctx.store.transaction() as uow:
                ticket = await uow.tickets.get_ticket(number)
                if ticket is None or ticket.assignee is not None or not ticket.status.is_active:
                    continue
                work = TicketWork(ctx, uow, ticket, bot_user(ticket.customer.platform))
                work.team = team.name
                agent = await auto_assign(work, team)
                await work.finish()
            if agent is None:
                break
            done.append(f"#{number} → {agent.display}")
    return done


# --- /team list|show ----------------------------------------------------------------------------------------


async def team_list(ctx: DeskContext, req: Request) -> Reply:
    if not ctx.teams:
        return Reply.done("No teams are configured. Add `[[teams]]` tables to the config (see README, Teams).")
    now = ctx.clock.now()
    lines = ["Teams:"]
    async with ctx.store.reading() as uow:
        for team in ctx.teams.teams:
            found = await candidates(ctx, uow, team, req.actor.platform, now)
            free = len(assignment.available(found, team.max_open_per_agent))
            open_, unassigned = await uow.routing.team_counts(team.name)
            lines.append(
                f"• {team.name} — {team.assignment.value}, {len(found)} member(s), {free} available · "
                f"{open_} open, {unassigned} unassigned"
                + (f" · escalates to {team.escalate_to}" if team.escalate_to else "")
            )
    return Reply.done("\n".join(lines))


async def team_show(ctx: DeskContext, req: Request) -> Reply:
    name = clean_text(req.command.text).split()[0].lower() if req.command.text.strip() else ""
    team = ctx.teams.get(name)
    if team is None:
        raise CommandError(f"There is no team “{name[:40]}”. Teams: {', '.join(ctx.teams.names()) or 'none'}.")
    now, platform = ctx.clock.now(), req.actor.platform
    async with ctx.store.reading() as uow:
        found = await candidates(ctx, uow, team, platform, now)
        away = await uow.routing.away(platform, [c.key for c in found], now)
        open_, unassigned = await uow.routing.team_counts(team.name)
        last = await uow.routing.pointer(team.name)
        people = {c.key: await person(ctx, uow, platform, c.key) for c in found}
    hours = "always" if team.business_hours is None else ("open now" if open_hours(team, now) else "closed now")
    lines = [
        f"Team {team.name}: {team.assignment.value} · {open_} open, {unassigned} unassigned · business hours: {hours}",
        f"Handles: categories {', '.join(team.categories) or '—'}"
        + (f" · escalates to {team.escalate_to}" if team.escalate_to else ""),
        "Members:",
    ]
    for c in found:
        name_ = people[c.key].display
        if c.key in away:
            until = away[c.key]
            state = f"away until {until:%Y-%m-%d %H:%M %Z}" if until else "away"
        elif team.max_open_per_agent is not None and c.open_tickets >= team.max_open_per_agent:
            state = f"full ({team.max_open_per_agent} open)"
        elif c.away:
            state = "off (outside business hours)"
        else:
            state = "available"
        turn = " · got the last ticket" if c.key == last else ""
        lines.append(f"  {name_}: {state} · {c.open_tickets} open{turn}")
    if not found:
        lines.append(f"  none on {platform}")
    return Reply.done("\n".join(lines))
