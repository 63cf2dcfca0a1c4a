"""The ticket's life (DOMAIN.md), every alternative path, refusals with their reasons, roles, and
deadlines on the 2021 Labour Day calendar: the pure domain, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from haocha.domain.deadlines import DeadlinePolicy, due_after
from haocha.domain.tickets import DecisionContext, Status, TicketState, execute, fold_all
from schemas import tickets as t
from streams.deadline_sweep import check_command, due_checks
from tests.support.times import CN, sh

CTX = DecisionContext(calendar=CN, policy=DeadlinePolicy())
TID = "TK-R1"
OFFICER = t.Actor(id="o-li", role="officer", department_id="D-ZSJ")
OTHER_OFFICER = t.Actor(id="o-wang", role="officer", department_id="D-ZSJ")
FOREIGN_OFFICER = t.Actor(id="o-zhao", role="officer", department_id="D-CZJ")
SUPERVISOR = t.Actor(id="s-chen", role="supervisor")
MANAGER = t.Actor(id="m-sun", role="manager")
ADMIN = t.Actor(id="admin", role="admin")


OPENED_AT = sh(2021, 4, 30, 17, 0)  # Friday before Labour Day


def opened(real_name: bool = True, at: datetime = OPENED_AT) -> t.TicketOpened:
    return t.TicketOpened(
        review_id="R1", case_no="C1", hall_id="H1", window_id="W1", department_id="D-ZSJ", rating=1,
        reasons=("态度差",), real_name=real_name, phone="13812345678" if real_name else None,
        happened_at=at - timedelta(minutes=5), contact_due=due_after(at, 1, CN), resolve_due=due_after(at, 5, CN))


class Ticket:
    """Drives one ticket through `execute`, as the ticket agent does, keeping every event."""

    def __init__(self, real_name: bool = True):
        self.state: TicketState | None = None
        self.events: list[t.TicketEventEnvelope] = []
        self.n = 0
        out = self.do(t.OpenTicket(opened=opened(real_name)), t.SYSTEM, at=OPENED_AT)
        assert out.status == "accepted"

    def do(self, command, actor=OFFICER, at: datetime | None = None, expected_version=None,
           command_id: str | None = None) -> t.CommandOutcome:
        self.n += 1
        cmd = t.TicketCommandEnvelope(command_id=command_id or f"c{self.n}", ticket_id=TID,
                                      issued_at=at or OPENED_AT + timedelta(hours=self.n), actor=actor,
                                      expected_version=expected_version, command=command)
        outcome, self.state = execute(self.state, cmd, CTX, recorded_at=cmd.issued_at)
        self.events.extend(outcome.events)
        return outcome

    def ok(self, command, actor=OFFICER, **kw) -> t.CommandOutcome:
        out = self.do(command, actor, **kw)
        assert out.status == "accepted", out.reason
        return out

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


ASSIGN = t.AssignTicket(officer_id="o-li", assignee=OFFICER)  # as the API found o-li
REACHED = t.RecordContact(reached=True, verdict="属实", note="called back")
RECTIFY = t.RecordRectification(measures="retrained the window staff", evidence=("minutes.pdf",))
FEEDBACK = t.GiveFeedback(message="we retrained the staff, thank you")
CLOSE = t.CloseTicket()
EXPLAIN = t.ExplainPolicy(explanation="the law requires the original document")
APPEAL = t.FileAppeal(ground="malicious", argument="the same person rated 30 times")


# -- the main life ----------------------------------------------------------------------------


def test_full_life_opened_to_closed_rectified():
    tk = Ticket()
    for cmd, status in [(ASSIGN, Status.ASSIGNED), (REACHED, Status.CONTACTED), (RECTIFY, Status.RECTIFIED),
                        (FEEDBACK, Status.FEEDBACK_GIVEN), (CLOSE, Status.CLOSED)]:
        tk.ok(cmd)
        assert tk.state.status == status
    s = tk.state
    assert s.resolution == "rectified" and s.verdict == "属实" and s.officer_id == "o-li"
    assert s.version == 6 and [e.version for e in tk.events] == [1, 2, 3, 4, 5, 6]
    assert [e.event_id for e in tk.events][:2] == [f"{TID}:1", f"{TID}:2"]
    assert fold_all(list(reversed(tk.events))) == s  # state is a fold of the events, in any delivery order


def test_unreached_attempts_are_recorded_and_leave_the_ticket_where_it_was():
    tk = Ticket()
    tk.ok(ASSIGN)
    tk.ok(t.RecordContact(reached=False, note="no answer"))
    tk.ok(t.RecordContact(reached=False, note="no answer again"))
    assert tk.state.status == Status.ASSIGNED and tk.state.contact_attempts == 2 and tk.state.contacted_at is None
    tk.ok(REACHED)
    assert tk.state.status == Status.CONTACTED and tk.state.contact_attempts == 3


def test_anonymous_review_is_rectified_without_a_return_visit():
    tk = Ticket(real_name=False)
    for cmd in (ASSIGN, RECTIFY, FEEDBACK, CLOSE):
        tk.ok(cmd)
    assert tk.state.status == Status.CLOSED and not tk.state.contact_stage_active()


# -- other paths ------------------------------------------------------------------------------


def test_explained_then_closed():
    tk = Ticket()
    for cmd in (ASSIGN, REACHED, EXPLAIN, CLOSE):
        tk.ok(cmd)
    assert tk.state.status == Status.CLOSED and tk.state.resolution == "explained"


def test_appeal_upheld_invalidates_the_review_and_ends_the_ticket():
    tk = Ticket()
    tk.ok(ASSIGN)
    tk.ok(APPEAL)
    assert tk.state.status == Status.APPEALED and tk.state.appeal == "pending"
    tk.ok(t.DecideAppeal(upheld=True, reason="evidence of malicious rating"), SUPERVISOR)
    assert tk.state.status == Status.INVALIDATED and tk.state.invalidated_reason == "evidence of malicious rating"
    assert not tk.state.is_open
    out = tk.do(RECTIFY)
    assert out.status == "refused" and out.reason.startswith("illegal_transition")


def test_appeal_rejected_resumes_where_it_was_and_cannot_be_filed_twice():
    tk = Ticket()
    tk.ok(ASSIGN)
    tk.ok(REACHED)
    tk.ok(APPEAL)
    tk.ok(t.DecideAppeal(upheld=False, reason="the complaint is real"), SUPERVISOR)
    assert tk.state.status == Status.CONTACTED and tk.state.appeal == "rejected"
    out = tk.do(APPEAL)
    assert out.status == "refused" and "already filed (rejected)" in out.reason
    for cmd in (RECTIFY, FEEDBACK, CLOSE):
        tk.ok(cmd)


def test_reopened_once_by_a_bad_follow_up_with_a_fresh_deadline():
    tk = Ticket()
    for cmd in (ASSIGN, REACHED, RECTIFY, FEEDBACK, CLOSE):
        tk.ok(cmd)
    at = sh(2021, 5, 10, 9, 0)
    tk.ok(t.ReopenTicket(follow_up_review_id="R1-f", rating=2), t.SYSTEM, at=at)
    s = tk.state
    assert s.status == Status.ASSIGNED and s.reopen_count == 1 and s.closed_at is None and s.resolution is None
    assert s.resolve_due == sh(2021, 5, 17, 9, 0)  # Mon 10 May + 5 working days, from the reopening
    for i, cmd in enumerate((RECTIFY, FEEDBACK, CLOSE), start=1):
        tk.ok(cmd, at=at + timedelta(hours=i))  # the steps after the reopening
    out = tk.do(t.ReopenTicket(follow_up_review_id="R1-g", rating=1), t.SYSTEM)
    assert out.status == "refused" and "one follow-up review at most" in out.reason


def test_explained_ticket_cannot_be_reopened():
    tk = Ticket()
    for cmd in (ASSIGN, EXPLAIN, CLOSE):
        tk.ok(cmd)
    out = tk.do(t.ReopenTicket(follow_up_review_id="R1-f", rating=1), t.SYSTEM)
    assert out.status == "refused" and "only a rectification with feedback" in out.reason


def test_reassignment_while_worked_keeps_the_status():
    tk = Ticket()
    tk.ok(ASSIGN)
    tk.ok(REACHED)
    tk.ok(t.AssignTicket(officer_id="o-wang", assignee=OTHER_OFFICER))  # o-li hands it over
    assert tk.state.status == Status.CONTACTED and tk.state.officer_id == "o-wang"


# -- refusals with their reasons --------------------------------------------------------------


@pytest.mark.parametrize("prefix, command, reason", [
    ((), REACHED, "assign the ticket first"),
    ((), RECTIFY, "rectification follows assignment"),
    ((ASSIGN,), FEEDBACK, "feedback follows a recorded rectification"),
    ((ASSIGN,), CLOSE, "close after feedback was given or the policy was explained"),
    ((ASSIGN, RECTIFY), EXPLAIN, "explain after assignment, before rectification"),
    ((ASSIGN, RECTIFY), APPEAL, "appeal before rectification"),
    ((ASSIGN,), t.DecideAppeal(upheld=True, reason="x"), "no appeal is pending"),
    ((ASSIGN, APPEAL), ASSIGN, "the ticket is not being worked"),
    ((ASSIGN, RECTIFY, FEEDBACK, CLOSE), ASSIGN, "the ticket is not being worked"),
    ((ASSIGN, RECTIFY, FEEDBACK, CLOSE), RECTIFY, "rectification follows"),
    ((ASSIGN,), t.ReopenTicket(follow_up_review_id="f", rating=1), "only a rectification with feedback"),
])
def test_illegal_transitions_are_refused_with_their_reason(prefix, command, reason):
    tk = Ticket()
    for cmd in prefix:
        tk.ok(cmd, SUPERVISOR if cmd.kind == "DecideAppeal" else OFFICER)
    before = tk.state
    actor = SUPERVISOR if command.kind == "DecideAppeal" else t.SYSTEM if command.kind == "ReopenTicket" else OFFICER
    out = tk.do(command, actor)
    assert out.status == "refused"
    assert out.reason.startswith("illegal_transition: ") and reason in out.reason
    assert out.events == () and tk.state == before and out.version == before.version


def test_reached_without_verdict_is_invalid():
    tk = Ticket()
    tk.ok(ASSIGN)
    out = tk.do(t.RecordContact(reached=True))
    assert out.status == "refused" and out.reason.startswith("invalid:") and "属实" in out.reason


def test_unknown_ticket_is_not_found():
    out, state = execute(None, t.TicketCommandEnvelope(command_id="x", ticket_id="TK-none", issued_at=OPENED_AT,
                                                       actor=OFFICER, command=ASSIGN), CTX, OPENED_AT)
    assert out.status == "not_found" and state is None


# -- concurrency and idempotency --------------------------------------------------------------


def test_stale_expected_version_is_a_conflict():
    tk = Ticket()
    v = tk.state.version
    assert tk.do(ASSIGN, OFFICER, expected_version=v).status == "accepted"
    out = tk.do(t.AssignTicket(officer_id="o-wang"), OTHER_OFFICER, expected_version=v)
    assert out.status == "conflict" and "expected 1" in out.reason and out.version == 2
    assert tk.state.officer_id == "o-li"


def test_a_stranger_with_a_stale_version_is_forbidden_not_told_of_a_conflict():
    tk = Ticket()
    tk.ok(ASSIGN)
    out = tk.do(ASSIGN, FOREIGN_OFFICER, expected_version=1)
    assert out.status == "refused" and out.reason.startswith("forbidden")


def test_a_resent_command_is_a_duplicate_not_applied_twice():
    tk = Ticket()
    tk.ok(ASSIGN, command_id="same")
    tk.ok(t.RecordContact(reached=False), command_id="attempt-1")
    out = tk.do(t.RecordContact(reached=False), command_id="attempt-1")
    assert out.status == "duplicate" and tk.state.contact_attempts == 1
    assert tk.do(t.OpenTicket(opened=opened()), t.SYSTEM).status == "duplicate"  # opened once per review


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor, command, why", [
    (MANAGER, ASSIGN, "role manager may not AssignTicket"),
    (FOREIGN_OFFICER, ASSIGN, "ticket belongs to D-ZSJ, not to D-CZJ"),
    (OFFICER, t.ReopenTicket(follow_up_review_id="f", rating=1), "role officer may not ReopenTicket"),
    (OFFICER, t.CheckDeadlines(), "role officer may not CheckDeadlines"),
    (SUPERVISOR, t.RevealPhone(), "role supervisor may not RevealPhone"),
    (ADMIN, t.RevealPhone(), "role admin may not RevealPhone"),
    (OTHER_OFFICER, t.RevealPhone(), "only the officer handling the ticket"),
    (t.SYSTEM, ASSIGN, "role system may not AssignTicket"),
])
def test_authorisation_denials(actor, command, why):
    tk = Ticket()
    tk.ok(ASSIGN)
    out = tk.do(command, actor)
    assert out.status == "refused" and out.reason.startswith("forbidden: ") and why in out.reason


def test_officer_may_not_decide_appeals_but_a_supervisor_may():
    tk = Ticket()
    tk.ok(ASSIGN)
    tk.ok(APPEAL)
    out = tk.do(t.DecideAppeal(upheld=True, reason="x"), OFFICER)
    assert out.status == "refused" and "role officer may not DecideAppeal" in out.reason
    tk.ok(t.DecideAppeal(upheld=False, reason="no evidence"), SUPERVISOR)


def test_phone_view_by_the_handling_officer_is_recorded():
    tk = Ticket()
    tk.ok(ASSIGN)
    out = tk.ok(t.RevealPhone())
    assert [e.event for e in out.events] == [t.PhoneViewed(viewer_id="o-li")]
    assert tk.state.status == Status.ASSIGNED
    assert out.phone == "13812345678", "the answer to the view carries the number, for any API to show"
    assert "13812345678" not in repr(out)


def test_no_other_outcome_carries_the_phone():
    tk = Ticket()
    assert tk.ok(ASSIGN).phone is None
    assert tk.do(t.RevealPhone(), OTHER_OFFICER).phone is None
    assert tk.do(t.RevealPhone(), SUPERVISOR).phone is None
    assert tk.ok(t.RecordContact(reached=True, verdict="属实")).phone is None


# -- deadlines on the working-day calendar ----------------------------------------------------


def check(tk: Ticket, at: datetime) -> list[str]:
    cmd = check_command(TID, at)
    out, tk.state = execute(tk.state, cmd, CTX, recorded_at=at)
    tk.events.extend(out.events)
    assert out.status in ("accepted", "duplicate")
    return [f"{e.event.stage}:{getattr(e.event, 'percent', 100)}" for e in out.events]


def test_deadlines_cross_labour_day_2021_and_its_makeup_workdays():
    tk = Ticket()
    s = tk.state
    # Fri 30 Apr 17:00 + 1 working day: 7 h on Friday, 1-5 May off, 17 h on Thu 6 May.
    assert s.contact_due == sh(2021, 5, 6, 17, 0)
    # + 5 working days: Thu 6, Fri 7, Sat 8 (调休 workday), Sun 9 off, Mon 10, Tue 11 -> Tue 11 17:00.
    assert s.resolve_due == sh(2021, 5, 11, 17, 0)
    assert check(tk, sh(2021, 5, 5, 23, 0)) == []  # the holiday does not count
    assert check(tk, sh(2021, 5, 6, 5, 0)) == ["contact:50"]  # 7 h + 5 h = 12 h of 24
    assert check(tk, sh(2021, 5, 6, 13, 0)) == ["contact:80"]  # 20 h of 24; resolve: 20 h of 120
    assert check(tk, sh(2021, 5, 6, 17, 0)) == ["contact:100"]
    assert tk.state.escalated == ("contact",)
    assert check(tk, sh(2021, 5, 8, 10, 0)) == ["resolve:50"]  # 7+24+24+10 = 65 h: the makeup Saturday counts
    assert check(tk, sh(2021, 5, 9, 23, 0)) == []  # Sunday 9 May is off: still below 80 %
    assert check(tk, sh(2021, 5, 10, 17, 0)) == ["resolve:80"]  # exactly 96 h of 120
    assert check(tk, sh(2021, 5, 11, 17, 0)) == ["resolve:100"]
    assert check(tk, sh(2021, 5, 20, 9, 0)) == []  # escalated once; the ticket stays open
    assert tk.state.is_open and tk.state.escalated == ("contact", "resolve")


def test_a_late_first_check_raises_every_threshold_once_and_a_repeat_raises_nothing():
    tk = Ticket()
    tk.ok(ASSIGN)
    assert check(tk, sh(2021, 5, 12, 9, 0)) == ["contact:50", "contact:80", "contact:100",
                                               "resolve:50", "resolve:80", "resolve:100"]
    assert check(tk, sh(2021, 5, 12, 9, 5)) == []


def test_the_contact_stage_ends_when_reached_and_the_resolve_stage_with_feedback():
    tk = Ticket()
    tk.ok(ASSIGN, at=sh(2021, 5, 6, 9, 0))
    tk.ok(REACHED, at=sh(2021, 5, 6, 10, 0))
    assert check(tk, sh(2021, 5, 8, 10, 0)) == ["resolve:50"]  # no contact warning any more
    tk.ok(RECTIFY, at=sh(2021, 5, 8, 11, 0))
    tk.ok(FEEDBACK, at=sh(2021, 5, 8, 12, 0))
    assert check(tk, sh(2021, 5, 20, 9, 0)) == []


def test_a_reopened_ticket_runs_a_fresh_resolve_deadline_from_the_reopening():
    tk = Ticket(real_name=False)
    for cmd in (ASSIGN, RECTIFY, FEEDBACK, CLOSE):
        tk.ok(cmd, at=sh(2021, 5, 6, 9, 0))
    at = sh(2021, 5, 12, 9, 0)
    tk.ok(t.ReopenTicket(follow_up_review_id="R1-f", rating=1), t.SYSTEM, at=at)
    assert tk.state.resolve_due == sh(2021, 5, 19, 9, 0)
    assert check(tk, at + timedelta(hours=1)) == []  # not "50 %" of a window started on 30 April
    assert check(tk, sh(2021, 5, 14, 22, 0)) == ["resolve:50"]


def test_the_sweep_selects_exactly_the_tickets_with_a_threshold_due():
    fresh, warned, closed = Ticket(), Ticket(), Ticket(real_name=False)
    check(warned, sh(2021, 5, 6, 5, 0))
    for cmd in (ASSIGN, RECTIFY, FEEDBACK, CLOSE):
        closed.ok(cmd)
    checked, cmds = due_checks([fresh.state, warned.state, closed.state], sh(2021, 5, 6, 5, 30), CTX)
    assert checked == 2 and len(cmds) == 1  # `warned` already has its 50 % warning
    assert cmds[0].command_id == "sweep:TK-R1:20210505T2130Z" and cmds[0].actor == t.SYSTEM
