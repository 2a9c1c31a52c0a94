"""`/kb …`: search and read articles, the self-service loop, and authoring in chat.

The self-service loop: suggestions come with “This solved it” (`/kb accept`) and “Not what I need”
(`/kb reject`). Accepting resolves the ticket as self-served and teaches the article the customer's
wording (a learned alias); an agent citing an article (`/ticket resolve --kb`) teaches it too.
"""

from __future__ import annotations

import re

from bot.domain.errors import CommandError, IllegalTransition
from bot.domain.text import clean_text, shorten
from bot.domain.ticket import Status, Ticket
from bot.outbound import Field, Message
from bot.ports import UnitOfWork
from bot.services import notify
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
from kb.article import Article

#: A learned alias is the start of what the customer wrote: long text would drown the matcher's ratios.
LEARNED_CHARS = 200
_SLUG = re.compile(r"[^a-z0-9]+")


def customer_wording(ticket: Ticket) -> str:
    return shorten(" ".join(ticket.description.split()), LEARNED_CHARS)


async def reload(ctx: DeskContext) -> None:
    """After this process changed articles: serve the change right away."""
    async with ctx.store.reading() as uow:
        await ctx.kb.refresh(uow, force=True)


async def require_article(uow: UnitOfWork, article_id: str) -> Article:
    article = await uow.articles.get_article(article_id)
    if article is None:
        raise CommandError(f"There is no article `{shorten(article_id, 60)}`. Find its id with `/kb search <words>`.")
    return article


def _article_id(req: Request) -> str:
    words = req.command.text.split()
    if not words:
        raise CommandError(f"Which article? Usage: `{req.command.spec.usage}`")
    return words[0].strip("`[]").lower()


async def search(ctx: DeskContext, req: Request) -> Reply:
    text = clean_text(req.command.text)
    async with ctx.store.reading() as uow:
        await ctx.kb.refresh(uow)
    hits = ctx.kb.suggest(text, 5)
    if not hits:
        return Reply.done("No article matches that closely. Try other words, or open a ticket.")
    lines = [f"Knowledge base results for “{shorten(text, 60)}”:"]
    lines += [f"• {h.article.title} [{h.article.id}] ({h.score:.0f}) — {h.article.summary(120)}" for h in hits]
    fields = tuple(Field(name=f"{h.article.title} [{h.article.id}]", value=h.article.summary(200)) for h in hits)
    return Reply(message=Message(text="\n".join(lines), fields=fields))


async def show(ctx: DeskContext, req: Request) -> Reply:
    article_id = _article_id(req)
    async with ctx.store.reading() as uow:
        article = await require_article(uow, article_id)
        learned = await uow.articles.learned(article_id) if req.is_staff else []
        history = await uow.articles.versions(article_id) if req.is_staff else []
    lines = [f"{article.title} [{article.id}]", article.body.strip() or "(no text yet)"]
    if req.is_staff:
        lines.append(f"Aliases: {'; '.join(article.aliases) or 'none'}")
        if article.tags or article.category:
            lines.append(f"Tags: {', '.join(article.tags) or 'none'} · Category: {article.category or 'none'}")
        if learned:
            lines.append(f"Learned from customers ({len(learned)}; remove with `/kb unlearn {article.id} N`):")
            lines += [f"  {i}. {entry.text}" for i, entry in enumerate(learned, 1)]
        if history:
            last = history[-1]
            lines.append(f"Version {last.version}, {last.change} by {last.actor} on {last.at:%Y-%m-%d %H:%M} UTC.")
    return Reply(message=Message(text="\n".join(lines), markdown=True))


async def accept(ctx: DeskContext, req: Request) -> Reply:
    """“This solved it”: the ticket is resolved as self-served and the article learns the wording."""
    article_id = _article_id(req)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        article = await require_article(work.uow, article_id)
        if not t.status.is_active:
            return Reply.done(f"{t.ref} is already {t.status.label}.", t.number)
        summary = f"Solved by the article “{article.title}” (self-service)."
        await work.record(t.resolve(summary, work.now, by_kb=True, kb=article.id))
        await work.uow.articles.record_feedback(t.number, [article.id], "accepted", work.now)
        wording = customer_wording(t)
        learned = await work.uow.articles.learn(article.id, wording, source="accepted", ticket=t.number, at=work.now)
        await work.to_customer(notify.self_served(t, article))
        await work.to_card_thread(
            notify.card_event(t, f"{req.actor.display} solved it with the article “{article.title}” (self-service).")
        )
    if learned:
        ctx.kb.learned(article.id, wording)
    return Reply.done(f"{t.ref} is resolved — thanks for letting us know!", t.number)


