"""Rectification tickets (整改工单): commands (imperative), events (past tense), one envelope each.

The ticket-events topic is the single source of truth; every state is a fold of these events.
Event ids are deterministic (`<ticket id>:<version>`) so a replayed decision writes the same event
again and every consumer can drop the copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

TICKET_SCHEMA_VERSION = 1

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Role = Literal["officer", "supervisor", "manager", "admin", "system"]
Stage = Literal["contact", "resolve"]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------------------------
# Events (past tense)


class TicketOpened(_Message):
    type: Literal["TicketOpened"] = "TicketOpened"
    review_id: str
    case_no: str | None
    hall_id: str
    window_id: str
    department_id: str  # "supervisor:<hall>" when the window is not in the routing table
    staff_id: str | None = None
    item_name: str | None = None
    rating: int
    reasons: tuple[str, ...] = ()
    comment: str | None = None
    real_name: bool
    phone: str | None = None  # personal data: only the handling officer sees it unmasked
    happened_at: datetime
    contact_due: datetime
    resolve_due: datetime


class TicketAssigned(_Message):
    type: Literal["TicketAssigned"] = "TicketAssigned"
    officer_id: str
    previous_officer_id: str | None = None  # who had it before (None: it was unassigned)


class ContactRecorded(_Message):
    """回访. `reached=False` records an attempt; the ticket stays where it is."""

    type: Literal["ContactRecorded"] = "ContactRecorded"
    reached: bool
    verdict: Literal["属实", "不属实"] | None = None
    note: str = ""


class RectificationRecorded(_Message):
    type: Literal["RectificationRecorded"] = "RectificationRecorded"
    measures: str
    evidence: tuple[str, ...] = ()


class FeedbackGiven(_Message):
    type: Literal["FeedbackGiven"] = "FeedbackGiven"
    message: str


class PolicyExplained(_Message):
    type: Literal["PolicyExplained"] = "PolicyExplained"
    explanation: str


class TicketClosed(_Message):
    type: Literal["TicketClosed"] = "TicketClosed"
    resolution: Literal["rectified", "explained"]


class AppealFiled(_Message):
    type: Literal["AppealFiled"] = "AppealFiled"
    ground: Literal["mistaken", "malicious"]
    argument: str


class AppealDecided(_Message):
    """复核. Upheld invalidates the review: out of counts and the rate's denominator, kept in history."""

    type: Literal["AppealDecided"] = "AppealDecided"
    upheld: bool
    reason: str


class TicketReopened(_Message):
    type: Literal["TicketReopened"] = "TicketReopened"
    follow_up_review_id: str
    rating: int
    resolve_due: datetime  # a reopened ticket gets a fresh rectification deadline


class DeadlineWarned(_Message):
    type: Literal["DeadlineWarned"] = "DeadlineWarned"
    stage: Stage
    percent: Literal[50, 80]
    due: datetime


class TicketEscalated(_Message):
    type: Literal["TicketEscalated"] = "TicketEscalated"
    stage: Stage
    due: datetime


class PhoneViewed(_Message):
    """Every look at an evaluator's phone number is on the record."""

    type: Literal["PhoneViewed"] = "PhoneViewed"
    viewer_id: str


TicketEvent = Annotated[
    Union[
        TicketOpened,
        TicketAssigned,
        ContactRecorded,
        RectificationRecorded,
        FeedbackGiven,
        PolicyExplained,
        TicketClosed,
        AppealFiled,
        AppealDecided,
        TicketReopened,
        DeadlineWarned,
        TicketEscalated,
        PhoneViewed,
    ],
    Field(discriminator="type"),
]


class Actor(_Message):
    id: str
    role: Role
    department_id: str | None = None


SYSTEM = Actor(id="haocha", role="system")


