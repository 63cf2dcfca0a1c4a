"""The store stores a ticket event as the topic holds it unless it may hold personal data
(sinks.clickhouse.maybe_personal): that check must fire on every event the masking changes."""

import random

import orjson

from sinks.clickhouse import masked_event, maybe_personal

PIECES = ["0", "1", "3", "8", "9", "13", "138", "86", "+86 ", " ", ",", "好", "１", "٣", "८", "a", "\n", "\"", "\\"]


def envelope(event: dict) -> dict:
    return {"event_id": "T-1:2", "type": event["type"], "ticket_id": "T-1", "version": 2,
            "occurred_at": "2021-05-13T15:30:00+08:00", "recorded_at": "2021-05-13T15:30:00.250000+08:00",
            "actor": {"id": "officer-1", "role": "officer"}, "command_id": "T-1-c2", "event": event}


def test_every_event_the_masking_changes_is_caught():
    rnd = random.Random(4)
    changed = 0
    for _ in range(20000):
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 24)))
        event = rnd.choice([{"type": "ContactRecorded", "reached": True, "note": text},
                            {"type": "FeedbackGiven", "message": text},
                            {"type": "TicketOpened", "comment": text, "phone": rnd.choice([None, "", text[:12]])}])
        env = envelope(event)
        if masked_event(env) != env:
            changed += 1
            assert maybe_personal(orjson.dumps(env)), env
    assert changed > 1000


def test_an_event_without_personal_data_passes_untouched():
    env = envelope({"type": "TicketClosed", "resolution": "rectified"})
    assert not maybe_personal(orjson.dumps(env))
