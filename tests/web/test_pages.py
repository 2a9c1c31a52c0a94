"""Every page through aiohttp's test client, asserting what an agent or lead reads."""

from __future__ import annotations

import csv
import io
import re

from bot.delivery import DeliveryWorker
from bot.domain.refs import UserRef
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, DANA, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.web.conftest import Browser


async def _tickets(desk: Desk, worker: DeliveryWorker) -> None:
    await desk.receive(dm(ALICE, "I can't log in to my account", message_id="a1"))
    await desk.receive(dm(CAROL, "Our dashboard is down for everyone", message_id="c1"))
    await desk.receive(dm(ALICE, "Where do I download invoices?", message_id="a2"))
    await desk.run(BOB, "/ticket claim 1")
    await desk.run(BOB, "/ticket tag 3 billing-question")
    await worker.drain()


def _numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-ticket="(\d+)"', html)]


async def test_the_queue_lists_open_tickets_most_urgent_first(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)
    page = await browser.client.get("/queue")
    html = await page.text()
    assert page.status == 200
    assert _numbers(html) == [2, 1, 3]  # urgent (outage rule) first, then oldest
    assert "Our dashboard is down for everyone" in html and "Carol" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers["X-Frame-Options"] == "DENY"


async def test_queue_filters_sort_search_and_paging(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)

    async def numbers(query: str) -> list[int]:
        response = await browser.client.get("/queue?" + query)
        assert response.status == 200
        return _numbers(await response.text())

    assert await numbers("priority=urgent") == [2]
    assert await numbers("assignee=none") == [2, 3]
    assert await numbers("assignee=me") == [1]
    assert await numbers("assignee=bob") == [1]
    assert await numbers("tag=billing-question") == [3]
    assert await numbers("category=incident") == [2]
    assert await numbers("q=invoices") == [3]
    assert await numbers("q=%233") == [3]
    assert await numbers("q=carol") == [2]
    assert await numbers("q=100%25") == []  # a % in the search is a character, not a wildcard
    assert await numbers("sort=newest") == [3, 2, 1]
    assert await numbers("status=new") == [2, 3]
    assert await numbers("status=closed") == []
    assert await numbers("sla=at_risk") == []
    empty = await browser.client.get("/queue?status=closed")
    assert "No tickets match these filters." in await empty.text()
    # paging: 50 a page
    for i in range(52):
        someone = UserRef(platform="test", id=f"customer{i}", name=f"Customer {i}")
        await browser.desk.receive(dm(someone, f"question number {i}", message_id=f"bulk{i}"))
    first = await browser.client.get("/queue?status=all&sort=oldest")
    html = await first.text()
    assert len(_numbers(html)) == 50 and "Page 1 of 2" in html and 'rel="next"' in html
    second = await browser.client.get("/queue?status=all&sort=oldest&page=2")
    assert _numbers(await second.text()) == [51, 52, 53, 54, 55]


async def test_sla_breached_filter(browser: Browser, worker: DeliveryWorker, clock: FakeClock) -> None:
    await _tickets(browser.desk, worker)
    clock.advance(minutes=20)  # the urgent ticket's first response target is 15 minutes
    await Scheduler(browser.desk.ctx).tick()
    await browser.sign_in(BOB)
    response = await browser.client.get("/queue?sla=breached")
    html = await response.text()
    assert _numbers(html) == [2]
    assert 'class="sla breached"' in html


async def test_live_rows_answer_204_until_something_changes(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)
    html = await (await browser.client.get("/queue")).text()
    stamp = re.search(r'data-stamp="([^"]+)"', html)
    assert stamp
    unchanged = await browser.client.get("/queue/rows", params={"stamp": stamp.group(1)})
    assert unchanged.status == 204
    await browser.desk.receive(dm(CAROL, "A brand new question", message_id="c2"))
    changed = await browser.client.get("/queue/rows", params={"stamp": stamp.group(1)})
    assert changed.status == 200
    assert "A brand new question" in await changed.text()
    assert changed.headers["X-Total"] == "4" and changed.headers["X-Stamp"] != stamp.group(1)


