"""Signing in through chat: one-time, expiring, unforgeable links; sessions that end, and roles re-checked."""

from __future__ import annotations

from datetime import timedelta

from bot.config import RolesConfig
from bot.services.desk_context import RoleDirectory
from bot.storage import open_store
from tests.conftest import ALICE, BOB, DANA
from tests.fakes.clock import FakeClock
from tests.web.conftest import Browser


async def test_dashboard_answers_with_a_one_time_link_and_the_link_signs_in(browser: Browser) -> None:
    reply = await browser.desk.run(BOB, "/dashboard")
    assert reply.ok
    assert reply.text.startswith("Your dashboard sign-in link (only you see it; it works once, within 10 minutes): ")
    assert "http://127.0.0.1:8080/signin/" in reply.text

    signed = await browser.sign_in(BOB)
    assert signed.status == 303 and signed.headers["Location"] == "/queue"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    queue = await browser.client.get("/queue")
    assert queue.status == 200
    assert "Bob" in await queue.text()


async def test_a_link_works_once(browser: Browser, second_browser: Browser) -> None:
    token = await browser.link_for(BOB)
    assert (await browser.client.post("/signin", data={"token": token}, allow_redirects=False)).status == 303
    again = await second_browser.client.post("/signin", data={"token": token}, allow_redirects=False)
    assert again.status == 400
    assert "already used (each link works once)" in await again.text()
    assert (await second_browser.client.get("/queue")).status == 401
    assert "already used" in await (await second_browser.client.get(f"/signin/{token}")).text()


async def test_a_link_expires_after_ten_minutes(browser: Browser, clock: FakeClock) -> None:
    token = await browser.link_for(BOB)
    clock.advance(minutes=10)
    page = await browser.client.get(f"/signin/{token}")
    assert page.status == 400 and "has expired (links work for 10 minutes)" in await page.text()
    posted = await browser.client.post("/signin", data={"token": token}, allow_redirects=False)
    assert posted.status == 400


async def test_forged_and_altered_links_are_refused(browser: Browser) -> None:
    token = await browser.link_for(BOB)
    link_id, _, signature = token.partition(".")
    for forged in (f"{link_id}.{signature[:-2]}xx", f"{link_id}x.{signature}", "nonsense", f"{link_id}."):
        response = await browser.client.post("/signin", data={"token": forged}, allow_redirects=False)
        assert response.status == 400, forged
        assert "This sign-in link is not valid" in await response.text()
    # the genuine link still works after the forgeries
    assert (await browser.client.post("/signin", data={"token": token}, allow_redirects=False)).status == 303


async def test_a_link_signed_with_another_key_is_refused(browser: Browser, second_browser: Browser) -> None:
    token = await browser.link_for(BOB)
    access = browser.desk.ctx.dashboard
    assert access is not None
    browser.desk.ctx.dashboard = type(access)(public_url=access.public_url, secret=b"another key")
    try:
        response = await browser.client.post("/signin", data={"token": token}, allow_redirects=False)
    finally:
        browser.desk.ctx.dashboard = access
    assert response.status == 400


async def test_customers_get_no_link_and_no_dashboard(browser: Browser) -> None:
    reply = await browser.desk.run(ALICE, "/dashboard")
    assert not reply.ok
    assert reply.text == "Only agents can use `/dashboard link`. You are signed in as a customer."


async def test_sessions_end_after_twelve_hours(browser: Browser, clock: FakeClock) -> None:
    await browser.sign_in(BOB)
    clock.advance(hours=11, minutes=59)
    assert (await browser.client.get("/queue")).status == 200
    clock.advance(minutes=1)
    ended = await browser.client.get("/queue")
    assert ended.status == 401
    assert "Type /dashboard in chat" in await ended.text()


