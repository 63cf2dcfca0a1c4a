"""From an HTTP body and the caller's token to a command envelope. The actor comes from the token;
only an admin may backdate (`at`: a paper register, the simulator) or act as someone else."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from schemas.tickets import Actor, AssignTicket, TicketCommand, TicketCommandEnvelope

_COMMAND = TypeAdapter(TicketCommand)
_AT = TypeAdapter(AwareDatetime)


class BadRequest(Exception):
    def __init__(self, status: int, message: str, detail: object = None, code: str | None = None):
        super().__init__(message)
        self.status, self.detail, self.code = status, detail, code


def parse_at(raw: object) -> datetime:
    try:
        return _AT.validate_python(raw)
    except ValidationError as exc:
        raise BadRequest(422, "`at` must be an ISO time with a zone, e.g. 2021-05-06T09:00:00+08:00",
                         _errors(exc)) from None


def build_envelope(body: object, ticket_id: str, caller: Actor, now: datetime,
                   assignee_of: Callable[[str], Actor | None] = lambda user_id: None) -> TicketCommandEnvelope:
    """`assignee_of` finds an active user by id: an assignment carries the assignee as the API
    found them (never as the caller claims), and the ticket judges whether they may hold it."""
    if not isinstance(body, dict):
        raise BadRequest(422, "the body is a JSON object with a `kind`")
    fields = dict(body)
    fields.pop("assignee", None)
    expected_version = fields.pop("expected_version", None)
    command_id = fields.pop("command_id", None) or f"api:{uuid.uuid4()}"
    at, act_as = fields.pop("at", None), fields.pop("act_as", None)
    if (at is not None or act_as is not None) and caller.role != "admin":
        raise BadRequest(403, "only an admin may set `at` or `act_as`")
    actor = caller
    if act_as is not None:
        try:
            actor = Actor.model_validate(act_as)
        except ValidationError as exc:
            raise BadRequest(422, "invalid `act_as`", _errors(exc)) from None
    try:
        command = _COMMAND.validate_python(fields)
        if isinstance(command, AssignTicket):
            command = command.model_copy(update={"assignee": assignee_of(command.officer_id)})
        return TicketCommandEnvelope(command_id=str(command_id), ticket_id=ticket_id,
                                     issued_at=parse_at(at) if at is not None else now, actor=actor,
                                     expected_version=expected_version, command=command)
    except ValidationError as exc:
        raise BadRequest(422, "invalid command", _errors(exc)) from None


def _errors(exc: ValidationError) -> list:
    return json.loads(exc.json(include_url=False, include_input=False))
