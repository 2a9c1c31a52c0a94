"""What agents (and customers, on their own tickets) do to a ticket. One function per command."""

from __future__ import annotations

from bot.domain.errors import CommandError, IllegalTransition, PermissionDenied
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.text import clean_text
from bot.domain.ticket import REOPENABLE, Status, check_transition
from bot.services import kb_commands, notify, routing
from bot.services.desk_context import DeskContext
from bot.services.intake import record_first_response
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
from bot.services.ticket_work import TicketWork


def _require_active(work: TicketWork, doing: str) -> None:
    t = work.ticket
    if not t.status.is_active:
        raise IllegalTransition(f"{t.ref} is {t.status.label} — use `/ticket reopen {t.number}` before you {doing}.")


async def claim(ctx: DeskContext, req: Request) -> Reply:
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        _require_active(work, "claim it")
        if req.actor.same(t.assignee):
            return Reply.done(f"{t.ref} is already yours.", t.number)
        if t.assignee is not None:
            raise IllegalTransition(
                f"{t.ref} is assigned to {t.assignee.display} — use `/ticket assign {t.number} @you` to take it over."
            )
        await _assign(work, req.actor)
        return Reply.done(f"You claimed {t.ref}: {t.subject}", t.number)


async def assign(ctx: DeskContext, req: Request) -> Reply:
    token = req.command.user or ""
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        _require_active(work, "assign it")
        person = await work.uow.people.find_person(req.actor.platform, token)
        if person is None and token in ctx.roles.staff(req.actor.platform):
            person = UserRef(platform=req.actor.platform, id=token, name=token.capitalize())
        if person is None or not ctx.roles.role_of(person).at_least(Role.AGENT):
            raise CommandError(
                f"“{token}” is not an agent here. Agents are listed under `[roles] agents` in the config."
            )
        if person.same(t.assignee):
            return Reply.done(f"{t.ref} is already assigned to {person.display}.", t.number)
        await _assign(work, person)
        return Reply.done(f"{t.ref} is now assigned to {person.display}.", t.number)


async def _assign(work: TicketWork, agent: UserRef) -> None:
    t = work.ticket
    before = t.assignee.display if t.assignee else None
    t.assignee = agent
    await work.event("assigned", before=before, after=agent.display)
    if t.status is Status.NEW:
        await work.event("status_changed", before=t.status.value, after=Status.OPEN.value)
        t.status = Status.OPEN
    await work.to_customer(notify.claimed(agent))
    work.touch()


async def unclaim(ctx: DeskContext, req: Request) -> Reply:
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if t.assignee is None:
            return Reply.done(f"{t.ref} is not assigned to anyone.", t.number)
        if not req.actor.same(t.assignee) and not req.role.at_least(Role.LEAD):
            raise PermissionDenied(f"{t.ref} is {t.assignee.display}'s; only they or a team lead can unclaim it.")
        await work.event("unassigned", before=t.assignee.display)
        t.assignee = None
        work.touch()
        return Reply.done(f"{t.ref} is back in the queue, unassigned.", t.number)


async def reply(ctx: DeskContext, req: Request) -> Reply:
    body = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not req.is_staff:
            return await _customer_adds(work, body)
        if t.status is Status.CLOSED:
            raise IllegalTransition(f"{t.ref} is closed — use `/ticket reopen {t.number}` before replying.")
        await work.event("replied", visibility="public")
        await work.to_customer(notify.agent_reply(req.actor, body), author=req.actor, role="agent", body=body)
        await record_first_response(work)
        return Reply.done(f"Sent to {t.customer.display} on {t.ref}.", t.number)


async def _customer_adds(work: TicketWork, body: str) -> Reply:
    t = work.ticket
    if t.status is Status.CLOSED:
        raise IllegalTransition(f"{t.ref} is closed — use `/ticket reopen {t.number}` to continue it.")
    await work.log(body, author=work.actor, role="customer")
    await work.event("customer_message")
    if t.status in (Status.PENDING, Status.RESOLVED):
        await work.event("status_changed", before=t.status.value, after=Status.OPEN.value, reason="customer replied")
        t.status = Status.OPEN
        work.touch()
    await work.to_card_thread(notify.customer_wrote(t, work.actor, body))
    return Reply.done(f"Added to {t.ref}. The team will see it.", t.number)


async def note(ctx: DeskContext, req: Request) -> Reply:
    body = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        logged = await work.log(body, author=req.actor, role="agent", visibility="internal", delivery="queued")
        await work.event("noted", visibility="internal")
        await work.to_card_thread(notify.internal_note(req.actor, body), log_message=logged)
        return Reply.done(f"Internal note added to {t.ref} (the customer does not see it).", t.number)


