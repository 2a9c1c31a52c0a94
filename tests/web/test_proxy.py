"""Behind a reverse proxy: `base_url` puts every page and link under its path and makes the cookie Secure;
actions are refused per role exactly as in chat."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.app import build_app
from bot.bootstrap import build_desk
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from tests.conftest import ALICE, BOB, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.web.conftest import CSRF, LINK, Browser


@pytest.fixture
def proxied() -> Settings:
    return make_settings(web={"enabled": True, "base_url": "https://desk.example.com/desk/"})


@pytest.fixture
async def behind_proxy(
    proxied: Settings, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock
) -> AsyncIterator[tuple[TestClient, Desk]]:
    desk = build_desk(proxied, db, kb=knowledge, clock=clock)
    async with TestClient(TestServer(build_app(desk, proxied.web))) as client:
        yield client, desk


async def test_pages_links_and_cookie_live_under_the_base_url(behind_proxy: tuple[TestClient, Desk]) -> None:
    client, desk = behind_proxy
    reply = await desk.run(BOB, "/dashboard")
    assert "https://desk.example.com/desk/signin/" in reply.text
    match = LINK.search(reply.text)
    assert match
    token = match.group(1)
    confirm = await client.get(f"/desk/signin/{token}")
    assert confirm.status == 200 and 'action="/desk/signin"' in await confirm.text()
    signed = await client.post("/desk/signin", data={"token": token}, allow_redirects=False)
    assert signed.status == 303 and signed.headers["Location"] == "/desk/queue"
    cookie = signed.headers["Set-Cookie"]
    assert "Secure" in cookie and "Path=/desk" in cookie
    assert (await client.get("/queue")).status == 404  # nothing outside the prefix


async def test_page_actions_are_refused_per_role_as_in_chat(browser: Browser, worker: DeliveryWorker) -> None:
    await browser.desk.receive(dm(ALICE, "Where can I download invoices?", message_id="i1"))
    await worker.drain()
    await browser.sign_in(BOB)
    page = await browser.client.get("/tickets/1")
    token = CSRF.search(await page.text())
    assert token
    answer = await browser.client.post(
        "/tickets/1", data={"csrf": token.group(1), "action": "command", "text": "/digest now"}
    )
    html = await answer.text()
    assert "Only team leads can use `/digest now`. You are signed in as an agent." in html
    assert re.search(r'class="flash error"', html)
