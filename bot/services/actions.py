"""What agents (and customers, on their own tickets) do to a ticket. One function per command."""

from __future__ import annotations

from bot.domain.errors import CommandError
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.text import clean_text
from bot.domain.ticket import Status
from bot.services import kb_commands, notify, routing
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
from bot.services.ticket_work import TicketWork


async def claim(ctx: DeskContext, req: Request) -> Reply:
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not await work.record(t.claim(req.actor)):
            return Reply.done(f"{t.ref} is already yours.", t.number)
        await work.to_customer(notify.claimed(req.actor))
        return Reply.done(f"You claimed {t.ref}: {t.subject}", t.number)


async def assign(ctx: DeskContext, req: Request) -> Reply:
    token = req.command.user or ""
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        t.require_active("assign it")
        person = await work.uow.people.find_person(req.actor.platform, token)
        if person is None and token in ctx.roles.staff(req.actor.platform):
            person = UserRef(platform=req.actor.platform, id=token, name=token.capitalize())
        if person is None or not ctx.roles.role_of(person).at_least(Role.AGENT):
            raise CommandError(
                f"“{token}” is not an agent here. Agents are listed under `[roles] agents` in the config."
            )
        if not await work.record(t.assign(person)):
            return Reply.done(f"{t.ref} is already assigned to {person.display}.", t.number)
        await work.to_customer(notify.claimed(person))
        return Reply.done(f"{t.ref} is now assigned to {person.display}.", t.number)


async def unclaim(ctx: DeskContext, req: Request) -> Reply:
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not await work.record(t.unclaim(req.actor, is_lead=req.role.at_least(Role.LEAD))):
            return Reply.done(f"{t.ref} is not assigned to anyone.", t.number)
        return Reply.done(f"{t.ref} is back in the queue, unassigned.", t.number)


async def reply(ctx: DeskContext, req: Request) -> Reply:
    body = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not req.is_staff:
            return await _customer_adds(work, body)
        await work.record(t.reply_from_agent(work.now))
        await work.to_customer(notify.agent_reply(req.actor, body), author=req.actor, role="agent", body=body)
        return Reply.done(f"Sent to {t.customer.display} on {t.ref}.", t.number)


async def _customer_adds(work: TicketWork, body: str) -> Reply:
    t = work.ticket
    events = t.reply_from_customer()  # refused on a closed ticket; a pending or resolved one opens again
    await work.log(body, author=work.actor, role="customer")
    await work.record(events)
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
        await work.record(t.set_status(target, work.now))
        await work.to_customer(notify.status_changed(t))
        return Reply.done(f"{t.ref} is now {target.label}.", t.number)


async def set_priority(ctx: DeskContext, req: Request) -> Reply:
    target = req.command.priority
    assert target is not None
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not await work.record(t.set_priority(target)):
            return Reply.done(f"{t.ref} is already {target.value} priority.", t.number)
        return Reply.done(f"{t.ref} priority is now {target.value}.", t.number)


async def tag(ctx: DeskContext, req: Request) -> Reply:
    cmd = req.command
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not await work.record(t.change_tags(add=cmd.tags_add, remove=cmd.tags_remove)):
            return Reply.done(f"{t.ref} tags unchanged: {', '.join(t.tags) or 'none'}.", t.number)
        return Reply.done(f"{t.ref} tags: {', '.join(t.tags) or 'none'}.", t.number)


async def escalate(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        before = t.priority
        await work.record(t.escalate(reason))
        await work.to_leads(notify.escalation_alert(t, req.actor, reason))
        await work.to_customer(notify.escalated_for_customer(t))
        tier = await routing.escalate_tier(work, reason)  # a team with `escalate_to` hands it to the next tier
        raised = f", priority {before.value} → {t.priority.value}" if t.priority is not before else ""
        return Reply.done(f"{t.ref} escalated to the team leads{raised}.{tier}", t.number)


async def resolve(ctx: DeskContext, req: Request) -> Reply:
    summary = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        t.require_resolvable()  # before the cited article is looked up
        article = req.command.options.get("kb")
        wording, learned = kb_commands.customer_wording(t), False
        if article is not None:
            cited = await kb_commands.require_article(work.uow, article.lower())
            article = cited.id
            await work.uow.articles.record_feedback(t.number, [article], "cited", work.now)
            learned = await work.uow.articles.learn(article, wording, source="cited", ticket=t.number, at=work.now)
        await work.record(t.resolve(summary, work.now, kb=article, agent=req.actor))
        await work.to_customer(notify.resolution(t, req.actor))
    if article is not None and learned:
        ctx.kb.learned(article, wording)  # the customer's wording is now a learned alias
    return Reply.done(f"{t.ref} resolved. {t.customer.display} can confirm or reopen it.", t.number)


async def reopen(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        await work.record(t.reopen(reason))
        by_customer = not req.is_staff
        await work.to_customer(notify.reopened(t, by_customer))
        why = f" ({reason})" if reason else ""
        await work.to_card_thread(notify.card_event(t, f"reopened by {req.actor.display}{why}"))
        return Reply.done(f"{t.ref} is open again.", t.number)


async def close(ctx: DeskContext, req: Request) -> Reply:
    reason = clean_text(req.command.text)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        was_resolved = t.status is Status.RESOLVED
        await work.record(t.close(work.now, reason=reason, by_customer=not req.is_staff))
        await work.to_customer(notify.status_changed(t))
        if not req.is_staff:
            what = "confirmed it is solved" if was_resolved else "closed it"
            await work.to_card_thread(notify.card_event(t, f"{req.actor.display} {what}."))
        return Reply.done(f"{t.ref} is closed.", t.number)
