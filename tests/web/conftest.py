"""A dashboard on a real SQLite file with a fake clock, served on loopback to aiohttp's test client.

Sign-in goes the way a person goes: `/dashboard` through the desk, the link's confirmation page, the POST.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.app import build_app
from bot.bootstrap import build_desk
from bot.config import Settings
from bot.ports import Store
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from tests.conftest import make_settings
from tests.fakes.clock import FakeClock

LINK = re.compile(r"https?://\S+/signin/(\S+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def settings() -> Settings:
    return make_settings(web={"enabled": True, "port": 8080})


@pytest.fixture
def desk(settings: Settings, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock) -> Desk:
    return build_desk(settings, db, kb=knowledge, clock=clock)


@dataclass
class Browser:
    """One browser: its own cookie jar."""

    client: TestClient
    desk: Desk

    async def link_for(self, user) -> str:  # type: ignore[no-untyped-def]
        reply = await self.desk.run(user, "/dashboard")
        assert reply.ok, reply.text
        match = LINK.search(reply.text)
        assert match, reply.text
        return match.group(1)

    async def sign_in(self, user) -> ClientResponse:  # type: ignore[no-untyped-def]
        token = await self.link_for(user)
        page = await self.client.get(f"/signin/{token}")
        assert page.status == 200, await page.text()
        return await self.client.post("/signin", data={"token": token}, allow_redirects=False)

    async def csrf(self, path: str = "/queue") -> str:
        page = await self.client.get(path)
        match = CSRF.search(await page.text())
        assert match
        return match.group(1)


@pytest.fixture
async def browser(desk: Desk, settings: Settings) -> AsyncIterator[Browser]:
    async with TestClient(TestServer(build_app(desk, settings.web))) as client:
        yield Browser(client, desk)


@pytest.fixture
async def second_browser(desk: Desk, settings: Settings) -> AsyncIterator[Browser]:
    async with TestClient(TestServer(build_app(desk, settings.web))) as client:
        yield Browser(client, desk)
