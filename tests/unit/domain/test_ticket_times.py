"""Business times: a step of the handling is never dated before the ticket's opening nor before
the step it follows (issue 9: closed 05-27 on a ticket opened 06-02 was accepted)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas import tickets as t
from tests.unit.domain.test_tickets_domain import (
    APPEAL, ASSIGN, CLOSE, EXPLAIN, FEEDBACK, OFFICER, OPENED_AT, REACHED, RECTIFY, SUPERVISOR, Ticket)

HOUR = timedelta(hours=1)


@pytest.mark.parametrize("command,actor,before", [
    (ASSIGN, OFFICER, []),
    (t.ClaimTicket(), OFFICER, []),
    (REACHED, OFFICER, [ASSIGN]),
    (RECTIFY, OFFICER, [ASSIGN]),
    (FEEDBACK, OFFICER, [ASSIGN, RECTIFY]),
    (CLOSE, OFFICER, [ASSIGN, EXPLAIN]),
    (EXPLAIN, OFFICER, [ASSIGN]),
    (APPEAL, OFFICER, [ASSIGN]),
    (t.DecideAppeal(upheld=False, reason="evidence missing"), SUPERVISOR, [ASSIGN, APPEAL]),
])
def test_a_step_dated_before_the_opening_or_the_previous_step_is_refused(command, actor, before):
    tk = Ticket()
    at = OPENED_AT
    for step in before:
        at += HOUR
        tk.ok(step, at=at)
    version = tk.state.version
    early = tk.do(command, actor, at=OPENED_AT - timedelta(days=6))
    assert early.status == "refused" and early.version == version
    assert early.reason.startswith("invalid: at 2021-04-24T17:00:00+08:00 is before the ticket was opened")
    if before:
        out = tk.do(command, actor, at=at - timedelta(minutes=1))
        assert out.status == "refused"
        assert out.reason.startswith(f"invalid: at {(at - timedelta(minutes=1)).isoformat()} is before "
                                     f"the ticket's previous step ({at.isoformat()})")
    assert tk.state.version == version
    assert tk.do(command, actor, at=at).status == "accepted", "the same time as the previous step is fine"


def test_audit_and_deadline_events_do_not_move_the_handling_time():
    """A phone view is recorded at the real time; a back-filled step may still follow it."""
    tk = Ticket()
    tk.ok(ASSIGN, at=OPENED_AT + HOUR)
    tk.ok(t.RevealPhone(), at=OPENED_AT + 10 * HOUR)
    tk.ok(REACHED, at=OPENED_AT + 2 * HOUR)
    assert tk.state.acted_at == OPENED_AT + 2 * HOUR