class TicketEventEnvelope(_Message):
    schema_version: Literal[1] = 1
    event_id: str
    type: str
    ticket_id: str
    version: int = Field(ge=1)
    occurred_at: datetime  # business time (the command's issued_at)
    recorded_at: datetime  # when the platform wrote it
    actor: Actor
    command_id: str
    event: TicketEvent

    @model_validator(mode="after")
    def _type_matches(self) -> "TicketEventEnvelope":
        if self.type != self.event.type:
            raise ValueError(f"envelope type {self.type!r} != event type {self.event.type!r}")
        return self


# ---------------------------------------------------------------------------------------------
# Commands (imperative)


class OpenTicket(_Message):
    kind: Literal["OpenTicket"] = "OpenTicket"
    opened: TicketOpened


class AssignTicket(_Message):
    kind: Literal["AssignTicket"] = "AssignTicket"
    officer_id: str
    # The assignee's user record as the API found it when the command was issued (None: no active
    # user has this id). Set by the API, never by the caller, so the pure domain can judge
    # eligibility and a replay judges it the same way.
    assignee: Actor | None = None


class ClaimTicket(_Message):
    """An officer takes an unassigned ticket of the own department."""

    kind: Literal["ClaimTicket"] = "ClaimTicket"


class RecordContact(_Message):
    kind: Literal["RecordContact"] = "RecordContact"
    reached: StrictBool
    verdict: Literal["属实", "不属实"] | None = None
    note: str = Field("", max_length=2000)


class RecordRectification(_Message):
    kind: Literal["RecordRectification"] = "RecordRectification"
    measures: Text
    evidence: tuple[Annotated[str, Field(max_length=500)], ...] = ()


class GiveFeedback(_Message):
    kind: Literal["GiveFeedback"] = "GiveFeedback"
    message: Text


class CloseTicket(_Message):
    kind: Literal["CloseTicket"] = "CloseTicket"


class ExplainPolicy(_Message):
    kind: Literal["ExplainPolicy"] = "ExplainPolicy"
    explanation: Text


class FileAppeal(_Message):
    kind: Literal["FileAppeal"] = "FileAppeal"
    ground: Literal["mistaken", "malicious"]
    argument: Text


class DecideAppeal(_Message):
    kind: Literal["DecideAppeal"] = "DecideAppeal"
    upheld: StrictBool
    reason: Text


class ReopenTicket(_Message):
    kind: Literal["ReopenTicket"] = "ReopenTicket"
    follow_up_review_id: str
    rating: StrictInt = Field(ge=1, le=5)


class CheckDeadlines(_Message):
    """Issued by the deadline sweep; decides warnings and escalation from state and the time."""

    kind: Literal["CheckDeadlines"] = "CheckDeadlines"


class RevealPhone(_Message):
    kind: Literal["RevealPhone"] = "RevealPhone"


TicketCommand = Annotated[
    Union[
        OpenTicket,
        AssignTicket,
        ClaimTicket,
        RecordContact,
        RecordRectification,
        GiveFeedback,
        CloseTicket,
        ExplainPolicy,
        FileAppeal,
        DecideAppeal,
        ReopenTicket,
        CheckDeadlines,
        RevealPhone,
    ],
    Field(discriminator="kind"),
]


class TicketCommandEnvelope(_Message):
    schema_version: Literal[1] = 1
    command_id: str = Field(min_length=1, max_length=128)
    ticket_id: str
    issued_at: AwareDatetime
    actor: Actor
    expected_version: StrictInt | None = None  # optimistic concurrency: a stale view gets a conflict
    command: TicketCommand


class CommandOutcome(_Message):
    """The synchronous answer to a command."""

    command_id: str
    ticket_id: str
    status: Literal["accepted", "refused", "conflict", "not_found", "duplicate"]
    reason: str = ""
    version: int = 0
    events: tuple[TicketEventEnvelope, ...] = ()
    # The clear number, only in the answer to an accepted RevealPhone, whose PhoneViewed is in the
    # log: the outcome is keyed by a command id that only the requester waits for, so whichever
    # process serves the API shows the phone without holding the ticket. Never stored or logged.
    phone: str | None = Field(None, repr=False, description="only in the answer to an accepted RevealPhone")
