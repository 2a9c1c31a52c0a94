"""The queue card's Macro… menu and its suggested macro (shown, never applied on its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.outbound import Button, Choice, Field, Message

if TYPE_CHECKING:
    from bot.services.desk_context import DeskContext
    from bot.services.ticket_work import TicketWork

MENU_PLACEHOLDER = "Macro…"
#: Slack static selects take 100 options (typing filters them); Discord selects show the first 25
MENU_OPTIONS = 100


async def decorate(work: TicketWork, card: Message) -> Message:
    """Add the Macro… menu (shared macros, the suggested one first) to an active ticket's card."""
    t = work.ticket
    if not t.status.is_active:
        return card
    library = work.ctx.macros
    await library.refresh(work.uow)
    if not library.shared:
        return card
    suggested = await work.uow.macros.suggestion_for(t.number)
    ordered = sorted(library.shared, key=lambda m: m.name != suggested)  # stable: most used next
    options = tuple(
        Button(
            label=f"★ {m.name} (suggested)" if m.name == suggested else m.name,
            command=f"/ticket macro {t.number} {m.name}",
        )
        for m in ordered[:MENU_OPTIONS]
    )
    fields = card.fields
    if suggested and t.first_response_at is None and any(m.name == suggested for m in ordered):
        fields = (*fields, Field(name="Suggested macro", value=suggested))
    return card.model_copy(
        update={"fields": fields, "menus": (*card.menus, Choice(placeholder=MENU_PLACEHOLDER, options=options))}
    )


async def suggestion_for_new(ctx: DeskContext, text: str) -> str | None:
    """The most likely shared macro for a new ticket's text (remembered for its card), worked out before the
    ticket's unit of work. Returns its name."""
    library = ctx.macros
    await library.refresh_before_unit(ctx.store)
    hit = library.suggest(text)
    return hit.name if hit is not None else None
