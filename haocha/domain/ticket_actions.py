"""Which commands an actor may issue on a ticket now: asked of `decide` itself with a harmless
probe of each kind, so the console's buttons can never disagree with the ticket's own rules."""

from __future__ import annotations

from datetime import datetime

from haocha.domain.tickets import DecisionContext, Refusal, TicketState, decide
from schemas import tickets as t

# The commands a person issues from the console, each with fields that pass validation.
_PROBES: dict[str, t._Message] = {
    "ClaimTicket": t.ClaimTicket(),
    "RecordContact": t.RecordContact(reached=False),
    "RecordRectification": t.RecordRectification(measures="probe"),
    "GiveFeedback": t.GiveFeedback(message="probe"),
    "CloseTicket": t.CloseTicket(),
    "ExplainPolicy": t.ExplainPolicy(explanation="probe"),
    "FileAppeal": t.FileAppeal(ground="mistaken", argument="probe"),
    "DecideAppeal": t.DecideAppeal(upheld=False, reason="probe"),
}
_NOT_NOW = frozenset({"forbidden", "illegal_transition", "not_found"})


def allowed_commands(state: TicketState, actor: t.Actor, at: datetime, ctx: DecisionContext) -> list[str]:
    """Kinds (in the console's order) that `decide` would not refuse for who or when; a refusal
    for a field's content ("invalid") still counts as allowed: the form is then the place to fix it."""
    probes = {"AssignTicket": _assign_probe(state), **_PROBES}
    out = []
    for kind, command in probes.items():
        cmd = t.TicketCommandEnvelope(command_id="probe", ticket_id=state.ticket_id, issued_at=at, actor=actor,
                                      command=command)
        decision = decide(state, cmd, ctx)
        if not (isinstance(decision, Refusal) and decision.code in _NOT_NOW):
            out.append(kind)
    return out


def _assign_probe(state: TicketState) -> t.AssignTicket:
    """An assignment to an eligible colleague who does not hold the ticket yet."""
    other = f"{state.officer_id or ''}~probe"
    return t.AssignTicket(officer_id=other, assignee=t.Actor(id=other, role="officer",
                                                             department_id=state.department_id))
