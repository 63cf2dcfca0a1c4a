"""A RevealPhone outcome carries the clear number for the phone route; the generic command answer
(`POST .../commands` with RevealPhone) records the view and shows no number."""

from __future__ import annotations

from apps.api.views import outcome_view
from schemas.tickets import CommandOutcome


def test_the_command_answer_never_shows_the_phone():
    outcome = CommandOutcome(command_id="c", ticket_id="TK-1", status="accepted", version=3, phone="13912345678")
    assert "13912345678" not in str(outcome_view(outcome)) and "phone" not in outcome_view(outcome)
