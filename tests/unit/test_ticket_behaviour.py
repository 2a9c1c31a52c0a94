"""`Ticket` methods: the moves the lifecycle allows, the refusals (which name the fix and change nothing), the
events each move returns, and that a move already made returns no events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.errors import DeskError, IllegalTransition, PermissionDenied
from bot.domain.refs import ThreadRef, UserRef, bot_user
from bot.domain.ticket import (
    REOPENABLE,
    REOPENED_BY_CUSTOMER,
    TRANSITIONS,
    Priority,
    Status,
    Ticket,
    check_transition,
)
from bot.domain.ticket_events import (
    Assigned,
    CustomerMessage,
    Escalated,
    Events,
    FirstResponse,
    PriorityChanged,
    Reopened,
    Replied,
    Resolved,
    StatusChanged,
    StillClosed,
    Tagged,
    Unassigned,
)

ALICE = UserRef(platform="test", id="alice", name="Alice")
BOB = UserRef(platform="test", id="bob", name="Bob")
ERIN = UserRef(platform="test", id="erin", name="Erin")
CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = CREATED + timedelta(hours=2)
LATER = NOW + timedelta(hours=1)
INACTIVE = (Status.RESOLVED, Status.CLOSED)
ACTIVE = tuple(s for s in Status if s.is_active)


def ticket(status: Status = Status.NEW, **fields: Any) -> Ticket:
    return Ticket(
        number=4,
        subject="Cannot log in",
        description="The reset e-mail never arrives",
        customer=ALICE,
        origin=ThreadRef(platform="test", channel="help", thread="t1"),
        created_at=CREATED,
        updated_at=CREATED,
        status=status,
        **fields,
    )


def refused(t: Ticket, move: Callable[[], Events], error: type[DeskError] = IllegalTransition) -> str:
    """The refusal's text; the ticket is unchanged by it."""
    before = t.model_dump()
    with pytest.raises(error) as caught:
        move()
    assert t.model_dump() == before
    return caught.value.message


# --- claim, assign, unassign, unclaim ----------------------------------------------------------------------


def test_claim_a_new_ticket_assigns_and_opens_it() -> None:
    t = ticket()
    assert t.claim(BOB) == (
        Assigned(before=None, after=BOB),
        StatusChanged(before=Status.NEW, after=Status.OPEN),
    )
    assert t.assignee == BOB and t.status is Status.OPEN


@pytest.mark.parametrize("status", [Status.OPEN, Status.PENDING, Status.ON_HOLD])
def test_claim_a_working_ticket_only_assigns(status: Status) -> None:
    t = ticket(status)
    assert t.claim(BOB) == (Assigned(before=None, after=BOB),)
    assert t.status is status


def test_claim_twice_changes_nothing() -> None:
    t = ticket()
    t.claim(BOB)
    assert t.claim(UserRef(platform="test", id="bob", name="Bobby")) == ()
    assert t.assignee == BOB


def test_claim_someone_elses_ticket_is_refused_with_the_fix() -> None:
    t = ticket(Status.OPEN, assignee=ERIN)
    assert refused(t, lambda: t.claim(BOB)) == ("#4 is assigned to Erin — use `/ticket assign 4 @you` to take it over.")


@pytest.mark.parametrize("status", INACTIVE)
def test_claim_an_inactive_ticket_is_refused_with_the_fix(status: Status) -> None:
    t = ticket(status)
    assert refused(t, lambda: t.claim(BOB)) == (f"#4 is {status.label} — use `/ticket reopen 4` before you claim it.")


def test_assign_takes_over_from_the_assignee() -> None:
    t = ticket(Status.PENDING, assignee=BOB)
    assert t.assign(ERIN) == (Assigned(before=BOB, after=ERIN),)
    assert t.assignee == ERIN and t.status is Status.PENDING


def test_assign_to_the_assignee_changes_nothing() -> None:
    t = ticket(Status.OPEN, assignee=BOB)
    assert t.assign(BOB) == ()