async def reject(ctx: DeskContext, req: Request) -> Reply:
    """“Not what I need”: counted against the suggested articles; the ticket stays with the agents."""
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not t.status.is_active:
            return Reply.done(f"{t.ref} is {t.status.label}; nothing to do.", t.number)
        suggested = await work.uow.articles.suggested_for(t.number)
        await work.uow.articles.record_feedback(t.number, suggested, "rejected", work.now)
        await work.event("kb_rejected", articles=suggested)
        await work.to_customer(notify.still_needs_help(t))
        await work.to_card_thread(
            notify.card_event(t, f"{req.actor.display} says the suggested articles did not help.")
        )
    return Reply.done(f"Noted — {t.ref} stays with our agents.", t.number)


async def suggest(ctx: DeskContext, req: Request) -> Reply:
    article_id = _article_id(req)
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        article = await require_article(work.uow, article_id)
        if not t.status.is_active:
            raise IllegalTransition(f"{t.ref} is {t.status.label} — use `/ticket reopen {t.number}` first.")
        await work.uow.articles.record_feedback(t.number, [article.id], "suggested", work.now)
        await work.event("kb_suggested", article=article.id)
        await work.to_customer(notify.article_for_customer(t, article, req.actor))
    return Reply.done(f"Posted “{article.title}” to {t.customer.display} on {t.ref}.", t.number)


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split("|")]


def _aliases(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip() for a in raw.split(";") if a.strip()))


def _tags(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip().lstrip("#").lower() for t in re.split(r"[,\s]+", raw) if t.strip()))


#: Words left out of an id made from a customer's sentence: `/kb save` should give `password-reset-email-never-arrives`,
#: not the whole sentence.
_ID_FILLER = frozenset(
    {
        "a",
        "an",
        "the",
        "i",
        "im",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "and",
        "or",
        "but",
        "so",
        "can",
        "could",
        "would",
        "should",
        "will",
        "please",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "any",
        "some",
        "just",
        "there",
        "here",
        "when",
        "what",
        "why",
        "how",
        "have",
        "has",
        "had",
        "get",
        "got",
    }
)
_SENTENCE_END = re.compile(r"[.!?\n]+")
ID_WORDS = 5


def article_id_from_sentence(text: str) -> str:
    """A short id for an article made from what a customer wrote: the content words (at most five) of its first
    sentence that has any, e.g. "Hi! The password reset email never arrives." → `password-reset-email-never-arrives`."""
    for sentence in _SENTENCE_END.split(text.replace("'", "").replace("’", "")):
        words = [w for w in _SLUG.split(sentence.casefold()) if w]
        kept = [w for w in words if w not in _ID_FILLER]
        if kept:
            return "-".join(kept[:ID_WORDS])[:60].strip("-")
    return _SLUG.sub("-", text.casefold()).strip("-")[:60].strip("-")


