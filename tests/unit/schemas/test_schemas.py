import json
from datetime import datetime, timezone

import jsonschema
import pytest
from pydantic import ValidationError

from schemas import export
from schemas.review import ReviewSubmitted
from schemas.tickets import TicketAssigned, TicketEventEnvelope, Actor

EXAMPLE = {
    "schema_version": 1, "review_id": "R-1", "case_no": "C-1", "channel": "pad", "hall_id": "H-CY",
    "window_id": "H-CY-W01", "rating": 2, "reasons": ["效率低"], "comment": "等了很久",
    "evaluator": {"real_name": True, "phone": "13800001234"},
    "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T-1",
}


def test_a_valid_review_parses_and_is_frozen():
    r = ReviewSubmitted.model_validate(EXAMPLE)
    assert r.is_bad and r.is_real_name
    with pytest.raises(ValidationError):
        r.rating = 5  # type: ignore[misc]


@pytest.mark.parametrize("change, field", [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"happened_at": "2021-05-06T10:00:00"}, "happened_at"),
    ({"comment": "bad\x07bell"}, "comment"), ({"channel": "fax"}, "channel"), ({"review_id": ""}, "review_id"),
    ({"unknown": 1}, "unknown"), ({"evaluator": {"phone": "call me"}}, "phone"),
])
def test_invalid_reviews_are_refused_naming_the_field(change, field):
    with pytest.raises(ValidationError) as exc:
        ReviewSubmitted.model_validate({**EXAMPLE, **change})
    assert field in str(exc.value)


def test_the_envelope_type_must_match_its_event():
    common = dict(event_id="TK-1:2", ticket_id="TK-1", version=2, occurred_at=datetime.now(timezone.utc),
                  recorded_at=datetime.now(timezone.utc), actor=Actor(id="o", role="officer"), command_id="c",
                  event=TicketAssigned(officer_id="o"))
    assert TicketEventEnvelope(type="TicketAssigned", **common).type == "TicketAssigned"
    with pytest.raises(ValidationError):
        TicketEventEnvelope(type="TicketClosed", **common)


def test_published_json_schema_is_current_and_accepts_the_documented_example():
    for name, schema in export.schemas().items():
        on_disk = json.loads((export.OUT / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert on_disk == schema, f"{name} is stale: run `haocha schemas export`"
    review_schema = export.schemas()["review-submitted.v1"]
    jsonschema.validate(EXAMPLE, review_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**EXAMPLE, "rating": 7}, review_schema)


@pytest.mark.parametrize("change", [
    {"rating": True}, {"rating": "2"}, {"rating": 2.0}, {"indicators": {"服务效率": False}},
    {"evaluator": {"real_name": "true"}}, {"evaluator": {"real_name": 1}},
])
def test_wire_numbers_and_flags_are_strict(change):
    with pytest.raises(ValidationError):
        ReviewSubmitted.model_validate({**EXAMPLE, **change})
    review_schema = export.schemas()["review-submitted.v1"]
    if not isinstance(next(iter(change.values())), float):  # JSON Schema's integer admits 2.0
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**EXAMPLE, **change}, review_schema)


@pytest.mark.parametrize("command", [
    {"kind": "RecordContact", "reached": "yes"}, {"kind": "RecordContact", "reached": 1},
    {"kind": "DecideAppeal", "upheld": "false", "reason": "x"}, {"kind": "ReopenTicket", "follow_up_review_id": "f", "rating": "1"},
    {"kind": "ReopenTicket", "follow_up_review_id": "f", "rating": True},
])
def test_ticket_commands_are_strict(command):
    from pydantic import TypeAdapter

    from schemas.tickets import TicketCommand

    with pytest.raises(ValidationError):
        TypeAdapter(TicketCommand).validate_python(command)
