"""A real browser (headless Chromium driven by Playwright) through the console's workspace.

A lead asks the console for `/dashboard`, opens the link, filters the queue, opens a ticket and replies;
the reply reaches the customer's thread in the console; a ticket written in chat appears on the open
queue page without a reload; an incident opened in chat is updated from its page, and the update reaches the
customers' threads. Screenshots of each page go to tests/artifacts/ (git-ignored).

Chromium is Debian's (`apt-get install chromium`); Playwright's own browser download is never used. Without
it the test is skipped with one line — except under CI=true, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console.config import ConsoleConfig
from adapters.console.platform import ConsolePlatform
from adapters.console.session import ConsoleSession
from adapters.web import app as web_app
from bot.bootstrap import build_desk
from bot.config import Settings, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.fakes.clock import FakeClock

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_or_skip() -> Any:
    """The Playwright module, or skip (fail under CI) with the one line that says what is missing."""
    problem = None
    try:
        from playwright import async_api
    except ImportError:
        problem = "the python package `playwright` is not installed (pip install -e '.[dev]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run under CI: {problem}")
        pytest.skip(f"browser test skipped: {problem}")
    return async_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings() -> Settings:
    return settings_from_dict(
        {
            "roles": {"agents": ["console:bob"], "leads": ["console:dana"]},
            "console": {"names": {"alice": "Alice", "carol": "Carol", "bob": "Bob", "dana": "Dana"}},
            "web": {"enabled": True, "port": _free_port()},
        },
        {"console": ConsoleConfig},
    )


class Console:
    """The console session in-process: lines in, what a person reads out."""

    def __init__(self, session: ConsoleSession, lines: list[str]) -> None:
        self.session = session
        self.lines = lines

    async def type(self, *lines: str) -> str:
        start = len(self.lines)
        for line in lines:
            await self.session.handle(line)
        return "\n".join(self.lines[start:])


@pytest.fixture
async def console(settings: Settings, db: Store, clock: FakeClock) -> AsyncIterator[Console]:
    desk = build_desk(settings, db, kb=KnowledgeLibrary(), clock=clock)
    platform = ConsolePlatform(show=lambda post: None)
    worker = DeliveryWorker(db, {platform.name: platform}, clock)
    lines: list[str] = []
    config = settings.adapters["console"]
    assert isinstance(config, ConsoleConfig)
    session = ConsoleSession(desk, worker, platform, config, lines.append)
    async with web_app.serve(desk, settings.web):
        yield Console(session, lines)


async def test_a_lead_signs_in_from_the_console_and_works_a_ticket_in_a_real_browser(console: Console) -> None:
    playwright_api = _browser_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    await console.type("I can't log in to my account, the password reset email never arrives")
    await console.type("/as carol", "My invoice shows the wrong amount")
    shown = await console.type("/as dana", "/dashboard")
    match = re.search(r"(http://127\.0\.0\.1:\d+/signin/\S+)", shown)
    assert match, shown
    link = match.group(1)

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            await page.goto(link)
            await page.screenshot(path=str(ARTIFACTS / "01-signin.png"), full_page=True)
            await page.click("#continue")
            await page.wait_for_url(re.compile(r"/queue$"))
            rows = page.locator("#queue-rows tr[data-ticket]")
            assert await rows.count() == 2
            await page.screenshot(path=str(ARTIFACTS / "02-queue.png"), full_page=True)

            # filter: choosing a menu applies at once; the search box with the Filter button
            await page.select_option("select[name=priority]", "urgent")
            await page.wait_for_url(re.compile(r"priority=urgent"))
            assert "No tickets match these filters." in await page.inner_text("#queue-rows")
            await page.select_option("select[name=priority]", "")
            await page.wait_for_url(re.compile(r"priority=&"))
            await page.fill("input[name=q]", "password")
            await page.click("#apply")
            await page.wait_for_url(re.compile(r"q=password"))
            assert await page.locator("#queue-rows tr[data-ticket]").count() == 1
            assert "password reset email" in await page.inner_text("#queue-rows")
            await page.screenshot(path=str(ARTIFACTS / "03-queue-filtered.png"), full_page=True)

            # open the ticket and reply
            await page.click("#queue-rows a[href$='/tickets/1'] >> nth=0")
            await page.wait_for_url(re.compile(r"/tickets/1$"))
            await page.fill("#reply-text", "We re-sent the reset email; please check your spam folder.")
            await page.click("#send-reply")
            await page.wait_for_selector(".flash.ok")
            assert "Sent to Alice on #1." in await page.inner_text(".flash.ok")
            await page.screenshot(path=str(ARTIFACTS / "04-ticket.png"), full_page=True)

            # the customer reads it in her thread, in the console
            seen = await console.type("/as alice", "/go #1", "/read")
            assert "Dana: We re-sent the reset email; please check your spam folder." in seen

            # a ticket written in chat appears on the open queue page, without a reload
            await page.goto(link.split("/signin/")[0] + "/queue")
            await page.evaluate("window.__stillTheSamePage = true")
            assert await page.locator("#queue-rows tr[data-ticket]").count() == 2
            await console.type("/as carol", "/go dm", "The export button does nothing on the reports screen")
            await page.wait_for_selector("#queue-rows tr[data-ticket='3']")
            assert await page.evaluate("window.__stillTheSamePage === true")
            assert "The export button does nothing" in await page.inner_text("#queue-rows")
            await page.screenshot(path=str(ARTIFACTS / "05-queue-live.png"), full_page=True)

            # an incident from chat, updated from its page: the update reaches both customers' threads
            made = await console.type("/as dana", "/go top", "/incident new Login failures #1 #3")
            assert "Opened INC-1" in made, made
            await page.click("header nav >> text=Incidents")
            await page.wait_for_url(re.compile(r"/incidents$"))
            await page.click("#incidents a[href$='/incidents/1'] >> nth=0")
            await page.wait_for_url(re.compile(r"/incidents/1$"))
            assert await page.locator("#linked li[data-ticket]").count() == 2
            await page.fill("#update-text", "We found the cause and are rolling back.")
            await page.click("#send-update")
            await page.wait_for_selector(".flash.ok")
            assert "Update on INC-1 sent to 2 customer thread(s)." in await page.inner_text(".flash.ok")
            await page.screenshot(path=str(ARTIFACTS / "06-incident.png"), full_page=True)
            seen = await console.type("/as alice", "/go #1", "/read")
            assert "Update on Login failures (investigating): We found the cause and are rolling back." in seen

            for name, path in (("07-reports", "/reports"), ("08-kb", "/kb"), ("09-transcript", "/transcripts/1")):
                await page.goto(link.split("/signin/")[0] + path)
                await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            await browser.close()