async def test_ticket_page_shows_header_history_log_and_internal_notes(
    browser: Browser, worker: DeliveryWorker
) -> None:
    await _tickets(browser.desk, worker)
    await browser.desk.run(BOB, "/ticket note 1 Customer is on legacy SSO")
    await browser.desk.run(BOB, "/ticket reply 1 Please try the reset link.")
    await worker.drain()
    await browser.sign_in(BOB)
    page = await browser.client.get("/tickets/1")
    html = await page.text()
    assert page.status == 200
    assert "#1 · I can&#39;t log in to my account" in html
    assert "first response" not in html or "due in" in html  # replied: only the resolution clock runs
    assert re.search(r"resolution due in", html)
    assert "Bob</strong> assigned it to Bob" in html
    note = re.search(r'<li class="msg internal r-agent">.*?</li>', html, re.S)
    assert note and "internal note" in note.group(0) and "Customer is on legacy SSO" in note.group(0)
    assert "Please try the reset link." in html
    missing = await browser.client.get("/tickets/999")
    assert missing.status == 404 and "There is no ticket #999." in await missing.text()


async def test_a_reply_from_the_page_reaches_the_customer(
    browser: Browser, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)
    csrf = await browser.csrf("/tickets/1")
    done = await browser.client.post(
        "/tickets/1", data={"csrf": csrf, "action": "reply", "text": "We reset your password."}
    )
    assert done.status == 200 and str(done.url).endswith("/tickets/1")  # after the redirect
    assert "Sent to Alice on #1." in await done.text()
    await worker.drain()
    assert platform.texts("dm-alice", "a1")[-1] == "Bob: We reset your password."


async def test_page_actions_are_the_chat_commands_with_their_answers(
    browser: Browser, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)
    csrf = await browser.csrf("/tickets/2")

    async def act(action: str, text: str = "") -> str:
        response = await browser.client.post("/tickets/2", data={"csrf": csrf, "action": action, "text": text})
        return await response.text()

    assert "You claimed #2" in await act("claim")
    assert "Internal note added to #2" in await act("note", "Checking the status page")
    assert "#2 is already urgent" in await act("priority", "urgent") or "urgent" in await act("priority", "urgent")
    html = await act("status", "pending")
    assert "pending" in html
    html = await act("command", "/ticket tag 2 vip")
    assert '<span class="tag">vip</span>' in html
    html = await act("status", "sideways")
    assert "“sideways” is not a status." in html and 'class="flash error"' in html
    html = await act("resolve", "Restarted the cluster.")
    assert "Resolved #2" in html or "resolved" in html
    await worker.drain()
    assert "#2 is resolved by Bob: Restarted the cluster." in platform.texts("dm-carol", "c1")[-1]
    unknown = await browser.client.post("/tickets/2", data={"csrf": csrf, "action": "delete"})
    assert unknown.status == 400