def test_automatic_assignment_is_done_by_threaddesk() -> None:
    t = ticket()
    how = "round-robin, team billing"
    assert t.assign(ERIN, auto=how) == (
        Assigned(before=None, after=ERIN, auto=how, by=bot_user("test")),
        StatusChanged(before=Status.NEW, after=Status.OPEN, by=bot_user("test")),
    )


@pytest.mark.parametrize("status", INACTIVE)
def test_assign_an_inactive_ticket_is_refused_with_the_fix(status: Status) -> None:
    t = ticket(status)
    assert refused(t, lambda: t.assign(ERIN)) == (
        f"#4 is {status.label} — use `/ticket reopen 4` before you assign it."
    )


def test_unassign() -> None:
    t = ticket(Status.OPEN, assignee=BOB)
    assert t.unassign(reason="moved to team billing") == (Unassigned(before=BOB, reason="moved to team billing"),)
    assert t.assignee is None
    assert t.unassign() == ()


def test_unclaim_by_the_assignee_or_a_lead() -> None:
    mine = ticket(Status.OPEN, assignee=BOB)
    assert mine.unclaim(BOB, is_lead=False) == (Unassigned(before=BOB),)
    theirs = ticket(Status.OPEN, assignee=BOB)
    assert theirs.unclaim(ERIN, is_lead=True) == (Unassigned(before=BOB),)
    assert theirs.unclaim(ERIN, is_lead=True) == ()


def test_unclaim_someone_elses_is_refused() -> None:
    t = ticket(Status.OPEN, assignee=BOB)
    message = refused(t, lambda: t.unclaim(ERIN, is_lead=False), PermissionDenied)
    assert message == "#4 is Bob's; only they or a team lead can unclaim it."


# --- responses and messages --------------------------------------------------------------------------------


def test_first_response_is_recorded_once_and_opens_a_new_ticket_silently() -> None:
    t = ticket()
    assert t.record_first_response(NOW) == (
        FirstResponse(at=NOW),
        StatusChanged(before=Status.NEW, after=Status.OPEN, recorded=False),
    )
    assert t.first_response_at == NOW and t.status is Status.OPEN
    assert t.record_first_response(LATER) == ()
    assert t.first_response_at == NOW


def test_reply_from_agent() -> None:
    t = ticket(Status.PENDING)
    assert t.reply_from_agent(NOW) == (Replied(), FirstResponse(at=NOW))
    assert t.status is Status.PENDING
    assert t.reply_from_agent(LATER, macro="thanks") == (Replied(macro="thanks"),)  # the reply, no state change
    assert t.first_response_at == NOW


def test_reply_from_agent_on_a_new_ticket_opens_it() -> None:
    t = ticket()
    events = t.reply_from_agent(NOW)
    assert events[0] == Replied() and t.status is Status.OPEN
    assert [e.history() for e in events if e.history()] == [Replied().history()]  # no status row, as today


def test_reply_from_agent_on_a_closed_ticket_is_refused_with_the_fix() -> None:
    t = ticket(Status.CLOSED)
    assert refused(t, lambda: t.reply_from_agent(NOW)) == "#4 is closed — use `/ticket reopen 4` before replying."


@pytest.mark.parametrize("status", list(Status))
def test_agent_wrote_in_the_thread_is_recorded_whatever_the_status(status: Status) -> None:
    t = ticket(status)
    events = t.agent_wrote(NOW)
    assert events[:2] == (Replied(via="thread"), FirstResponse(at=NOW))
    assert t.status is (Status.OPEN if status is Status.NEW else status)


@pytest.mark.parametrize("status", sorted(REOPENED_BY_CUSTOMER))
def test_customer_wrote_reopens_a_pending_or_resolved_ticket(status: Status) -> None:
    t = ticket(status)
    assert t.customer_wrote() == (
        CustomerMessage(),
        StatusChanged(before=status, after=Status.OPEN, reason="customer replied"),
    )
    assert t.status is Status.OPEN
    assert t.customer_wrote() == (CustomerMessage(),)  # the message again; the status is already open


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.ON_HOLD])
def test_customer_wrote_keeps_other_active_statuses(status: Status) -> None:
    t = ticket(status)
    assert t.customer_wrote() == (CustomerMessage(),)
    assert t.status is status


