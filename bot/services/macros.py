"""`/macro …` (write and read macros) and `/ticket macro` (apply one to a ticket).

Agents add personal macros; team leads add shared ones, which every agent can use and which the queue
card offers in its Macro… menu. Applying a macro is `/ticket reply` with the filled text, plus the
macro's actions, in the same transaction; the history names the macro and its version.
"""

from __future__ import annotations

from bot.domain.errors import CommandError, PermissionDenied
from bot.domain.macros import (
    KB_PREFIX,
    Actions,
    Macro,
    Values,
    check_body,
    check_name,
    fill,
    parse_actions,
    placeholders,
)
from bot.domain.roles import Role
from bot.domain.text import clean_text, shorten
from bot.domain.ticket import Status
from bot.outbound import Button, ButtonStyle, Message
from bot.ports import UnitOfWork
from bot.services import notify
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
from bot.services.ticket_work import TicketWork
from kb.article import Article

_PARTS = ("text", "actions", "name")


def _owner_for_new(req: Request) -> str:
    """Leads and admins write shared macros; agents their own."""
    return "" if req.role.at_least(Role.LEAD) else req.actor.key


async def find(uow: UnitOfWork, req: Request, name: str) -> Macro:
    """The actor's own macro of that name, else the shared one."""
    macro = await uow.macros.get(name, req.actor.key) or await uow.macros.get(name, "")
    if macro is None:
        raise CommandError(f"There is no macro `{shorten(name, 40)}`. See `/macro list`.")
    return macro


def _may_change(req: Request, macro: Macro) -> None:
    if macro.shared and not req.role.at_least(Role.LEAD):
        raise PermissionDenied(
            f"`{macro.name}` is shared: only team leads change it. "
            f"Add your own with `/macro add {macro.name}-mine | …`."
        )
    if not macro.shared and macro.owner != req.actor.key:
        raise PermissionDenied(f"`{macro.name}` is someone else's personal macro.")


async def _checked(uow: UnitOfWork, body: str) -> None:
    cited = [p.removeprefix(KB_PREFIX).strip().lower() for p in placeholders(body) if p.startswith(KB_PREFIX)]
    found = {a for a in cited if a and await uow.articles.get_article(a) is not None}
    check_body(body, lambda article: article in found)


async def _cited(uow: UnitOfWork, body: str) -> dict[str, Article]:
    found: dict[str, Article] = {}
    for name in placeholders(body):
        if name.startswith(KB_PREFIX):
            article = await uow.articles.get_article(name.removeprefix(KB_PREFIX).strip().lower())
            if article is not None:
                found[article.id] = article
    return found


def _split_definition(text: str, usage: str) -> tuple[str, str, str | None]:
    parts = [p.strip() for p in clean_text(text).split("|")]
    if len(parts) < 2 or len(parts) > 3:
        raise CommandError(f"Usage: `{usage}` — e.g. `/macro add thanks | Thanks {{customer.first_name}}!`")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def _line(m: Macro) -> str:
    scope = "shared" if m.shared else "yours"
    actions = f" · {m.actions.text()}" if m.actions else ""
    used = f" · used {m.uses}×" if m.uses else ""
    return f"• `{m.name}` ({scope}{used}{actions}) — {shorten(' '.join(m.body.split()), 80)}"


async def list_(ctx: DeskContext, req: Request) -> Reply:
    wanted = clean_text(req.command.text).casefold()
    async with ctx.store.reading() as uow:
        found = await uow.macros.visible(req.actor.key)
    if wanted:
        found = [m for m in found if wanted in m.name or wanted in m.body.casefold()]
    if not found:
        hint = "" if wanted else " Add one: `/macro add NAME | TEXT [| actions]`."
        return Reply.done(f"No macros{f' matching “{shorten(wanted, 40)}”' if wanted else ''}.{hint}")
    lines = ["Macros (apply with `/ticket macro N NAME`, or the card's Macro… menu):", *map(_line, found)]
    return Reply.done("\n".join(lines))


async def show(ctx: DeskContext, req: Request) -> Reply:
    name = check_name(req.command.text.split()[0])
    async with ctx.store.reading() as uow:
        macro = await find(uow, req, name)
        history = await uow.macros.versions(macro.name, macro.owner)
    lines = [
        f"Macro `{macro.name}` ({macro.scope}, version {macro.version}, used {macro.uses}×)",
        macro.body,
        f"Actions: {macro.actions.text() or 'none'}",
        "Versions:",
        *(f"  v{v} {at:%Y-%m-%d %H:%M} {actor}: {change}" for v, at, actor, change in history),
    ]
    return Reply.done("\n".join(lines))


async def add(ctx: DeskContext, req: Request) -> Reply:
    raw_name, body, raw_actions = _split_definition(req.command.text, req.command.spec.usage)
    name = check_name(raw_name)
    actions = parse_actions(raw_actions or "")
    owner = _owner_for_new(req)
    async with ctx.store.transaction() as uow:
        if await uow.macros.get(name, owner) is not None:
            raise CommandError(f"`{name}` already exists — change it with `/macro edit {name} | TEXT [| actions]`.")
        await _checked(uow, body)
        macro = Macro(name=name, body=body, actions=actions, owner=owner)
        await uow.macros.save(macro, actor=req.actor.display, at=ctx.clock.now(), change="created")
    ctx.macros.invalidate()
    scope = "shared with the team" if not owner else "personal (only you see it)"
    return Reply.done(f"Macro `{name}` saved, {scope}. Apply it with `/ticket macro N {name}`.")