async def set_status(ctx: DeskContext, req: Request) -> Reply:
    target = req.command.status
    assert target is not None
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        check_transition(t.number, t.status, target)
        await _change_status(work, target)
        return Reply.done(f"{t.ref} is now {target.label}.", t.number)


async def _change_status(work: TicketWork, target: Status, reason: str = "") -> None:
    t = work.ticket
    await work.event("status_changed", before=t.status.value, after=target.value, reason=reason)
    t.status = target
    if target is Status.CLOSED:
        t.closed_at = work.now
    await work.to_customer(notify.status_changed(t))
    work.touch()


async def set_priority(ctx: DeskContext, req: Request) -> Reply:
    target = req.command.priority
    assert target is not None
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if t.priority is target:
            return Reply.done(f"{t.ref} is already {target.value} priority.", t.number)
        await work.event("priority_changed", before=t.priority.value, after=target.value)
        t.priority = target
        work.touch()
        return Reply.done(f"{t.ref} priority is now {target.value}.", t.number)


async def tag(ctx: DeskContext, req: Request) -> Reply:
    cmd = req.command
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        tags = [x for x in t.tags if x not in cmd.tags_remove]
        tags += [x for x in cmd.tags_add if x not in tags]
        if tuple(tags) == t.tags:
            return Reply.done(f"{t.ref} tags unchanged: {', '.join(t.tags) or 'none'}.", t.number)
        await work.event("tagged", added=list(cmd.tags_add), removed=list(cmd.tags_remove))
        t.tags = tuple(tags)
        work.touch()
        return Reply.done(f"{t.ref} tags: {', '.join(t.tags) or 'none'}.", t.number)


async def escalate(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        _require_active(work, "escalate it")
        before = t.priority
        t.priority = t.priority.raised()
        if "escalated" not in t.tags:
            t.tags = (*t.tags, "escalated")
        await work.event("escalated", reason=reason, before=before.value, after=t.priority.value)
        await work.to_leads(notify.escalation_alert(t, req.actor, reason))
        await work.to_customer(notify.escalated_for_customer(t))
        work.touch()
        tier = await routing.escalate_tier(work, reason)  # a team with `escalate_to` hands it to the next tier
        raised = f", priority {before.value} → {t.priority.value}" if t.priority is not before else ""
        return Reply.done(f"{t.ref} escalated to the team leads{raised}.{tier}", t.number)


async def resolve(ctx: DeskContext, req: Request) -> Reply:
    summary = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if t.status is Status.RESOLVED:
            raise IllegalTransition(f"{t.ref} is already resolved.")
        if not t.status.is_active:
            raise IllegalTransition(f"{t.ref} is {t.status.label} — use `/ticket reopen {t.number}` first.")
        article = req.command.options.get("kb")
        wording, learned = kb_commands.customer_wording(t), False
        if article is not None:
            cited = await kb_commands.require_article(work.uow, article.lower())
            article = cited.id
            await work.uow.articles.record_feedback(t.number, [article], "cited", work.now)
            learned = await work.uow.articles.learn(article, wording, source="cited", ticket=t.number, at=work.now)
        await work.event("resolved", summary=summary, kb=article)
        t.status = Status.RESOLVED
        t.resolved_at = work.now
        t.resolution_summary = summary
        t.resolved_by_kb = article
        if t.assignee is None:
            t.assignee = req.actor
        await work.to_customer(notify.resolution(t, req.actor))
        await record_first_response(work)
        work.touch()
    if article is not None and learned:
        ctx.kb.learned(article, wording)  # the customer's wording is now a learned alias
    return Reply.done(f"{t.ref} resolved. {t.customer.display} can confirm or reopen it.", t.number)


async def reopen(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if t.status not in REOPENABLE:
            raise IllegalTransition(f"{t.ref} is {t.status.label}, not resolved or closed — nothing to reopen.")
        await work.event("reopened", before=t.status.value, reason=reason)
        t.status = Status.OPEN
        t.closed_at = None
        by_customer = not req.is_staff
        await work.to_customer(notify.reopened(t, by_customer))
        why = f" ({reason})" if reason else ""
        await work.to_card_thread(notify.card_event(t, f"reopened by {req.actor.display}{why}"))
        work.touch()
        return Reply.done(f"{t.ref} is open again.", t.number)


async def close(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        check_transition(t.number, t.status, Status.CLOSED)
        confirmed = not req.is_staff and t.status is Status.RESOLVED
        await _change_status(work, Status.CLOSED, reason or ("customer confirmed" if confirmed else ""))
        if not req.is_staff:
            what = "confirmed it is solved" if confirmed else "closed it"
            await work.to_card_thread(notify.card_event(t, f"{req.actor.display} {what}."))
        return Reply.done(f"{t.ref} is closed.", t.number)
