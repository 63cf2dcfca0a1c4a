"""The one topic -> rows mapping: how a batch of raw messages of each history topic becomes a store
write. The worker's sink agents use it live and `haocha rebuild` from the start of the log, so both
write the same rows.

A raw message is anything with a Kafka record's value (bytes), partition and offset: an aiokafka
ConsumerRecord, or the message of a Faust event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas import topics as t
from schemas.alerts import AlertEnvelope
from schemas.review import DeadLetter
from sinks.clickhouse import ClickHouseStore

log = logging.getLogger(__name__)


class Raw(Protocol):
    value: bytes
    partition: int
    offset: int


@dataclass(frozen=True)
class TopicRows:
    topic: str  # the topic spec's name, without the prefix
    parse: Callable[[Sequence[Raw]], list]  # what the write takes; the worker parses on its event loop
    write: Callable[[ClickHouseStore, list], int]  # rows written (the new ones only)


def _values(msgs: Sequence[Raw]) -> list[bytes]:
    # No parse here: the producers validated the schema, and the store hands the bytes on
    # (sinks/staging.py: ClickHouse maps reviews and ticket states itself).
    return [m.value for m in msgs]


def _dead_letters(msgs: Sequence[Raw]) -> list[tuple[DeadLetter, int, int]]:
    out = []
    for m in msgs:
        try:
            out.append((DeadLetter.model_validate_json(m.value), m.partition, m.offset))
        except ValueError:
            log.error("unreadable dead letter at %s@%s kept in Kafka only", m.partition, m.offset)
    return out


REVIEWS = TopicRows(t.REVIEWS_CLASSIFIED.name, _values, ClickHouseStore.write_reviews)
TICKET_EVENTS = TopicRows(t.TICKET_EVENTS.name, _values, ClickHouseStore.write_ticket_events)
TICKET_STATE = TopicRows(t.TICKET_STATE.name, _values, ClickHouseStore.write_ticket_states)
ALERTS = TopicRows(t.ALERTS.name, lambda msgs: [AlertEnvelope.model_validate_json(m.value) for m in msgs],
                   ClickHouseStore.write_alert_events)
DEAD_LETTERS = TopicRows(t.DEAD_LETTERS.name, _dead_letters, ClickHouseStore.write_dead_letters)

HISTORY = (REVIEWS, TICKET_EVENTS, TICKET_STATE, ALERTS, DEAD_LETTERS)
