"""The dashboard's text search and tag filter read indexes (schema 16: FTS5 trigram on SQLite, pg_trgm on
PostgreSQL; `ticket_tags` / a GIN index for tags) and answer what the scan answered: a case-insensitive
substring of subject, description or customer name, `%`, `_` and `\\` literal — after every way a ticket's
text changes (insert, save, erasure, retention) and for text too short for a trigram."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.refs import ThreadRef, UserRef
from bot.domain.ticket import Priority, Status
from bot.ports import Store
from bot.records import ERASED
from tests.fakes.sql import sql
from tests.service.test_pg_web_queries import ACTIVE, T0, numbers, page, seed


async def _open(db: Store, subject: str, description: str = "details", name: str = "Hana") -> int:
    async with db.transaction() as uow:
        ticket = await uow.tickets.insert_ticket(
            subject=subject,
            description=description,
            customer=UserRef(platform="test", id=name.lower(), name=name),
            origin=ThreadRef(platform="test", channel="dm", thread=f"x-{subject}"),
            priority=Priority.NORMAL,
            category="general",
            at=T0 + timedelta(hours=1),
        )
    return ticket.number


async def test_a_new_ticket_is_found_at_once(db: Store) -> None:
    await seed(db)
    number = await _open(db, "Printer jams on page two", "tray 3 squeaks", name="Ingrid Osei")
    assert await numbers(db, text="printer") == [number]
    assert await numbers(db, text="JAMS ON") == [number]  # across a space, any ASCII case
    assert await numbers(db, text="squeak") == [number]  # the description
    assert await numbers(db, text="grid os") == [number]  # the customer's name
    assert await numbers(db, text="printer", statuses=ACTIVE) == [number]  # new is active
    assert await numbers(db, text="printer", statuses=(Status.CLOSED,)) == []
    assert await numbers(db, text="printer", category="billing") == []
    assert await numbers(db, text="jams on page two, really") == []  # the whole text must occur


async def test_a_changed_subject_is_found_by_the_new_text_only(db: Store) -> None:
    await seed(db)
    async with db.transaction() as uow:
        ticket = await uow.tickets.get_ticket(1)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update={"subject": "Receipts vanished"}))
    assert await numbers(db, text="invoices missing") == []
    assert await numbers(db, text="receipts") == [1]
    assert await numbers(db, text="where are my invoices") == [1]  # the description did not change
    async with db.transaction() as uow:  # a save that leaves the text alone changes nothing
        ticket = await uow.tickets.get_ticket(1)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update={"status": Status.PENDING}))
    assert await numbers(db, text="receipts") == [1]


async def test_an_erased_customer_is_not_found_by_what_they_wrote(db: Store) -> None:
    await seed(db)
    assert await numbers(db, text="invoices") == [1]
    async with db.transaction() as uow:
        done = await uow.privacy.erase_person("test", "alice", apply=True)
    assert done.tickets == [1]
    for gone in ("invoices", "Invoices missing", "where are my", "Alice", "lic"):
        assert await numbers(db, text=gone) == [], gone
    assert await numbers(db, text=ERASED) == [1]
    assert await numbers(db, text="refund") == [6]  # the others' tickets are still found


async def test_retention_purge_drops_the_text_from_the_search(db: Store) -> None:
    await seed(db)
    async with db.transaction() as uow:
        ticket = await uow.tickets.get_ticket(5)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update={"closed_at": T0}))
    assert await numbers(db, text="snake_case") == [5]
    async with db.transaction() as uow:
        assert await uow.privacy.purge_closed(T0 + timedelta(days=1)) == [5]
    assert await numbers(db, text="snake_case") == []
    assert await numbers(db, text="Fay") == [5]  # the name stays (retention erases texts, not people)


async def test_text_shorter_than_a_trigram_still_matches(db: Store) -> None:
    await seed(db)
    assert await numbers(db, text="og") == [2]  # "Login broken", "cannot log in"
    assert await numbers(db, text="OG") == [2]
    assert await numbers(db, text="y") == [1, 5, 4]  # "where are my invoices", Fay, "Payment failed"
    assert await numbers(db, text="fa") == [5, 4]
    assert await numbers(db, text="fa", statuses=ACTIVE) == []
    assert await numbers(db, text="zq") == []
    assert await numbers(db, text=" % ") == [3]  # stripped: a lone %, literal


async def test_special_characters_are_literal(db: Store) -> None:
    await seed(db)
    slash = await _open(db, r"Path C:\temp\new fails", '50%_off_code and "quotes" AND OR NEAR *')
    assert await numbers(db, text="100% off") == [3]
    assert await numbers(db, text="0%_o") == [slash]
    assert await numbers(db, text="0%xo") == []  # % is not a wildcard
    assert await numbers(db, text="e_c") == [5]  # snake_case
    assert await numbers(db, text="e_x") == []  # _ is not a wildcard
    assert await numbers(db, text=r"C:\temp") == [slash]
    assert await numbers(db, text=r"\new") == [slash]
    assert await numbers(db, text=r"\\new") == []
    assert await numbers(db, text='"quotes"') == [slash]  # FTS query syntax is text here
    assert await numbers(db, text='"quotes') == [slash]
    assert await numbers(db, text="AND OR NEAR") == [slash]
    assert await numbers(db, text="NEAR *") == [slash]
    assert await numbers(db, text="*") == [slash]
    assert await numbers(db, text="off*") == []


async def test_text_beyond_ascii(db: Store) -> None:
    await seed(db)
    french = await _open(db, "Échec du paiement", "la carte a été refusée", name="Zoë Müller")
    chinese = await _open(db, "付款失败", "银行卡被拒绝", name="王小明")
    assert await numbers(db, text="Échec") == [french]
    assert await numbers(db, text="chec du") == [french]
    assert await numbers(db, text="été refus") == [french]
    assert await numbers(db, text="zoë") == [french]  # the Z in any case (ASCII)
    assert await numbers(db, text="Müll") == [french]
    assert await numbers(db, text="echec") == []  # accents are letters of their own
    assert await numbers(db, text="款失败") == [chinese]
    assert await numbers(db, text="付款") == [chinese]  # two characters: no trigram, still found
    assert await numbers(db, text="小") == [chinese]
    assert await numbers(db, text="被拒绝") == [chinese]
    assert await numbers(db, text="失败了") == []


async def test_common_text_is_counted_and_paged_as_rare_text_is(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `COUNT_CAP` candidates SQLite walks the queue in order instead of starting from the index: the
    same tickets, the same order and pages."""
    await seed(db)
    extra = [await _open(db, f"Export number {i} failed") for i in range(5)]
    before = [await page(db, text="export", per_page=2, page=p) for p in (1, 2, 3)]
    assert before == [(extra[:2], 5), (extra[2:4], 5), (extra[4:], 5)]
    for module in ("bot.store.sqlite.web", "bot.store.postgres.web"):
        monkeypatch.setattr(f"{module}.COUNT_CAP", 3)
    assert await page(db, text="export", per_page=2) == (extra[:2], 4)  # "more than 3"
    assert await page(db, text="export", per_page=2, page=3) == (extra[4:], 4)
    assert await numbers(db, text="number 3") == [extra[3]]


