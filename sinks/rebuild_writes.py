"""How `haocha rebuild` writes a batch of each history topic.

Reviews and ticket events go through the writer's staged writes (sinks/staging.py: the topic's
JSON mapped and masked by ClickHouse, the first copy of a key stored once), alerts and dead
letters through the writer's own rows (sinks/rows.py). Each topic has a connection of its own, so
the topics are written side by side.

The tickets table is where the rebuild stores less than the writer: the writer stores every
snapshot (one per version) and every read takes each ticket's newest (FINAL, or argMax by
version; tickets.state is a compacted topic, which keeps only the newest anyway), so the rebuild
stores per batch each ticket's newest snapshot, and only if it is newer than the ticket's row
stored already. Of copies of one version the first in the log wins, as the writer's key check
makes it win.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from schemas import topics as t
from sinks import rows
from sinks import staging
from sinks.clickhouse import ClickHouseStore, maybe_personal, masked_event
from sinks.rows import Raw, TopicRows
from sinks.staging import REVIEWS, STAGE_FORMAT, STAGE_SETTINGS, TICKET_EVENTS, TICKETS, Staged

# A batch parsed on one thread: the topics are written side by side, so the cores are busy
# anyway, and parsing on several threads cost a third more CPU for the same rows (measured on
# reviews and snapshots).
PARSE_ON_ONE_THREAD = {"input_format_parallel_parsing": 0}


class StagedTopic:
    """A topic's batches through its staging table: the rows whose keys the target lacks."""

    staged: Staged

    def __init__(self, store: ClickHouseStore):
        self.store, self.client, self.db = store, store.client, store.db
        self.stage = self.staged.stage_table(self.db)
        self.client.command(self.sql(self.staged.create_sql(self.db)))

    def sql(self, text: str) -> str:
        return text.replace("{db}", self.db).replace("{tz}", self.store.timezone)

    def write(self, msgs: Sequence[Raw]) -> int:
        if not msgs:
            return 0
        self.client.command(self.staged.truncate_sql(self.db))
        self.client.raw_insert(self.stage, None, staging.body(self.values(msgs)), fmt=STAGE_FORMAT,
                               settings={**STAGE_SETTINGS, **PARSE_ON_ONE_THREAD})
        return self.store_fresh()

    def values(self, msgs: Sequence[Raw]) -> list[bytes]:
        return [m.value for m in msgs]

    def store_fresh(self) -> int:
        fresh = int(self.client.command(self.sql(self.staged.count_sql(self.db))))
        if fresh:
            self.client.command(self.sql(self.staged.store_sql(self.db)))
        return fresh


class Reviews(StagedTopic):
    staged = REVIEWS


class TicketEvents(StagedTopic):
    staged = TICKET_EVENTS

    def values(self, msgs: Sequence[Raw]) -> list[bytes]:
        # As the writer stores them (sinks/clickhouse.py): masked in Python if they may hold personal data.
        return [orjson.dumps(masked_event(orjson.loads(m.value))) if maybe_personal(m.value) else m.value
                for m in msgs]


class TicketStates(StagedTopic):
    staged = TICKETS

    def store_fresh(self) -> int:
        db, stage = self.db, self.stage
        newest = f"SELECT ticket_id, version, _n FROM {stage} ORDER BY version DESC, toUInt32(_n) LIMIT 1 BY ticket_id"
        stored = (f"SELECT ticket_id, max(version) AS stored FROM {db}.tickets "
                  f"WHERE ticket_id IN (SELECT ticket_id FROM {stage}) GROUP BY ticket_id")
        # A ticket not stored yet joins stored = 0, below every version.
        fresh = f"SELECT _n FROM ({newest}) AS b LEFT JOIN ({stored}) AS s USING (ticket_id) WHERE b.version > s.stored"
        n = int(self.client.command(f"SELECT count() FROM ({fresh})"))
        if n:
            self.client.command(self.sql(f"INSERT INTO {db}.tickets ({', '.join(TICKETS.columns)}) "
                                         f"SELECT {TICKETS.select} FROM {stage} WHERE _n IN ({fresh})"))
        return n


class WriterRows:
    """A low-volume topic the writer's way (sinks/rows.py)."""

    def __init__(self, store: ClickHouseStore, topic: TopicRows):
        self.store, self.topic = store, topic

    def write(self, msgs: Sequence[Raw]) -> int:
        return self.topic.write(self.store, self.topic.parse(msgs))


# The heaviest writes first: the topics take turns reading, in this order.
WRITERS = {
    t.TICKET_EVENTS.name: TicketEvents,
    t.REVIEWS_CLASSIFIED.name: Reviews,
    t.TICKET_STATE.name: TicketStates,
    t.ALERTS.name: lambda store: WriterRows(store, rows.ALERTS),
    t.DEAD_LETTERS.name: lambda store: WriterRows(store, rows.DEAD_LETTERS),
}
