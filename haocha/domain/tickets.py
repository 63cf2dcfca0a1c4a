"""The rectification ticket: decide (state, command) -> events or a refusal; fold events -> state.

Pure: no Kafka, no ClickHouse, no clock. Time comes in on the command (`issued_at`), deadlines
come from the calendar port, so a replayed command decides exactly what it decided the first time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import singledispatch

from pydantic import BaseModel, ConfigDict

from haocha.domain.calendar import WorkingCalendar
from haocha.domain.deadlines import ESCALATION_PERCENT, DeadlinePolicy, due_after
from schemas import tickets as t

# How many recent command ids a ticket remembers, so a resent or replayed command is answered
# "duplicate" instead of being applied twice. Officers' retries come within seconds.
REMEMBERED_COMMANDS = 64


class Status(StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    RECTIFIED = "rectified"
    FEEDBACK_GIVEN = "feedback_given"
    EXPLAINED = "explained"
    APPEALED = "appealed"
    CLOSED = "closed"
    INVALIDATED = "invalidated"  # appeal upheld: the review no longer counts


FINAL = frozenset({Status.CLOSED, Status.INVALIDATED})


class TicketState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_id: str
    version: int
    status: Status
    opened: t.TicketOpened
    opened_at: datetime  # when the platform opened it: deadlines run from here
    contact_due: datetime
    resolve_due: datetime
    officer_id: str | None = None
    contact_attempts: int = 0
    contacted_at: datetime | None = None
    verdict: str | None = None
    rectified_at: datetime | None = None
    feedback_at: datetime | None = None
    explained_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    appeal: str | None = None  # pending | upheld | rejected
    status_before_appeal: Status | None = None
    invalidated_reason: str | None = None
    reopen_count: int = 0
    reopened_at: datetime | None = None  # the fresh rectification deadline runs from here
    warned: tuple[str, ...] = ()  # "contact:50", "resolve:80" ...
    escalated: tuple[str, ...] = ()  # "contact", "resolve"
    recent_commands: tuple[str, ...] = ()
    # Business time of the latest step of the handling (opening, assignment, contact ...; not the
    # audit and deadline events): a later step may not be dated before it.
    acted_at: datetime | None = None

    @property
    def department_id(self) -> str:
        return self.opened.department_id

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL

    def contact_stage_active(self) -> bool:
        # Only a real-name evaluator can be called back; the stage ends when reached.
        return self.opened.real_name and self.contacted_at is None and self.is_open

    def resolve_stage_active(self) -> bool:
        return self.is_open and self.feedback_at is None and self.explained_at is None


@dataclass(frozen=True)
class Refusal:
    code: str  # "illegal_transition", "forbidden", "invalid"
    reason: str


@dataclass(frozen=True)
class DecisionContext:
    calendar: WorkingCalendar
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)


Decision = list[t.TicketEvent] | Refusal


# ---------------------------------------------------------------------------------------------
# fold


@singledispatch
def _apply(event: object, s: TicketState, at: datetime) -> TicketState:  # pragma: no cover
    raise TypeError(f"unknown ticket event {type(event).__name__}")


@_apply.register
def _(e: t.TicketAssigned, s: TicketState, at: datetime) -> TicketState:
    status = Status.ASSIGNED if s.status == Status.OPENED else s.status
    return s.model_copy(update={"officer_id": e.officer_id, "status": status})


@_apply.register
def _(e: t.ContactRecorded, s: TicketState, at: datetime) -> TicketState:
    if not e.reached:
        return s.model_copy(update={"contact_attempts": s.contact_attempts + 1})
    return s.model_copy(
        update={
            "contact_attempts": s.contact_attempts + 1,
            "contacted_at": s.contacted_at or at,
            "verdict": e.verdict,
            "status": Status.CONTACTED if s.status == Status.ASSIGNED else s.status,
        }
    )


@_apply.register
def _(e: t.RectificationRecorded, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"rectified_at": at, "status": Status.RECTIFIED})


@_apply.register
def _(e: t.FeedbackGiven, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"feedback_at": at, "status": Status.FEEDBACK_GIVEN})


@_apply.register
def _(e: t.PolicyExplained, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"explained_at": at, "status": Status.EXPLAINED})


@_apply.register
def _(e: t.TicketClosed, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"closed_at": at, "resolution": e.resolution, "status": Status.CLOSED})


@_apply.register
def _(e: t.AppealFiled, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(
        update={"appeal": "pending", "status_before_appeal": s.status, "status": Status.APPEALED}
    )


@_apply.register
def _(e: t.AppealDecided, s: TicketState, at: datetime) -> TicketState:
    if e.upheld:
        return s.model_copy(
            update={"appeal": "upheld", "status": Status.INVALIDATED, "invalidated_reason": e.reason}
        )
    return s.model_copy(update={"appeal": "rejected", "status": s.status_before_appeal or Status.ASSIGNED})


@_apply.register
def _(e: t.TicketReopened, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(
        update={
            "status": Status.ASSIGNED if s.officer_id else Status.OPENED,
            "reopen_count": s.reopen_count + 1,
            "reopened_at": at,
            "rectified_at": None,
            "feedback_at": None,
            "closed_at": None,
            "resolution": None,
            "resolve_due": e.resolve_due,
            # A reopened ticket gets a fresh rectification deadline and fresh warnings.
            "warned": tuple(w for w in s.warned if not w.startswith("resolve:")),
            "escalated": tuple(x for x in s.escalated if x != "resolve"),
        }
    )


@_apply.register
def _(e: t.DeadlineWarned, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"warned": (*s.warned, f"{e.stage}:{e.percent}")})


@_apply.register
def _(e: t.TicketEscalated, s: TicketState, at: datetime) -> TicketState:
    return s.model_copy(update={"escalated": (*s.escalated, e.stage)})


@_apply.register
def _(e: t.PhoneViewed, s: TicketState, at: datetime) -> TicketState:
    return s


# Events that are no step of the handling: a phone view is an audit record, warnings and
# escalations come from the sweep's clock. Back-filled steps may come after them in the log.
_UNTIMED = (t.PhoneViewed, t.DeadlineWarned, t.TicketEscalated)


def fold(state: TicketState | None, env: t.TicketEventEnvelope) -> TicketState:
    """Apply one event. Events at or below the current version are replays and change nothing."""
    if state is not None and env.version <= state.version:
        return state
    e = env.event
    if isinstance(e, t.TicketOpened):
        if state is not None:
            return state
        new = TicketState(
            ticket_id=env.ticket_id,
            version=0,
            status=Status.OPENED,
            opened=e,
            opened_at=env.occurred_at,
            contact_due=e.contact_due,
            resolve_due=e.resolve_due,
        )
    else:
        if state is None:
            raise ValueError(f"{env.type} for unknown ticket {env.ticket_id}")
        new = _apply(e, state, env.occurred_at)
    if not isinstance(e, _UNTIMED):
        new = new.model_copy(update={"acted_at": env.occurred_at})
    recent = (*new.recent_commands, env.command_id)
    if recent[-2:-1] == (env.command_id,):  # several events of one command share its id
        recent = recent[:-1]
    return new.model_copy(update={"version": env.version, "recent_commands": recent[-REMEMBERED_COMMANDS:]})


def fold_all(envs: list[t.TicketEventEnvelope]) -> TicketState | None:
    state: TicketState | None = None
    for env in sorted(envs, key=lambda x: x.version):
        state = fold(state, env)
    return state


# ---------------------------------------------------------------------------------------------
# decide

# Which commands each role may issue at all; department and ownership checks come after.
_OFFICER_COMMANDS = frozenset(
    {"AssignTicket", "ClaimTicket", "RecordContact", "RecordRectification", "GiveFeedback", "CloseTicket",
     "ExplainPolicy", "FileAppeal", "RevealPhone"}
)
_OFFICERS_ONLY = frozenset({"RevealPhone", "ClaimTicket"})
_ALLOWED: dict[str, frozenset[str]] = {
    "officer": _OFFICER_COMMANDS,
    "supervisor": (_OFFICER_COMMANDS - _OFFICERS_ONLY) | {"DecideAppeal"},
    "admin": (_OFFICER_COMMANDS - _OFFICERS_ONLY) | {"DecideAppeal", "CheckDeadlines", "OpenTicket", "ReopenTicket"},
    "system": frozenset({"OpenTicket", "ReopenTicket", "CheckDeadlines"}),
    "manager": frozenset(),
}


def _illegal(kind: str, s: TicketState, why: str) -> Refusal:
    return Refusal("illegal_transition", f"{kind} refused in state {s.status.value}: {why}")


def authorize(state: TicketState | None, actor: t.Actor, kind: str) -> Refusal | None:
    if kind not in _ALLOWED.get(actor.role, frozenset()):
        return Refusal("forbidden", f"role {actor.role} may not {kind}")
    if state is None or actor.role != "officer":
        return None
    if actor.department_id != state.department_id:
        return Refusal("forbidden", f"ticket belongs to {state.department_id}, not to {actor.department_id}")
    if kind == "RevealPhone" and state.officer_id != actor.id:
        return Refusal("forbidden", "only the officer handling the ticket may see the phone number")
    return None


def decide(state: TicketState | None, cmd: t.TicketCommandEnvelope, ctx: DecisionContext) -> Decision:
    c = cmd.command
    denied = authorize(state, cmd.actor, c.kind)
    if denied:
        return denied
    if isinstance(c, t.OpenTicket):
        return [] if state is not None else [c.opened]
    if state is None:
        return Refusal("not_found", f"no ticket {cmd.ticket_id}")
    return _too_early(c, state, cmd.issued_at) or _decide(c, state, cmd, ctx)


# Commands whose `issued_at` is the business time of a step of the handling (an admin may
# back-date it: a paper register, the simulator); it cannot come before the steps it follows.
_TIMED_STEPS = frozenset({"AssignTicket", "ClaimTicket", "RecordContact", "RecordRectification", "GiveFeedback",
                          "CloseTicket", "ExplainPolicy", "FileAppeal", "DecideAppeal"})


def _too_early(c: t.TicketCommand, s: TicketState, at: datetime) -> Refusal | None:
    if c.kind not in _TIMED_STEPS:
        return None
    if at < s.opened_at:
        return Refusal("invalid", f"at {at.isoformat()} is before the ticket was opened ({s.opened_at.isoformat()})")
    if s.acted_at is not None and at < s.acted_at:
        return Refusal("invalid", f"at {at.isoformat()} is before the ticket's previous step ({s.acted_at.isoformat()})")
    return None


@singledispatch
def _decide(c: object, s: TicketState, cmd: t.TicketCommandEnvelope, ctx: DecisionContext) -> Decision:  # pragma: no cover
    raise TypeError(f"unknown command {type(c).__name__}")


_WORKING = frozenset({Status.ASSIGNED, Status.CONTACTED})


@_decide.register
def _(c: t.AssignTicket, s: TicketState, cmd, ctx) -> Decision:
    if not s.is_open or s.status == Status.APPEALED:
        return _illegal(c.kind, s, "the ticket is not being worked")
    # Checked here, after the version check, so that of two colleagues assigning at once the
    # second hears "conflict: reload", not "forbidden".
    if cmd.actor.role == "officer" and s.officer_id not in (None, cmd.actor.id):
        return Refusal("forbidden", f"the ticket is assigned to {s.officer_id}; taking it over needs a supervisor")
    ineligible = _ineligible(c.officer_id, c.assignee, s)
    if ineligible:
        return ineligible
    return [t.TicketAssigned(officer_id=c.officer_id, previous_officer_id=s.officer_id)]


def _ineligible(officer_id: str, assignee: t.Actor | None, s: TicketState) -> Refusal | None:
    """Only a known, active officer of the ticket's own department may hold it: anyone else could
    not see it, or would see a phone number that is not theirs to see."""
    if assignee is None or assignee.id != officer_id:
        return Refusal("invalid", f"{officer_id} is not a known, active user")
    if assignee.role != "officer":
        return Refusal("invalid", f"{officer_id} is a {assignee.role}, not an officer")
    if assignee.department_id != s.department_id:
        return Refusal("invalid", f"{officer_id} is an officer of {assignee.department_id}, not of {s.department_id}")
    return None


@_decide.register
def _(c: t.ClaimTicket, s: TicketState, cmd, ctx) -> Decision:
    if not s.is_open or s.status == Status.APPEALED:
        return _illegal(c.kind, s, "the ticket is not being worked")
    if s.officer_id is not None:
        return _illegal(c.kind, s, f"the ticket is already assigned to {s.officer_id}")
    return [t.TicketAssigned(officer_id=cmd.actor.id)]


@_decide.register
def _(c: t.RecordContact, s: TicketState, cmd, ctx) -> Decision:
    if s.status not in _WORKING | {Status.RECTIFIED, Status.FEEDBACK_GIVEN}:
        return _illegal(c.kind, s, "assign the ticket first")
    if c.reached and c.verdict is None:
        return Refusal("invalid", "a reached evaluator's complaint must be verified as 属实 or 不属实")
    return [t.ContactRecorded(reached=c.reached, verdict=c.verdict if c.reached else None, note=c.note)]


@_decide.register
def _(c: t.RecordRectification, s: TicketState, cmd, ctx) -> Decision:
    if s.status not in _WORKING:
        return _illegal(c.kind, s, "rectification follows assignment or the return visit")
    return [t.RectificationRecorded(measures=c.measures, evidence=c.evidence)]


@_decide.register
def _(c: t.GiveFeedback, s: TicketState, cmd, ctx) -> Decision:
    if s.status != Status.RECTIFIED:
        return _illegal(c.kind, s, "feedback follows a recorded rectification")
    return [t.FeedbackGiven(message=c.message)]


@_decide.register
def _(c: t.ExplainPolicy, s: TicketState, cmd, ctx) -> Decision:
    if s.status not in _WORKING:
        return _illegal(c.kind, s, "explain after assignment, before rectification")
    return [t.PolicyExplained(explanation=c.explanation)]


@_decide.register
def _(c: t.CloseTicket, s: TicketState, cmd, ctx) -> Decision:
    if s.status == Status.FEEDBACK_GIVEN:
        return [t.TicketClosed(resolution="rectified")]
    if s.status == Status.EXPLAINED:
        return [t.TicketClosed(resolution="explained")]
    return _illegal(c.kind, s, "close after feedback was given or the policy was explained")


@_decide.register
def _(c: t.FileAppeal, s: TicketState, cmd, ctx) -> Decision:
    if s.appeal is not None:
        return _illegal(c.kind, s, f"an appeal was already filed ({s.appeal})")
    if s.status not in {Status.OPENED, *_WORKING}:
        return _illegal(c.kind, s, "appeal before rectification")
    return [t.AppealFiled(ground=c.ground, argument=c.argument)]


@_decide.register
def _(c: t.DecideAppeal, s: TicketState, cmd, ctx) -> Decision:
    if s.status != Status.APPEALED:
        return _illegal(c.kind, s, "no appeal is pending")
    return [t.AppealDecided(upheld=c.upheld, reason=c.reason)]


@_decide.register
def _(c: t.ReopenTicket, s: TicketState, cmd, ctx) -> Decision:
    if s.status not in {Status.FEEDBACK_GIVEN, Status.CLOSED} or s.resolution == "explained":
        return _illegal(c.kind, s, "only a rectification with feedback can be reopened by a 追评")
    if s.reopen_count >= 1:
        return _illegal(c.kind, s, "a ticket is reopened by one follow-up review at most")
    due = due_after(cmd.issued_at, ctx.policy.resolve_working_days, ctx.calendar)
    return [t.TicketReopened(follow_up_review_id=c.follow_up_review_id, rating=c.rating, resolve_due=due)]


@_decide.register
def _(c: t.RevealPhone, s: TicketState, cmd, ctx) -> Decision:
    return [t.PhoneViewed(viewer_id=cmd.actor.id)]


@_decide.register
def _(c: t.CheckDeadlines, s: TicketState, cmd, ctx) -> Decision:
    """Warnings and escalation derive from state and the time, so a sweep can run any number of
    times (and after a restart) without losing or repeating one."""
    events: list[t.TicketEvent] = []
    now = cmd.issued_at
    stages: list[tuple[t.Stage, datetime, datetime]] = []
    if s.contact_stage_active():
        stages.append(("contact", s.opened_at, s.contact_due))
    if s.resolve_stage_active():
        stages.append(("resolve", s.reopened_at or s.opened_at, s.resolve_due))
    for stage, start, due in stages:
        # Integer arithmetic in the policy: "exactly 80 %" counts, whatever the float rounding.
        for pct in ctx.policy.thresholds_crossed(start, due, now, ctx.calendar):
            if pct == ESCALATION_PERCENT:
                if stage not in s.escalated:
                    events.append(t.TicketEscalated(stage=stage, due=due))
            elif f"{stage}:{pct}" not in s.warned:
                events.append(t.DeadlineWarned(stage=stage, percent=pct, due=due))
    return events


# ---------------------------------------------------------------------------------------------
# execute: the whole pure step the ticket agent runs for one command


def execute(
    state: TicketState | None, cmd: t.TicketCommandEnvelope, ctx: DecisionContext, recorded_at: datetime
) -> tuple[t.CommandOutcome, TicketState | None]:
    if state is not None and cmd.command_id in state.recent_commands:
        return t.CommandOutcome(command_id=cmd.command_id, ticket_id=cmd.ticket_id, status="duplicate",
                                reason="command already applied", version=state.version), state
    version = state.version if state else 0
    # Who may act comes before the version check: a stranger learns nothing about the ticket.
    denied = authorize(state, cmd.actor, cmd.command.kind)
    if denied:
        return t.CommandOutcome(command_id=cmd.command_id, ticket_id=cmd.ticket_id, status="refused",
                                reason=f"{denied.code}: {denied.reason}", version=version), state
    if cmd.expected_version is not None and cmd.expected_version != version:
        return t.CommandOutcome(
            command_id=cmd.command_id, ticket_id=cmd.ticket_id, status="conflict", version=version,
            reason=f"ticket is at version {version}, the command expected {cmd.expected_version}: "
                   "someone acted on it first; reload and retry",
        ), state
    decision = decide(state, cmd, ctx)
    if isinstance(decision, Refusal):
        status = "not_found" if decision.code == "not_found" else "refused"
        return t.CommandOutcome(command_id=cmd.command_id, ticket_id=cmd.ticket_id, status=status,
                                reason=f"{decision.code}: {decision.reason}", version=version), state
    envs = []
    for i, event in enumerate(decision, start=1):
        v = version + i
        envs.append(t.TicketEventEnvelope(
            event_id=f"{cmd.ticket_id}:{v}", type=event.type, ticket_id=cmd.ticket_id, version=v,
            occurred_at=cmd.issued_at, recorded_at=recorded_at, actor=cmd.actor,
            command_id=cmd.command_id, event=event,
        ))
    for env in envs:
        state = fold(state, env)
    status = "accepted" if envs or cmd.command.kind == "CheckDeadlines" else "duplicate"
    phone = state.opened.phone if isinstance(cmd.command, t.RevealPhone) and envs else None
    return t.CommandOutcome(command_id=cmd.command_id, ticket_id=cmd.ticket_id, status=status,
                            version=state.version if state else 0, events=tuple(envs), phone=phone), state