def test_customer_wrote_on_a_closed_ticket_stays_closed_and_says_so() -> None:
    t = ticket(Status.CLOSED)
    events = t.customer_wrote()
    assert events == (CustomerMessage(), StillClosed(number=4))
    assert t.status is Status.CLOSED
    assert isinstance(events[1], StillClosed)
    assert events[1].notice == "#4 is closed — use `/ticket reopen 4` to continue it."


def test_reply_from_customer_on_a_closed_ticket_is_refused_with_the_fix() -> None:
    t = ticket(Status.CLOSED)
    assert refused(t, t.reply_from_customer) == "#4 is closed — use `/ticket reopen 4` to continue it."


def test_reply_from_customer_reopens_like_a_message() -> None:
    t = ticket(Status.RESOLVED)
    assert t.reply_from_customer() == (
        CustomerMessage(),
        StatusChanged(before=Status.RESOLVED, after=Status.OPEN, reason="customer replied"),
    )


# --- status, close, auto-close ------------------------------------------------------------------------------

PAIRS = [(current, target) for current in Status for target in Status]


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] in TRANSITIONS[p[0]]])
def test_set_status_follows_the_table(current: Status, target: Status) -> None:
    t = ticket(current)
    assert t.set_status(target, NOW) == (StatusChanged(before=current, after=target, reason=""),)
    assert t.status is target
    assert t.closed_at == (NOW if target is Status.CLOSED else None)


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] not in TRANSITIONS[p[0]]])
def test_set_status_refuses_what_the_table_refuses_with_the_same_message(current: Status, target: Status) -> None:
    t = ticket(current)
    message = refused(t, lambda: t.set_status(target, NOW))
    with pytest.raises(IllegalTransition) as table:
        check_transition(4, current, target)
    assert message == table.value.message


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (Status.OPEN, Status.RESOLVED, "#4 is open — resolving needs a summary: `/ticket resolve 4 <summary>`."),
        (Status.OPEN, Status.NEW, "#4 can't go back to new — use `/ticket status 4 open`."),
        (Status.CLOSED, Status.OPEN, "#4 is closed — use `/ticket reopen 4` first."),
        (Status.RESOLVED, Status.PENDING, "#4 is resolved — use `/ticket reopen 4` first."),
        (Status.PENDING, Status.PENDING, "#4 is already pending."),
    ],
)
def test_set_status_refusals_name_the_fix(current: Status, target: Status, message: str) -> None:
    t = ticket(current)
    assert refused(t, lambda: t.set_status(target, NOW)) == message


def test_set_status_records_the_reason() -> None:
    t = ticket(Status.OPEN)
    assert t.set_status(Status.PENDING, NOW, reason="macro") == (
        StatusChanged(before=Status.OPEN, after=Status.PENDING, reason="macro"),
    )


@pytest.mark.parametrize(
    ("status", "reason", "by_customer", "recorded"),
    [
        (Status.OPEN, "", False, ""),
        (Status.OPEN, "spam", False, "spam"),
        (Status.RESOLVED, "", True, "customer confirmed"),
        (Status.RESOLVED, "works now", True, "works now"),
        (Status.OPEN, "", True, ""),  # a customer closing an unresolved ticket confirms nothing
        (Status.RESOLVED, "", False, ""),
    ],
)
def test_close(status: Status, reason: str, by_customer: bool, recorded: str) -> None:
    t = ticket(status)
    assert t.close(NOW, reason=reason, by_customer=by_customer) == (
        StatusChanged(before=status, after=Status.CLOSED, reason=recorded),
    )
    assert t.status is Status.CLOSED and t.closed_at == NOW