async def test_a_tag_filter_follows_the_tickets_tags(db: Store) -> None:
    await seed(db)
    assert await numbers(db, tag="vip") == [6, 1, 4]
    async with db.transaction() as uow:
        ticket = await uow.tickets.get_ticket(1)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update={"tags": ("billing", "VIP", "vip2")}))
    assert await numbers(db, tag="vip") == [6, 4]
    assert await numbers(db, tag="VIP") == [1]
    assert await numbers(db, tag="vip2", statuses=ACTIVE) == [1]
    assert await numbers(db, tag="billing") == [1]
    number = await _open(db, "Tagged later")
    assert await numbers(db, tag="vip", statuses=ACTIVE) == [6]
    async with db.transaction() as uow:
        ticket = await uow.tickets.get_ticket(number)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update={"tags": ("vip", "vip")}))
    assert await numbers(db, tag="vip", statuses=ACTIVE) == [6, number]


@pytest.mark.sqlite_only
async def test_the_sqlite_index_agrees_with_the_tickets(db: Store) -> None:
    """FTS5's own check of an external-content index against its table, and `ticket_tags` against the
    JSON lists, after inserts, saves and an erasure."""
    await seed(db)
    await _open(db, "One more", "with text")
    async with db.transaction() as uow:
        await uow.privacy.erase_person("test", "carol", apply=True)
    sql(db, "INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('integrity-check', 1)")
    derived = sql(db, "SELECT t.number, j.value FROM tickets t, json_each(t.tags) j ORDER BY 1, 2")
    assert sql(db, "SELECT ticket, tag FROM ticket_tags ORDER BY 1, 2") == derived
