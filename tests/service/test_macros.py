"""Macros through the core: saved with their placeholders checked, applied like `/ticket reply` with their
actions in the same transaction, offered (and suggested) on the queue card, hidden from customers."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, DANA, ERIN, dm
from tests.fakes.platform import RecordingPlatform

RESET = (
    "/macro add reset-link | Hi {customer.first_name}, here is how to get back in: {kb:reset-password} "
    "| status pending; tag password"
)


async def test_a_shared_macro_is_suggested_on_the_card_and_applied_from_its_menu(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    saved = await desk.run(DANA, RESET)
    assert saved.ok and saved.text == (
        "Macro `reset-link` saved, shared with the team. Apply it with `/ticket macro N reset-link`."
    )
    assert (await desk.run(DANA, "/macro add thanks | Thanks, {customer}! Anything else, just write here.")).ok

    await desk.receive(dm(ALICE, "I forgot my password and can't log in", message_id="m-open"))
    await worker.drain()
    [card] = platform.in_channel("queue")
    fields = {f.name: f.value for f in card.current.fields}
    assert fields["Suggested macro"] == "reset-link"
    [menu] = card.current.menus
    assert menu.placeholder == "Macro…"
    assert [o.label for o in menu.options] == ["★ reset-link (suggested)", "thanks"]
    assert (await desk.run(DANA, "/ticket show 1")).text.count("Alice opened it") == 1

    # the agent picks the option: its command runs as them, exactly like a typed `/ticket macro`
    applied = await desk.run(BOB, menu.options[0].command)
    assert applied.ok, applied.text
    assert applied.text == "Sent `reset-link` to Alice on #1; tags password, status pending."
    await worker.drain()
    said = platform.texts("dm-alice", "m-open")
    assert said[-2].startswith("Bob: Hi Alice, here is how to get back in: Can't log in or forgot your password: ")
    assert said[-2].endswith("(read it all: `/kb show reset-password`)")
    assert said[-1].startswith("#1 is now pending.")
    fields = {f.name: f.value for f in card.current.fields}
    assert (fields["Status"], fields["Tags"]) == ("pending", "password")
    assert "Suggested macro" not in fields, "the suggestion is for a ticket nobody has answered yet"
    history = (await desk.run(BOB, "/ticket show 1")).text.split("History:")[1]
    assert "Bob applied the macro reset-link (v1)" in history
    assert "Bob changed status open → pending (macro)" in history
    listing = await desk.run(ERIN, "/macro list")
    assert "• `reset-link` (shared · used 1× · status pending; tag password)" in listing.text


async def test_placeholders_and_actions_are_checked_when_saved_not_when_used(desk: Desk) -> None:
    cases = {
        "/macro add hi | Hello {name}": "Unknown placeholder `{name}`.",
        "/macro add hi | See {kb:no-such-article}": "`{kb:no-such-article}`: there is no article `no-such-article`.",
        "/macro add hi | Hello { there": "A lone `{` or `}` in the text",
        "/macro add hi | Hello | status done": "“done” is not a status a macro can set.",
        "/macro add hi | Hello | status new": "“new” is not a status a macro can set.",
        "/macro add hi | Hello | shout loudly": "Unknown macro action “shout”.",
        "/macro add Hi There | Hello": "“Hi There” is not a macro name",
        "/macro add hi": "Usage: `/macro add <name> | <text> [| actions]`",
    }
    for command, problem in cases.items():
        reply = await desk.run(DANA, command)
        assert not reply.ok and problem in reply.text, (command, reply.text)
    assert (await desk.run(DANA, "/macro list")).text.startswith("No macros.")
    literal = await desk.run(DANA, "/macro add braces | Use {{curly}} braces, {agent}")
    assert literal.ok


async def test_customers_can_neither_use_nor_see_macros(desk: Desk, worker: DeliveryWorker) -> None:
    assert (await desk.run(DANA, RESET)).ok
    await desk.receive(dm(ALICE, "password reset mail never arrives", message_id="m-open"))
    tries = ("/macro list", "/macro show reset-link", "/ticket macro 1 reset-link", "/macro", "/macro add x | y")
    for command in tries:
        reply = await desk.run(ALICE, command)
        assert not reply.ok and reply.text.startswith("Only agents can use"), (command, reply.text)
    assert "macro" not in (await desk.run(ALICE, "/ticket show 1")).text.lower()


async def test_personal_macros_belong_to_their_author_and_shared_ones_to_the_leads(desk: Desk) -> None:
    mine = await desk.run(BOB, "/macro add bob-hello | Hi {customer}, Bob here.")
    assert mine.text.startswith("Macro `bob-hello` saved, personal (only you see it).")
    assert "bob-hello" not in (await desk.run(ERIN, "/macro list")).text
    assert not (await desk.run(ERIN, "/macro show bob-hello")).ok
    assert (await desk.run(DANA, RESET)).ok
    refused = await desk.run(ERIN, "/macro edit reset-link text Hi")
    assert refused.text.startswith("`reset-link` is shared: only team leads change it.")
    assert (await desk.run(BOB, "/macro edit bob-hello | Hello {customer}, Bob here. | tag greeted")).text == (
        "Macro `bob-hello` updated (version 2)."
    )
    assert (await desk.run(DANA, "/macro edit reset-link actions status pending")).ok
    shown = await desk.run(DANA, "/macro show reset-link")
    assert "Macro `reset-link` (shared, version 2, used 0×)" in shown.text
    assert "Actions: status pending" in shown.text and "v2 " in shown.text and "Dana: actions" in shown.text
    assert (await desk.run(DANA, "/macro edit reset-link name reset-password-link")).ok
    deleted = await desk.run(DANA, "/macro delete reset-password-link")
    assert deleted.text.startswith("Macro `reset-password-link` deleted")
    assert "reset" not in (await desk.run(BOB, "/macro list")).text


async def test_a_macro_whose_action_cannot_apply_changes_nothing(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    assert (await desk.run(DANA, "/macro add hold | We're checking with the bank. | status on_hold; tag bank")).ok
    await desk.receive(dm(ALICE, "My card was charged twice", message_id="m-open"))
    assert (await desk.run(BOB, "/ticket resolve 1 Refunded the duplicate charge.")).ok
    await worker.drain()
    before = platform.texts("dm-alice", "m-open")
    refused = await desk.run(BOB, "/ticket macro 1 hold")
    assert not refused.ok and "#1 is resolved" in refused.text
    await worker.drain()
    assert platform.texts("dm-alice", "m-open") == before, "the reply was not sent: one transaction"
    history = (await desk.run(BOB, "/ticket show 1")).text
    assert "macro" not in history and "bank" not in history


async def test_a_resolving_macro_sends_its_text_once_and_extra_words_follow_it(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    assert (await desk.run(DANA, "/macro add invoices | Invoices are under Billing › Invoices. | status resolved")).ok
    await desk.receive(dm(ALICE, "Where are my invoices?", message_id="m-open"))
    assert (await desk.run(BOB, "/ticket macro 1 invoices The March one is there too.")).ok
    await worker.drain()
    said = platform.texts("dm-alice", "m-open")
    assert said[-2] == "Bob: Invoices are under Billing › Invoices.\n\nThe March one is there too."
    assert said[-1] == "#1 is resolved by Bob with the answer above.\nDid this solve your problem?"


async def test_usage_counts_reach_the_report_and_the_digest(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.services.digest import build

    assert (await desk.run(DANA, "/macro add invoices | Invoices are under Billing › Invoices.")).ok
    assert (await desk.run(DANA, "/macro add thanks | Thanks {customer}!")).ok
    for n, who in enumerate((ALICE, ALICE, ALICE), 1):
        await desk.receive(dm(who, f"Question {n} about my invoices", message_id=f"m{n}"))
        assert (await desk.run(BOB, f"/ticket macro {n} invoices")).ok
    assert (await desk.run(ERIN, "/ticket macro 1 thanks")).ok
    now = clock.now()
    async with desk.ctx.store.reading() as uow:
        report = await uow.reports.report(now - timedelta(days=1), now + timedelta(seconds=1))
    assert report.macros == {"invoices": 3, "thanks": 1}
    assert report.to_json()["macros"] == {"invoices": 3, "thanks": 1}
    digest = await build(desk.ctx, now - timedelta(days=1), now + timedelta(seconds=1), None)
    assert "Macros used: invoices 3 · thanks 1" in digest.message.text
    assert "used 3×" in (await desk.run(BOB, "/macro show invoices")).text


async def test_the_sample_macros_answer_five_common_questions_in_two_clicks_each(
    desk: Desk,
    worker: DeliveryWorker,
    platform: RecordingPlatform,
    db: Store,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    from bot.services.macro_files import import_folder
    from tests.conftest import ROOT

    imported = await import_folder(db, ROOT / "examples" / "macros", at=clock.now())
    assert (imported.added, imported.errors) == (6, [])
    questions = {
        "I forgot my password and the reset email never arrives": "reset-password",
        "I was charged after cancelling, I want my money back": "refund",
        "Where do I download my invoices?": "invoices",
        "My card was declined when I tried to upgrade": "card-declined",
        "How do I cancel my subscription?": "cancel",
    }
    for n, (question, expected) in enumerate(questions.items(), 1):
        await desk.receive(dm(ALICE if n % 2 else ERIN.model_copy(update={"id": "frank", "name": "Frank"}), question))
        await worker.drain()
        card = platform.in_channel("queue")[-1]
        [menu] = card.current.menus
        first = menu.options[0]  # click 1 opens the menu, click 2 picks the suggested macro
        assert first.label == f"★ {expected} (suggested)", (question, [o.label for o in menu.options[:3]])
        assert (await desk.run(BOB, first.command)).ok
    clock.advance(minutes=1)
    stats = (await desk.run(DANA, "/ticket stats 1d")).text
    assert "Macros used: cancel 1 · card-declined 1 · invoices 1 · refund 1 · reset-password 1" in stats
