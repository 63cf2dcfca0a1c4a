"""Assignment rules (pure domain): the assignee must be a known, active officer of the ticket's
department; an officer claims an unassigned ticket of the own department; taking over a
colleague's ticket needs a supervisor; every assignment is an event naming who had it before; the
phone follows the current assignee only. And `allowed_commands` agrees with `decide`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from haocha.domain.calendar import SHANGHAI
from haocha.domain.deadlines import due_after
from haocha.domain.ticket_actions import allowed_commands
from haocha.domain.tickets import DecisionContext, Status, TicketState, execute
from schemas import tickets as t
from tests.support.times import CN

CTX = DecisionContext(calendar=CN)
AT = datetime(2021, 5, 6, 9, 0, tzinfo=SHANGHAI)
LI = t.Actor(id="o-li", role="officer", department_id="D-ZSJ")
WANG = t.Actor(id="o-wang", role="officer", department_id="D-ZSJ")
ZHAO = t.Actor(id="o-zhao", role="officer", department_id="D-CZJ")
CHEN = t.Actor(id="s-chen", role="supervisor")
SUN = t.Actor(id="m-sun", role="manager")


class Ticket:
    def __init__(self):
        self.state: TicketState | None = None
        self.n = 0
        self.events: list[t.TicketEventEnvelope] = []
        opened = t.TicketOpened(review_id="R1", case_no=None, hall_id="H1", window_id="W1", department_id="D-ZSJ",
                                rating=1, real_name=True, phone="13812345678", happened_at=AT,
                                contact_due=due_after(AT, 1, CN), resolve_due=due_after(AT, 5, CN))
        assert self.do(t.OpenTicket(opened=opened), t.SYSTEM).status == "accepted"

    def do(self, command, actor) -> t.CommandOutcome:
        self.n += 1
        cmd = t.TicketCommandEnvelope(command_id=f"c{self.n}", ticket_id="TK-1", actor=actor, command=command,
                                      issued_at=AT + timedelta(minutes=self.n))
        out, self.state = execute(self.state, cmd, CTX, recorded_at=cmd.issued_at)
        self.events.extend(out.events)
        return out


def assign(who: t.Actor | None, officer_id: str | None = None) -> t.AssignTicket:
    return t.AssignTicket(officer_id=officer_id or who.id, assignee=who)


def test_an_officer_claims_an_unassigned_ticket_of_the_own_department():
    tk = Ticket()
    out = tk.do(t.ClaimTicket(), LI)
    assert out.status == "accepted" and tk.state.officer_id == "o-li" and tk.state.status == Status.ASSIGNED
    assert out.events[0].event == t.TicketAssigned(officer_id="o-li", previous_officer_id=None)
    out = tk.do(t.ClaimTicket(), WANG)
    assert out.status == "refused" and "already assigned to o-li" in out.reason
    assert tk.do(t.ClaimTicket(), ZHAO).reason.startswith("forbidden: ticket belongs to D-ZSJ")
    assert "role supervisor may not ClaimTicket" in tk.do(t.ClaimTicket(), CHEN).reason


@pytest.mark.parametrize("assignee, officer_id, why", [
    (None, "o-ghost", "o-ghost is not a known, active user"),
    (CHEN, None, "s-chen is a supervisor, not an officer"),
    (ZHAO, None, "o-zhao is an officer of D-CZJ, not of D-ZSJ"),
    (WANG, "o-li", "o-li is not a known, active user"),  # the record must be the named user's
])
def test_the_assignee_must_be_a_known_active_officer_of_the_department(assignee, officer_id, why):
    tk = Ticket()
    out = tk.do(assign(assignee, officer_id), CHEN)
    assert out.status == "refused" and out.reason == f"invalid: {why}" and tk.state.officer_id is None


def test_taking_over_a_colleagues_ticket_needs_a_supervisor_and_the_phone_follows_the_assignee():
    tk = Ticket()
    tk.do(t.ClaimTicket(), LI)
    out = tk.do(assign(WANG), WANG)  # the bypass of issue 10: re-assign to oneself, then read the phone
    assert out.status == "refused" and "taking it over needs a supervisor" in out.reason
    assert tk.do(t.RevealPhone(), WANG).reason.startswith("forbidden")
    out = tk.do(assign(WANG), CHEN)
    assert out.status == "accepted"
    assert out.events[0].event == t.TicketAssigned(officer_id="o-wang", previous_officer_id="o-li")
    assert tk.do(t.RevealPhone(), LI).reason.startswith("forbidden")  # no longer li's to see
    assert tk.do(t.RevealPhone(), WANG).status == "accepted"


def test_an_officer_may_assign_an_unassigned_ticket_or_hand_over_the_own():
    tk = Ticket()
    assert tk.do(assign(WANG), LI).status == "accepted"  # unassigned: to a colleague
    assert tk.do(assign(LI), WANG).status == "accepted"  # wang hands it back
    assert tk.do(assign(LI), LI).status == "accepted"  # to oneself again: idempotent, still an event
    assert [e.event.previous_officer_id for e in tk.events if e.type == "TicketAssigned"] == [None, "o-wang", "o-li"]


def test_managers_neither_assign_nor_claim():
    tk = Ticket()
    assert tk.do(assign(LI), SUN).reason.startswith("forbidden")


def test_old_assignment_events_still_fold():
    env = t.TicketEventEnvelope.model_validate_json(
        '{"schema_version":1,"event_id":"TK-1:2","type":"TicketAssigned","ticket_id":"TK-1","version":2,'
        '"occurred_at":"2021-05-06T09:00:00+08:00","recorded_at":"2021-05-06T09:00:00+08:00",'
        '"actor":{"id":"o-li","role":"officer","department_id":"D-ZSJ"},"command_id":"c","event":'
        '{"type":"TicketAssigned","officer_id":"o-li"}}')
    assert env.event.previous_officer_id is None


# -- allowed_commands agrees with the rules -------------------------------------------------


def allowed(tk: Ticket, actor: t.Actor) -> list[str]:
    return allowed_commands(tk.state, actor, AT + timedelta(hours=1), CTX)


def test_allowed_commands_follow_state_role_and_ownership():
    tk = Ticket()
    assert allowed(tk, LI) == ["AssignTicket", "ClaimTicket", "FileAppeal"]
    assert allowed(tk, ZHAO) == [] and allowed(tk, SUN) == []
    assert allowed(tk, CHEN) == ["AssignTicket", "FileAppeal"]
    tk.do(t.ClaimTicket(), LI)
    assert allowed(tk, LI) == ["AssignTicket", "RecordContact", "RecordRectification", "ExplainPolicy", "FileAppeal"]
    assert "AssignTicket" not in allowed(tk, WANG) and "ClaimTicket" not in allowed(tk, WANG)
    assert "AssignTicket" in allowed(tk, CHEN)
    tk.do(t.FileAppeal(ground="mistaken", argument="wrong window"), LI)
    assert allowed(tk, LI) == [] and allowed(tk, CHEN) == ["DecideAppeal"]
    assert tk.state.version == 3 and tk.n == 3  # asking changed nothing