async def test_every_form_needs_the_csrf_token(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    await browser.sign_in(BOB)
    for path, data in (
        ("/tickets/1", {"action": "reply", "text": "forged"}),
        ("/tickets/1", {"action": "reply", "text": "forged", "csrf": "not-the-token"}),
        ("/kb/reset-password", {"title": "Hijacked"}),
        ("/signout", {}),
    ):
        response = await browser.client.post(path, data=data)
        assert response.status == 403, path
        assert "This form was not sent from your dashboard session" in await response.text()
    story = await browser.client.get("/tickets/1")
    assert "forged" not in await story.text()


async def test_customer_text_is_escaped_everywhere(browser: Browser, worker: DeliveryWorker, clock: FakeClock) -> None:
    hostile = '<script>alert(1)</script> " onmouseover="alert(2)" <img src=x onerror=alert(3)>'
    await browser.desk.receive(dm(ALICE.model_copy(update={"name": '<b>Eve"</b>'}), hostile, message_id="h1"))
    await worker.drain()
    await browser.sign_in(BOB)
    for path in ("/queue", "/tickets/1", "/transcripts/1"):
        html = await (await browser.client.get(path)).text()
        assert "<script>alert" not in html and "<img src=x" not in html and '" onmouseover="' not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "&lt;b&gt;Eve&#34;&lt;/b&gt;" in html, path
    rows = await browser.client.get("/queue/rows", params={"stamp": "stale"})
    assert "&lt;script&gt;" in await rows.text()


async def test_transcript_is_the_whole_log_in_order(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    await browser.desk.run(BOB, "/ticket note 1 Internal only")
    await browser.desk.run(BOB, "/ticket reply 1 Public answer")
    await browser.desk.receive(dm(ALICE, "Thanks, that worked", thread="a1"))
    await worker.drain()
    await browser.sign_in(BOB)
    page = await browser.client.get("/transcripts/1")
    html = await page.text()
    assert page.status == 200 and "Transcript of #1" in html
    bodies = re.findall(r'<div class="body">(.*?)</div>', html, re.S)
    assert bodies[0] == "I can&#39;t log in to my account"
    assert bodies.index("Internal only") < bodies.index("Public answer") < bodies.index("Thanks, that worked")
    assert html.count("internal note</span>") == 1


async def test_reports_show_the_metrics_with_charts_and_csv(
    browser: Browser, worker: DeliveryWorker, second_browser: Browser, clock: FakeClock
) -> None:
    await _tickets(browser.desk, worker)
    await browser.desk.run(BOB, "/ticket resolve 1 Reset the password.")
    clock.advance(minutes=1)  # a period ends just before now
    await browser.sign_in(DANA)
    page = await browser.client.get("/reports?period=7d")
    html = await page.text()
    assert page.status == 200
    assert re.search(r"<b>3</b> created", html) and re.search(r"<b>1</b> resolved", html)
    for title in (
        "Created vs resolved per day",
        "Open backlog by priority",
        "First response and resolution",
        "Per agent",
    ):
        assert title in html
    assert html.count("<svg") >= 3 and "<rect" in html
    download = await browser.client.get("/reports.csv?period=7d")
    assert download.status == 200 and download.headers["Content-Type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(await download.text())))
    assert rows["created"] == "3" and rows["resolved"] == "1" and rows["per_agent.Bob.resolved"] == "1"
    await second_browser.sign_in(BOB)
    assert (await second_browser.client.get("/reports.csv")).status == 403


async def test_knowledge_base_pages_and_editing_with_versions(browser: Browser) -> None:
    await browser.sign_in(BOB)
    index = await browser.client.get("/kb")
    html = await index.text()
    assert index.status == 200 and "Can&#39;t log in or forgot your password" in html
    article = await browser.client.get("/kb/reset-password")
    html = await article.text()
    assert article.status == 200 and "Learned wordings" in html and "Versions" in html
    csrf = await browser.csrf("/kb/reset-password")
    title = re.search(r'name="title" value="([^"]*)"', html)
    assert title
    edited = await browser.client.post(
        "/kb/reset-password", data={"csrf": csrf, "title": "Reset a forgotten password", "body": "New body text."}
    )
    html = await edited.text()
    assert "Updated the title of `reset-password` (version 2)." in html
    assert "Updated the body of `reset-password` (version 3)." in html
    assert "title edited in chat" in html and "test:bob" in html
    assert (await browser.client.get("/kb/nope")).status == 404


async def test_kb_suggestions_on_the_ticket_page(browser: Browser, worker: DeliveryWorker) -> None:
    await browser.desk.receive(dm(ALICE, "I forgot my password and can't sign in", message_id="p1"))
    await worker.drain()
    await browser.sign_in(BOB)
    html = await (await browser.client.get("/tickets/1")).text()
    section = html.split('<section class="suggestions">')[1].split("</section>")[0]
    assert "/kb/reset-password" in section and "Send to customer" in section


async def test_closing_a_ticket_posts_its_transcript_link_on_the_card(
    browser: Browser, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await _tickets(browser.desk, worker)
    await browser.desk.run(BOB, "/ticket close 1 duplicate of an older request")
    await worker.drain()
    [card] = [p for p in platform.in_channel("queue") if p.current.title and p.current.title.startswith("#1 ")]
    assert platform.texts("queue", card.id)[-1] == "#1: closed — transcript: http://127.0.0.1:8080/transcripts/1"
    # once: closing again changes nothing
    await browser.desk.run(BOB, "/ticket close 1")
    await worker.drain()
    assert sum("transcript:" in text for text in platform.texts("queue", card.id)) == 1


async def test_ticket_page_names_the_incident_it_is_part_of(browser: Browser, worker: DeliveryWorker) -> None:
    await _tickets(browser.desk, worker)
    made = await browser.desk.run(BOB, "/incident new Login failures #1 #2")
    assert made.ok, made.text
    updated = await browser.desk.run(BOB, "/incident update 1 Fix deployed <b>shortly</b>")
    assert updated.ok, updated.text
    await browser.sign_in(BOB)
    html = await (await browser.client.get("/tickets/1")).text()
    shown = re.search(r'<dd id="incident">(.*?)</dd>', html, re.S)
    assert shown, "the ticket page names its incident"
    text = re.sub(r"<[^>]+>", "", shown.group(1))
    assert "INC-1 · Login failures · investigating · 2 linked tickets" in text
    assert "Fix deployed &lt;b&gt;shortly&lt;/b&gt;" in text  # customer-facing text, escaped
    unlinked = await (await browser.client.get("/tickets/3")).text()
    assert 'id="incident"' not in unlinked


async def test_incidents_list_and_page_run_the_incident_commands(
    browser: Browser, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await _tickets(browser.desk, worker)
    assert (await browser.desk.run(BOB, "/incident new Login <b>failures</b> #1 #2")).ok
    await browser.desk.run(BOB, "/incident update 1 Looking into it")
    await worker.drain()
    await browser.sign_in(BOB)
    listed = await (await browser.client.get("/incidents")).text()
    row = re.search(r'<tr data-incident="1">(.*?)</tr>', listed, re.S)
    assert row, "the open incident is listed"
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
    assert cells == ["INC-1", "Login &lt;b&gt;failures&lt;/b&gt;", "investigating", "2", "Bob", "just now"]

    page = await (await browser.client.get("/incidents/1")).text()
    assert re.findall(r'<li data-ticket="(\d+)">', page) == ["1", "2"]
    assert "Looking into it" in page
    csrf = await browser.csrf("/incidents/1")

    async def act(action: str, text: str = "") -> str:
        response = await browser.client.post("/incidents/1", data={"csrf": csrf, "action": action, "text": text})
        assert response.status == 200 and str(response.url).endswith("/incidents/1")  # after the redirect
        return await response.text()

    html = await act("update", "Rolling back the deploy.")
    assert "Update on INC-1 sent to 2 customer thread(s)." in html
    await worker.drain()
    update = "Update on Login <b>failures</b> (investigating): Rolling back the deploy."
    assert platform.texts("dm-alice", "a1").count(update) == 1 and platform.texts("dm-carol", "c1").count(update) == 1
    assert "identified" in await act("status", "identified")
    html = await act("unlink", "#2")
    assert "Unlinked #2 from INC-1." in html and re.findall(r'<li data-ticket="(\d+)">', html) == ["1"]
    html = await act("link", "#3")
    assert re.findall(r'<li data-ticket="(\d+)">', html) == ["1", "3"]
    html = await act("status", "sideways")
    assert "is not an incident status" in html and 'class="flash error"' in html
    html = await act("resolve", "Rolled back; logins work again.")
    assert "INC-1 resolved; 2 linked ticket(s) resolved" in html
    assert 'id="incident-status">resolved<' in html and "Resolve all" not in html
    await worker.drain()
    assert "is resolved by Bob: Rolled back; logins work again." in platform.texts("dm-alice", "a1")[-1]

    assert "No open incidents." in await (await browser.client.get("/incidents")).text()
    assert 'data-incident="1"' in await (await browser.client.get("/incidents?all=1")).text()
    missing = await browser.client.get("/incidents/99")
    assert missing.status == 404 and "There is no incident INC-99." in await missing.text()
    unknown = await browser.client.post("/incidents/1", data={"csrf": csrf, "action": "delete"})
    assert unknown.status == 400
    forged = await browser.client.post("/incidents/1", data={"action": "update", "text": "forged"})
    assert forged.status == 403