async def _unique_id(uow: UnitOfWork, title: str, *, from_sentence: bool = False) -> str:
    base = article_id_from_sentence(title) if from_sentence else _SLUG.sub("-", title.casefold()).strip("-")[:60]
    base = base.strip("-") or "article"
    candidate, n = base, 1
    while await uow.articles.get_article(candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


async def add(ctx: DeskContext, req: Request) -> Reply:
    parts = _parts(clean_text(req.command.text))
    if len(parts) > 3 or not parts[0]:
        raise CommandError(
            "Write it as `/kb add Title | alias one; alias two | Body text` (aliases and body may be empty)."
        )
    title, raw_aliases, body = (*parts, "", "")[:3]
    async with ctx.store.transaction() as uow:
        article = Article(id=await _unique_id(uow, title), title=title, aliases=_aliases(raw_aliases), body=body)
        await uow.articles.save_article(article, actor=req.actor.key, at=ctx.clock.now(), change="written in chat")
    await reload(ctx)
    return Reply.done(
        f"Added article `{article.id}`: {title} ({len(article.aliases)} alias(es)). "
        f"See it with `/kb show {article.id}`; change it with `/kb edit {article.id} body …`."
    )


EDITABLE = ("title", "aliases", "tags", "category", "body")


async def edit(ctx: DeskContext, req: Request) -> Reply:
    words = clean_text(req.command.text).split(maxsplit=2)
    usage = f"Usage: `{req.command.spec.usage}`"
    if len(words) < 2:
        raise CommandError(f"Say which article and what to change. {usage}")
    article_id, part = words[0].lower(), words[1].lower()
    value = words[2].strip() if len(words) > 2 else ""
    if part not in EDITABLE:
        raise CommandError(f"“{shorten(part, 30)}” is not a part of an article. Edit one of: {', '.join(EDITABLE)}.")
    if not value and part in ("title", "body"):
        raise CommandError(f"The new {part} is missing. {usage}")
    changes: dict[str, object] = {
        "title": value,
        "body": value,
        "aliases": _aliases(value),
        "tags": _tags(value),
        "category": value or None,
    }
    async with ctx.store.transaction() as uow:
        article = await require_article(uow, article_id)
        updated = article.model_copy(update={part: changes[part]})
        version = await uow.articles.save_article(
            updated, actor=req.actor.key, at=ctx.clock.now(), change=f"{part} edited in chat"
        )
    if version is None:
        return Reply.done(f"`{article_id}` already has that {part}; nothing changed.")
    await reload(ctx)
    return Reply.done(f"Updated the {part} of `{article_id}` (version {version}).")


async def unlearn(ctx: DeskContext, req: Request) -> Reply:
    words = req.command.text.split()
    if len(words) < 2:
        raise CommandError(f"Say which article and which learned wordings. Usage: `{req.command.spec.usage}`")
    article_id = words[0].lower()
    positions: list[int] | None = None
    if [w.lower() for w in words[1:]] != ["all"]:
        if not all(w.isdigit() for w in words[1:]):
            raise CommandError("Give the numbers shown by `/kb show ARTICLE`, or `all`.")
        positions = [int(w) for w in words[1:]]
    async with ctx.store.transaction() as uow:
        await require_article(uow, article_id)
        removed = await uow.articles.unlearn(article_id, positions)
    if not removed:
        return Reply.error(f"No such learned wording on `{article_id}`. `/kb show {article_id}` lists them.")
    await reload(ctx)
    return Reply.done(f"Removed {removed} learned wording(s) from `{article_id}`.")


async def save(ctx: DeskContext, req: Request) -> Reply:
    """Knowledge captured where work happens: a resolved ticket becomes an article."""
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if t.status not in (Status.RESOLVED, Status.CLOSED) or not t.resolution_summary:
            raise IllegalTransition(
                f"{t.ref} has no resolution yet — resolve it with a summary first (`/ticket resolve {t.number} …`)."
            )
        for event in await work.uow.history.events_for(t.number):
            if event.kind == "saved_as_article":
                saved = event.detail.get("article")
                return Reply.done(f"{t.ref} is already saved as article `{saved}` (`/kb show {saved}`).", t.number)
        article = Article(
            id=await _unique_id(work.uow, t.subject, from_sentence=True),
            title=t.subject,
            aliases=(customer_wording(t),),
            body=t.resolution_summary,
            category=t.category,
        )
        await work.uow.articles.save_article(
            article, actor=req.actor.key, at=work.now, change=f"saved from ticket {t.ref}"
        )
        await work.event("saved_as_article", article=article.id)
    await reload(ctx)
    return Reply.done(
        f"Saved {t.ref} as article `{article.id}`. Polish it with `/kb edit {article.id} body …` "
        f"or `/kb edit {article.id} title …`.",
        t.number,
    )


#: Articles listed by `/kb stats` in chat; `threaddesk kb stats` lists every one.
STATS_SHOWN = 15


async def stats(ctx: DeskContext, req: Request) -> Reply:
    """The numbers of `threaddesk kb stats`, in chat: the most helpful articles first."""
    async with ctx.store.reading() as uow:
        rows = await uow.articles.stats()
    used = [r for r in rows if r.suggested or r.accepted or r.rejected or r.helped_resolve]
    if not used:
        return Reply.done(f"No article has been suggested yet ({len(rows)} article(s) in the knowledge base).")
    lines = [f"Knowledge base use — {len(used)} of {len(rows)} article(s) suggested or cited, most helpful first:"]
    lines += [
        f"• {r.title} [{r.article}]: suggested {r.suggested} · accepted {r.accepted} · rejected {r.rejected}"
        f" · helped resolve {r.helped_resolve}"
        for r in used[:STATS_SHOWN]
    ]
    if len(used) > STATS_SHOWN:
        lines.append(f"… and {len(used) - STATS_SHOWN} more (`threaddesk kb stats` lists every article).")
    return Reply.done("\n".join(lines))