async def edit(ctx: DeskContext, req: Request) -> Reply:
    text = clean_text(req.command.text)
    head, _, rest = text.partition(" ")
    name = check_name(head.split("|")[0])
    async with ctx.store.transaction() as uow:
        macro = await find(uow, req, name)
        _may_change(req, macro)
        now = ctx.clock.now()
        if "|" in text:
            _, body, raw_actions = _split_definition(text, "/macro edit NAME | TEXT [| actions]")
            actions = parse_actions(raw_actions) if raw_actions is not None else macro.actions
            changed = Macro(name=name, body=body, actions=actions, owner=macro.owner)
            change = "text and actions" if raw_actions is not None else "text"
        else:
            part, _, value = rest.strip().partition(" ")
            part, value = part.lower(), value.strip()
            if part not in _PARTS or (not value and part != "actions"):
                raise CommandError(
                    f"Usage: `/macro edit {name} | TEXT [| actions]`, or `/macro edit {name} text|actions|name VALUE`."
                )
            if part == "name":
                new_name = check_name(value)
                if await uow.macros.get(new_name, macro.owner) is not None:
                    raise CommandError(f"There already is a macro `{new_name}`.")
                await uow.macros.rename(macro, new_name, actor=req.actor.display, at=now)
                ctx.macros.invalidate()
                return Reply.done(f"Macro `{name}` is now `{new_name}`.")
            body = value if part == "text" else macro.body
            actions = parse_actions(value) if part == "actions" else macro.actions
            changed, change = Macro(name=name, body=body, actions=actions, owner=macro.owner), part
        await _checked(uow, changed.body)
        version = await uow.macros.save(changed, actor=req.actor.display, at=now, change=change)
    ctx.macros.invalidate()
    if version is None:
        return Reply.done(f"Macro `{name}` unchanged.")
    return Reply.done(f"Macro `{name}` updated (version {version}).")


async def delete(ctx: DeskContext, req: Request) -> Reply:
    name = check_name(req.command.text.split()[0])
    async with ctx.store.transaction() as uow:
        macro = await find(uow, req, name)
        _may_change(req, macro)
        await uow.macros.delete(macro, actor=req.actor.display, at=ctx.clock.now())
    ctx.macros.invalidate()
    return Reply.done(f"Macro `{name}` deleted. Its versions stay in the history.")


# --- applying a macro -------------------------------------------------------------------------------------


async def apply(ctx: DeskContext, req: Request) -> Reply:
    """`/ticket macro [N] NAME [extra text]`: the filled reply goes to the customer like `/ticket reply`."""
    name_word, _, extra = clean_text(req.command.text).partition(" ")
    name = check_name(name_word)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        replied = t.reply_from_agent(work.now, macro=name)  # refused on a closed ticket, before the lookup
        macro = await find(work.uow, req, name)
        values = Values(customer=t.customer.display, agent=req.actor.display, ticket=t.ref, subject=t.subject)
        cited = await _cited(work.uow, macro.body)

        def article(article_id: str) -> str:
            found = cited.get(article_id)
            if found is None:  # deleted since the macro was saved: say so rather than send a broken reference
                return f"(the article {article_id} is no longer available)"
            return f"{found.title}: {found.summary(300)} (read it all: `/kb show {found.id}`)"

        body = fill(macro.body, values, article)
        if extra.strip():
            body = f"{body}\n\n{extra.strip()}"
        await work.event("macro_applied", macro=macro.name, owner=macro.owner, version=macro.version)
        await work.record(replied)
        await work.to_customer(notify.agent_reply(req.actor, body), author=req.actor, role="agent", body=body)
        done = await _act(work, macro.actions, values, body)
    what = f"; {', '.join(done)}" if done else ""
    return Reply.done(f"Sent `{macro.name}` to {t.customer.display} on {t.ref}{what}.", t.number)


async def _act(work: TicketWork, actions: Actions, values: Values, body: str) -> list[str]:
    """Apply the macro's actions to the loaded ticket; an impossible move raises and rolls everything back."""
    t = work.ticket
    done: list[str] = []
    if actions.priority and await work.record(t.set_priority(actions.priority)):
        done.append(f"priority {actions.priority.value}")
    if await work.record(t.change_tags(add=actions.tags_add, remove=actions.tags_remove)):
        done.append(f"tags {', '.join(t.tags) or 'none'}")
    if actions.note:
        note = fill(actions.note, values, lambda a: f"{{kb:{a}}}")
        logged = await work.log(note, author=work.actor, role="agent", visibility="internal", delivery="queued")
        await work.event("noted", visibility="internal")
        await work.to_card_thread(notify.internal_note(work.actor, note), log_message=logged)
        done.append("an internal note")
    target = actions.status
    if target is not None and target is not t.status:
        if target is Status.RESOLVED:
            await work.record(t.resolve(body, work.now, agent=work.actor, recorded_summary=shorten(body, 300)))
            await work.to_customer(_resolved(t.ref, t.number, work.actor.display))
        else:
            await work.record(t.set_status(target, work.now, reason="macro"))
            await work.to_customer(notify.status_changed(t))
        done.append(f"status {target.label}")
    work.touch()
    return done


def _resolved(ref: str, number: int, agent: str) -> Message:
    """The resolution after a macro's reply: the reply above is the answer, so it is not repeated."""
    return Message(
        text=f"{ref} is resolved by {agent} with the answer above.\nDid this solve your problem?",
        buttons=(
            Button(label="Yes, solved", command=f"/ticket close {number}", style=ButtonStyle.PRIMARY),
            Button(label="No, reopen", command=f"/ticket reopen {number}", style=ButtonStyle.DANGER),
        ),
    )