def test_close_a_closed_ticket_is_refused() -> None:
    t = ticket(Status.CLOSED, closed_at=NOW)
    assert refused(t, lambda: t.close(LATER)) == "#4 is already closed."


def test_auto_close_closes_a_resolved_ticket_only() -> None:
    t = ticket(Status.RESOLVED)
    assert t.auto_close(NOW) == (StatusChanged(before=Status.RESOLVED, after=Status.CLOSED, reason="no reply"),)
    assert t.status is Status.CLOSED and t.closed_at == NOW
    assert t.auto_close(LATER) == ()
    assert t.closed_at == NOW


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.RESOLVED])
def test_auto_close_leaves_other_statuses_alone(status: Status) -> None:
    t = ticket(status)
    assert t.auto_close(NOW) == ()
    assert t.status is status


# --- priority, tags, escalation ----------------------------------------------------------------------------


def test_set_priority() -> None:
    t = ticket(Status.OPEN)
    assert t.set_priority(Priority.HIGH) == (PriorityChanged(before=Priority.NORMAL, after=Priority.HIGH),)
    assert t.priority is Priority.HIGH
    assert t.set_priority(Priority.HIGH) == ()


def test_change_tags_records_what_was_asked() -> None:
    t = ticket(Status.OPEN, tags=("billing", "spam"))
    assert t.change_tags(add=["vip", "billing"], remove=["spam"]) == (
        Tagged(added=("vip", "billing"), removed=("spam",)),
    )
    assert t.tags == ("billing", "vip")
    assert t.change_tags(add=["vip"], remove=["spam"]) == ()


def test_tag_and_untag() -> None:
    t = ticket(Status.OPEN)
    assert t.tag("vip") == (Tagged(added=("vip",)),)
    assert t.tag("vip") == ()
    assert t.untag("vip") == (Tagged(removed=("vip",)),)
    assert t.untag("vip") == ()
    assert t.tags == ()


def test_escalate_raises_the_priority_and_tags_it() -> None:
    t = ticket(Status.OPEN, tags=("billing",))
    assert t.escalate("angry customer") == (
        Escalated(reason="angry customer", before=Priority.NORMAL, after=Priority.HIGH),
    )
    assert t.priority is Priority.HIGH and t.tags == ("billing", "escalated")


def test_escalating_an_urgent_ticket_is_still_recorded() -> None:
    t = ticket(Status.OPEN, priority=Priority.URGENT, tags=("escalated",))
    assert t.escalate("again") == (Escalated(reason="again", before=Priority.URGENT, after=Priority.URGENT),)
    assert t.tags == ("escalated",)


@pytest.mark.parametrize("status", INACTIVE)
def test_escalate_an_inactive_ticket_is_refused_with_the_fix(status: Status) -> None:
    t = ticket(status)
    assert refused(t, lambda: t.escalate("why")) == (
        f"#4 is {status.label} — use `/ticket reopen 4` before you escalate it."
    )


# --- resolve and reopen ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ACTIVE)
def test_resolve_by_an_agent(status: Status) -> None:
    t = ticket(status)
    assert t.resolve("Reset the password", NOW, kb="password-reset", agent=BOB) == (
        Resolved(before=status, summary="Reset the password", kb="password-reset"),
        FirstResponse(at=NOW),
    )
    assert t.status is Status.RESOLVED and t.resolved_at == NOW
    assert t.resolution_summary == "Reset the password" and t.resolved_by_kb == "password-reset"
    assert t.assignee == BOB and t.first_response_at == NOW


def test_resolve_keeps_the_assignee_and_the_first_response() -> None:
    t = ticket(Status.OPEN, assignee=ERIN, first_response_at=CREATED)
    assert t.resolve("Done", NOW, agent=BOB) == (Resolved(before=Status.OPEN, summary="Done"),)
    assert t.assignee == ERIN and t.first_response_at == CREATED and t.resolved_by_kb is None


