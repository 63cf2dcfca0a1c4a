"""Every Kafka topic of the platform, declared once with its partitions, retention and cleanup.

Topics are created explicitly (`haocha topics create`, and by the worker at start); the broker
does not auto-create. The review and ticket logs are kept forever: they are the source of truth
that `haocha rebuild` re-derives ClickHouse from.
"""

from __future__ import annotations

from dataclasses import dataclass

FOREVER = -1
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str  # without the prefix
    retention_ms: int
    compact: bool = False
    keyed_by: str = ""
    partitioned: bool = True  # False: one partition (ordering across all keys matters)

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms)}
        if self.compact:
            cfg["cleanup.policy"] = "compact"
        # Reviews from offline pads arrive days late; never let the broker judge their timestamps.
        cfg["message.timestamp.type"] = "CreateTime"
        cfg["message.timestamp.before.max.ms"] = str(2**63 - 1)
        return cfg


# Keyed by hall (the gateway and the simulator do): a review is classified in its hall's partition,
# and one keyed otherwise is forwarded there first.
REVIEWS_SUBMITTED = TopicSpec("reviews.submitted", 30 * DAY_MS, keyed_by="hall_id (raw terminal input)")
# The review hop's state (counting-rule guard, alert window counts) per partition of the submitted
# reviews: compacted, one record per key and batch.
REVIEW_STATE = TopicSpec("reviews.state", FOREVER, compact=True, keyed_by="guard or window key (partition = its hall's)")
REVIEWS_CLASSIFIED = TopicSpec("reviews.classified", FOREVER, keyed_by="hall_id")
DEAD_LETTERS = TopicSpec("deadletter", FOREVER, keyed_by="source key")
TICKET_COMMANDS = TopicSpec("tickets.commands", 7 * DAY_MS, keyed_by="ticket_id")
TICKET_EVENTS = TopicSpec("tickets.events", FOREVER, keyed_by="ticket_id")
TICKET_STATE = TopicSpec("tickets.state", FOREVER, compact=True, keyed_by="ticket_id")
TICKET_OUTCOMES = TopicSpec("tickets.outcomes", 3600 * 1000, keyed_by="command_id")
ALERTS = TopicSpec("alerts", FOREVER, keyed_by="window_id")
TERMINALS = TopicSpec("terminals", FOREVER, compact=True, keyed_by="terminal_id")

ALL = (
    REVIEWS_SUBMITTED, REVIEW_STATE, REVIEWS_CLASSIFIED, DEAD_LETTERS,
    TICKET_COMMANDS, TICKET_EVENTS, TICKET_STATE, TICKET_OUTCOMES, ALERTS, TERMINALS,
)