async def test_sign_out_revokes_the_session_server_side(browser: Browser) -> None:
    signed = await browser.sign_in(BOB)
    cookie = signed.cookies["threaddesk_session"].value
    csrf = await browser.csrf()
    out = await browser.client.post("/signout", data={"csrf": csrf})
    assert out.status == 200 and "You are signed out" in await out.text()
    # even a copy of the cookie kept elsewhere no longer works
    stolen = await browser.client.get("/queue", cookies={"threaddesk_session": cookie})
    assert stolen.status == 401


async def test_sign_out_everywhere_ends_every_session_of_that_person(browser: Browser, second_browser: Browser) -> None:
    await browser.sign_in(BOB)
    await second_browser.sign_in(BOB)
    csrf = await browser.csrf("/account")
    assert (await browser.client.post("/signout", data={"csrf": csrf, "everywhere": "1"})).status == 200
    assert (await second_browser.client.get("/queue")).status == 401


async def test_the_role_is_checked_again_on_every_request(browser: Browser) -> None:
    await browser.sign_in(BOB)
    assert (await browser.client.get("/queue")).status == 200
    # Bob is taken off the agents list (the same role source chat uses): the next page is refused
    browser.desk.ctx.roles = RoleDirectory(RolesConfig(agents=("test:erin",), leads=("test:dana",)))
    refused = await browser.client.get("/queue")
    assert refused.status == 403
    assert "The dashboard is for agents, team leads and admins" in await refused.text()


async def test_reports_are_for_leads(browser: Browser, second_browser: Browser) -> None:
    await browser.sign_in(BOB)
    refused = await browser.client.get("/reports")
    assert refused.status == 403
    assert "This page is for team leads; you are signed in as an agent." in await refused.text()
    await second_browser.sign_in(DANA)
    assert (await second_browser.client.get("/reports")).status == 200


async def test_https_base_url_makes_the_cookie_secure(browser: Browser) -> None:
    signed_plain = await browser.sign_in(BOB)
    assert "Secure" not in signed_plain.headers["Set-Cookie"]
    token = await browser.link_for(BOB)
    behind_proxy = await browser.client.post(
        "/signin", data={"token": token}, headers={"X-Forwarded-Proto": "https"}, allow_redirects=False
    )
    assert "Secure" in behind_proxy.headers["Set-Cookie"]


async def test_the_link_ttl_is_ten_minutes_to_the_second(browser: Browser, clock: FakeClock) -> None:
    token = await browser.link_for(BOB)
    clock.advance(seconds=timedelta(minutes=10).total_seconds() - 1)
    assert (await browser.client.get(f"/signin/{token}")).status == 200


def test_an_admin_signs_people_out_from_the_terminal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from typer.testing import CliRunner

    from adapters.cli import app
    from bot.domain.refs import UserRef
    from bot.ports import SystemClock as Clock  # the command reads the real clock
    from bot.services import web_auth
    from bot.services.web_auth import DashboardAccess

    path = tmp_path / "desk.db"
    access = DashboardAccess(public_url="http://127.0.0.1:8080", secret=b"k")
    bob = UserRef(platform="console", id="bob", name="Bob")

    async def sign_in() -> None:
        async with open_store(path) as db:
            for _ in range(2):
                link = await web_auth.issue_link(db, Clock(), access, bob)
                assert not isinstance(await web_auth.redeem_link(db, Clock(), access, link.rsplit("/", 1)[1]), str)

    asyncio.run(sign_in())
    runner = CliRunner()
    listed = runner.invoke(app, ["web", "sessions", "--db", str(path)])
    assert listed.exit_code == 0, listed.output
    assert "2 live" in listed.output and "Bob (console:bob)" in listed.output
    assert runner.invoke(app, ["web", "revoke", "--db", str(path)]).exit_code == 2
    revoked = runner.invoke(app, ["web", "revoke", "--user", "console:bob", "--db", str(path)])
    assert revoked.exit_code == 0 and "Signed out 2 session(s) of console:bob." in revoked.output