def test_resolve_from_an_incident() -> None:
    t = ticket(Status.OPEN, first_response_at=CREATED)
    events = t.resolve("Fixed upstream", NOW, agent=BOB, incident="INC-3")
    assert events == (Resolved(before=Status.OPEN, summary="Fixed upstream", incident="INC-3"),)
    assert events[0].history() is not None


def test_resolve_by_a_macro_records_a_shorter_summary() -> None:
    t = ticket(Status.OPEN)
    long = "word " * 100
    events = t.resolve(long, NOW, agent=BOB, recorded_summary=long[:300])
    assert events[0] == Resolved(before=Status.OPEN, summary=long[:300])
    assert t.resolution_summary == long


def test_resolve_by_kb_is_self_served() -> None:
    t = ticket(Status.NEW, tags=("billing",))
    summary = "Solved by the article “Password reset” (self-service)."
    assert t.resolve(summary, NOW, by_kb=True, kb="password-reset") == (
        Resolved(before=Status.NEW, summary=summary, by_kb=True, kb="password-reset"),
    )
    assert t.status is Status.RESOLVED and t.resolved_by_kb == "password-reset"
    assert t.tags == ("billing", "self-served")
    assert t.assignee is None and t.first_response_at is None  # the customer helped themselves


def test_resolve_by_kb_needs_the_article() -> None:
    with pytest.raises(ValueError):
        ticket(Status.OPEN).resolve("x", NOW, by_kb=True)


def test_resolve_a_resolved_ticket_is_refused() -> None:
    t = ticket(Status.RESOLVED, resolved_at=CREATED)
    assert refused(t, lambda: t.resolve("again", NOW)) == "#4 is already resolved."


def test_resolve_a_closed_ticket_is_refused_with_the_fix() -> None:
    t = ticket(Status.CLOSED)
    assert refused(t, lambda: t.resolve("again", NOW, by_kb=True, kb="a")) == (
        "#4 is closed — use `/ticket reopen 4` first."
    )


@pytest.mark.parametrize("status", ACTIVE)
def test_require_resolvable_passes_every_active_status(status: Status) -> None:
    ticket(status).require_resolvable()


@pytest.mark.parametrize(
    ("status", "message"),
    [(Status.RESOLVED, "#4 is already resolved."), (Status.CLOSED, "#4 is closed — use `/ticket reopen 4` first.")],
)
def test_require_resolvable_says_what_resolve_says(status: Status, message: str) -> None:
    t = ticket(status)
    with pytest.raises(IllegalTransition) as caught:
        t.require_resolvable()
    assert caught.value.message == message == refused(t, lambda: t.resolve("x", NOW))


@pytest.mark.parametrize("status", sorted(REOPENABLE))
def test_reopen(status: Status) -> None:
    t = ticket(status, closed_at=NOW if status is Status.CLOSED else None)
    assert t.reopen("still broken") == (Reopened(before=status, reason="still broken"),)
    assert t.status is Status.OPEN and t.closed_at is None


@pytest.mark.parametrize("status", ACTIVE)
def test_reopen_an_active_ticket_is_refused(status: Status) -> None:
    t = ticket(status)
    assert refused(t, t.reopen) == f"#4 is {status.label}, not resolved or closed — nothing to reopen."


# --- a whole life ------------------------------------------------------------------------------------------


def test_a_life_in_events() -> None:
    t = ticket()
    kinds: list[str] = []
    for events in (
        t.claim(BOB),
        t.reply_from_agent(NOW),
        t.set_status(Status.PENDING, NOW),
        t.customer_wrote(),
        t.resolve("Reset it", NOW, agent=BOB),
        t.close(LATER, by_customer=True),
        t.customer_wrote(),
        t.reopen("it broke again"),
    ):
        kinds += [row.kind for e in events if (row := e.history()) is not None]
    assert kinds == [
        "assigned",
        "status_changed",
        "replied",
        "status_changed",
        "customer_message",
        "status_changed",
        "resolved",
        "status_changed",
        "customer_message",
        "reopened",
    ]
    assert t.status is Status.OPEN and t.first_response_at == NOW and t.assignee == BOB
