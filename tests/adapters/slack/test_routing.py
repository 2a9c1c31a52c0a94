"""Teams on Slack through the real bolt app and the fake Web API: a team whose members are a Slack user group
(loaded with usergroups.users.list, named with users.info), automatic assignment told to the assignee in a DM
with the card's permalink, `/agent away|back`, `/team list|show` and `/ticket transfer`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.registry import AdapterStartupError
from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk
from bot.config import settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.adapters.slack.conftest import CHANNELS, USERS
from tests.adapters.slack.harness import SIGNING_SECRET, SlackDriver, payload
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, Failure, FakeSlackApi, Posted

DM_TS = "1699990000.000100"
TEAMS: list[dict[str, Any]] = [
    {
        "name": "support",
        "members": ["slack:group:S0SUPPORT"],
        "categories": ["general"],
        "assignment": "round_robin",
        "escalate_to": "engineering",
    },
    {"name": "engineering", "members": ["slack:UDAVE"], "queue_channel": "CENG", "assignment": "least_loaded"},
]


def settings_for(api: FakeSlackApi, teams: list[dict[str, Any]]) -> Any:
    raw = {
        "roles": {"leads": ["slack:UDANA"]},  # Bob and Erin are agents as members of the team's user group
        "kb": {"suggestions": 0},
        "teams": teams,
        "slack": {
            "enabled": True,
            "mode": "http",
            "api_base_url": api.api_url,
            "intake_channels": ["CSUPPORT"],
            "queue_channel": "CQUEUE",
            "leads_channel": "CLEADS",
        },
    }
    return settings_from_dict(raw, {"slack": SlackConfig})


@pytest.fixture
async def teams_driver(db: Store, clock: FakeClock) -> AsyncIterator[SlackDriver]:
    channels = {k: dict(v) for k, v in CHANNELS.items()}
    channels["CENG"] = {"id": "CENG", "name": "engineering-queue", "is_member": True}
    api = FakeSlackApi(users={**USERS, "UFRANK": "Frank"}, channels=channels)
    api.groups["S0SUPPORT"] = ["UBOB", "UERIN"]
    await api.start()
    settings = settings_for(api, TEAMS)
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    adapter = SlackAdapter(config, Secrets(BOT_TOKEN, SIGNING_SECRET, APP_TOKEN), teams=settings.teams)
    desk = build_desk(
        settings,
        db,
        kb=KnowledgeLibrary(),
        clock=clock,
        role_sources=adapter.role_sources,
        member_sources=adapter.member_sources,
    )
    adapter.attach(desk)
    port = await adapter.start_http("127.0.0.1", 0)
    worker = DeliveryWorker(db, {"slack": adapter.platform}, clock)
    async with aiohttp.ClientSession() as session:
        yield SlackDriver(api, adapter, desk, worker, f"http://127.0.0.1:{port}", session)
    await adapter.close()
    await api.stop()


def permalink_of(post: Posted) -> str:
    links = [b["text"]["text"] for b in post.blocks if b["type"] == "section" and b["text"]["text"].startswith("<")]
    assert len(links) == 1, post.blocks
    return str(links[0])


async def test_a_user_group_team_hands_out_tickets_and_tells_each_assignee_in_a_dm(teams_driver: SlackDriver) -> None:
    driver, api = teams_driver, teams_driver.api
    await driver.adapter.refresh_groups()  # as the adapter does at start and every groups_refresh_seconds
    assert [c.params["usergroup"] for c in api.calls_to("usergroups.users.list")] == ["S0SUPPORT"]

    assert await driver.event(payload("message_im")) == 200
    await driver.settle()
    [card] = api.top_level("CQUEUE")
    assert (card.fields()["Assignee"], card.fields()["Team"]) == ("Bob", "support")
    assert api.texts("DALICE", DM_TS)[-1] == "Bob is looking at this."
    assert not [p for p in api.in_thread("CQUEUE", card.ts) if "is yours" in p.text], "nobody is pinged in the card"
    [note] = api.dm_of("UBOB")
    permalink = api.permalink("CQUEUE", card.ts)
    assert note.text == (
        "#1 is yours, Bob (round-robin, team support): I can't log in to my account, the password reset email "
        f"never arrives\n<{permalink}|Open the card of #1>"
    )
    assert permalink_of(note) == f"<{permalink}|Open the card of #1>"
    assert [b["text"]["text"] for b in note.buttons()] == ["Show"]
    assert [c.params["users"] for c in api.calls_to("conversations.open")] == ["UBOB"]

    # Bob goes away: the next ticket goes to Erin, the lead sees it in /team show
    assert await driver.command("UBOB", "away 2h", key="away", command="/agent") == 200
    await driver.settle()
    [away] = api.answers("away")
    assert away.startswith("You're away until 2026-11-02 11:00 UTC: no new tickets come to you. You still have 1 ")
    carol = driver.message_event("UCAROL", "DCAROL", "1699990100.000100", "Where do I download my invoices?")
    assert await driver.event(carol) == 200
    await driver.settle()
    assert api.texts("DCAROL", "1699990100.000100")[-1] == "Erin is looking at this."
    [erin_note] = api.dm_of("UERIN")
    assert erin_note.text.startswith("#2 is yours, Erin (round-robin, team support): Where do I download my invoices?")

    assert await driver.command("UDANA", "list", key="list", command="/team") == 200
    assert await driver.command("UDANA", "show support", key="show", command="/team") == 200
    await driver.settle()
    assert api.answers("list") == [
        "Teams:\n"
        "• support — round_robin, 2 member(s), 1 available · 2 open, 0 unassigned · escalates to engineering\n"
        "• engineering — least_loaded, 1 member(s), 1 available · 0 open, 0 unassigned"
    ]
    [shown] = api.answers("show")
    assert shown.splitlines()[-3:] == [
        "Members:",
        "  Bob: away until 2026-11-02 11:00 UTC · 1 open",
        "  Erin: available · 1 open · got the last ticket",
    ]
    assert await driver.command("UBOB", "list", key="refused", command="/team") == 200
    await driver.settle()
    assert api.answers("refused") == ["Only team leads can use `/team list`. You are signed in as an agent."]

    # Erin moves #2 to engineering: a note in the old queue, a new card in CENG, Dave told with its link
    assert await driver.command("UERIN", "transfer 2 engineering Needs a developer", key="move") == 200
    await driver.settle()
    assert api.answers("move") == ["#2 moved to team engineering, assigned to Dave."]
    [old_card] = [p for p in api.top_level("CQUEUE") if p.text.startswith("#2")]
    assert "#2: moved to team engineering by Erin: Needs a developer" in api.texts("CQUEUE", old_card.ts)
    [new_card] = api.top_level("CENG")
    assert (new_card.fields()["Assignee"], new_card.fields()["Team"]) == ("Dave", "engineering")
    [dave_note] = api.dm_of("UDAVE")
    assert dave_note.text.startswith("#2 is yours, Dave (least-loaded, team engineering): Where do I download")
    assert permalink_of(dave_note) == f"<{api.permalink('CENG', new_card.ts)}|Open the card of #2>"

    # Bob is back; then the user group changes in Slack: Bob leaves it, Frank joins
    assert await driver.command("UBOB", "back", key="back", command="/agent") == 200
    await driver.settle()
    assert api.answers("back") == ["Welcome back: new tickets can come to you."]
    api.groups["S0SUPPORT"] = ["UERIN", "UFRANK"]
    await driver.adapter.refresh_groups()
    for n, ts in ((3, "1699990200.000100"), (4, "1699990300.000100")):
        asked = driver.message_event("UCAROL", "DCAROL", ts, f"Another question {n}")
        assert await driver.event(asked) == 200
        await driver.settle()
    assert [p.text.split(" (")[0] for p in api.dm_of("UFRANK")] == ["#3 is yours, Frank"]
    assert [p.text.split(" (")[0] for p in api.dm_of("UERIN")] == ["#2 is yours, Erin", "#4 is yours, Erin"]
    assert len(api.dm_of("UBOB")) == 1, "Bob is no longer in the group: nothing more for him"
    assert await driver.command("UFRANK", "show 3", key="frank") == 200, "Frank is an agent as a team member"
    await driver.settle()
    assert api.answers("frank")[0].startswith("#3 · Another question 3")


async def test_the_assignees_dm_goes_out_once_when_slacks_answer_is_lost(
    teams_driver: SlackDriver, clock: FakeClock
) -> None:
    driver, api = teams_driver, teams_driver.api
    await driver.adapter.refresh_groups()
    api.fail_next("chat.postMessage", Failure(status=500, stored=True, channel="DBOB"))  # posted, answer lost
    assert await driver.event(payload("message_im")) == 200
    await driver.settle()
    clock.advance(seconds=5)  # the outbox retries: it looks in Bob's DM first and finds the post
    await driver.settle()
    [note] = api.dm_of("UBOB")
    assert note.text.startswith("#1 is yours, Bob (round-robin, team support): ")
    assert [c.params["channel"] for c in api.calls_to("conversations.history")] == ["DBOB"]


async def test_a_dm_slack_refuses_becomes_one_line_in_the_cards_thread(teams_driver: SlackDriver) -> None:
    driver, api = teams_driver, teams_driver.api
    await driver.adapter.refresh_groups()
    api.fail_next("conversations.open", Failure(error="cannot_dm_bot"))  # Bob's member is a bot user, say
    assert await driver.event(payload("message_im")) == 200
    await driver.settle()
    [card] = api.top_level("CQUEUE")
    assert card.fields()["Assignee"] == "Bob" and api.dm_of("UBOB") == []
    assert api.texts("CQUEUE", card.ts) == [
        "#1: assigned to Bob — I couldn't DM them: they are a bot user, and Slack lets no app write to one."
    ]
    assert "<@" not in api.texts("CQUEUE", card.ts)[0], "nobody is pinged"
    await driver.settle()
    assert len(api.in_thread("CQUEUE", card.ts)) == 1, "once"


async def test_a_team_member_slack_cannot_have_is_refused_at_start(slack_api: FakeSlackApi) -> None:
    settings = settings_for(slack_api, [{"name": "support", "members": ["slack:role:S0SUPPORT"]}])
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    with pytest.raises(AdapterStartupError) as caught:
        SlackAdapter(config, Secrets(BOT_TOKEN, SIGNING_SECRET, APP_TOKEN), teams=settings.teams)
    assert str(caught.value) == (
        "[[teams]] support: members 'slack:role:S0SUPPORT' — Slack has user groups, written "
        "'slack:group:S0123ABCD' (the user group's id, S…, as in [slack] agent_groups)"
    )
