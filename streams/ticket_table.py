"""The ticket table: the current state of every ticket of this worker's command partitions, one
RocksDB database per partition, read by the ticket hop, the API (a ticket's state without sink lag)
and the deadline sweep.

It is a fold of the snapshot log (tickets.state: compacted, keyed and partitioned like the
commands, one snapshot per ticket and batch), so it needs no changelog of its own: a partition
that moves to another worker is restored there by reading its snapshots from where the local copy
stopped. The hop writes a batch's snapshots to the log first and to the local database after, with
how far the log is in it, so the local copy is never ahead of the log. Beside it, in memory, the
events the hop delivered lately (streams/recent_events.py), so the API can show a ticket's history
without the store.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from rocksdict import Options, Rdict, WriteBatch

from streams.recent_events import Delivered, DeliveredListener, RecentEvents

log = logging.getLogger(__name__)

# Not valid UTF-8, so never a ticket id: the next snapshot-log offset after what the database holds.
_NEXT_OFFSET = b"\xff__snapshots_next_offset"


class TicketTable:
    def __init__(self, root: Path, snapshots: str, new_consumer: Callable[[], AIOKafkaConsumer]):
        """`new_consumer()`: a group-less consumer, to read the snapshot log with."""
        self.root, self.snapshots, self._new_consumer = Path(root), snapshots, new_consumer
        self._dbs: dict[int, Rdict] = {}
        # While partitions are restored: snapshot records read so far and to read, None before
        # the log's end offsets are known (the worker's readiness says so).
        self.restoring: tuple[int, int] | None = None
        self.restoring_started = False
        self.recent = RecentEvents()  # the events behind the states, for tickets changed lately
        # Told of each batch's events once they are in the log (the API's live queue: the events
        # of this worker's tickets without waiting to read them back from Kafka).
        self.listeners: list[DeliveredListener] = []

    def delivered(self, events: list[Delivered]) -> None:
        """A batch's events (ticket id, version, envelope JSON, partition), now in the log."""
        for tid, version, raw, partition in events:
            self.recent.add(tid, version, raw, partition)
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:  # a reader's fault must not stop the hop; the events are in the log
                log.exception("a listener of delivered ticket events failed")

    @property
    def partitions(self) -> set[int]:
        return set(self._dbs)

    def get_in(self, partition: int, ticket_id: str) -> dict | None:
        raw = self._dbs[partition].get(ticket_id.encode())
        return None if raw is None else orjson.loads(raw)

    def get(self, ticket_id: str) -> dict | None:
        """The ticket's state from whichever local partition holds it (None: not held here)."""
        key = ticket_id.encode()
        for db in list(self._dbs.values()):
            raw = db.get(key)
            if raw is not None:
                return orjson.loads(raw)
        return None

    def items(self) -> Iterator[tuple[str, dict]]:
        for db in list(self._dbs.values()):
            for key, raw in db.items():
                if key != _NEXT_OFFSET:
                    yield key.decode(), orjson.loads(raw)

    def write(self, partition: int, states: dict[str, dict], next_offset: int | None) -> None:
        """A batch's snapshots of one partition, once they are in the log up to `next_offset`."""
        wb = WriteBatch(raw_mode=True)
        for ticket_id, state in states.items():
            wb.put(ticket_id.encode(), orjson.dumps(state))
        if next_offset is not None:
            wb.put(_NEXT_OFFSET, str(next_offset).encode())
        self._dbs[partition].write(wb)

    async def open(self, partitions: Iterable[int]) -> None:
        fresh = [p for p in partitions if p not in self._dbs]
        for p in fresh:
            self._dbs[p] = Rdict(str(self._path(p)), _options())
        if fresh:
            self.restoring_started = True
            try:
                await self._restore(fresh)
            finally:
                self.restoring_started, self.restoring = False, None

    def close(self, partitions: Iterable[int]) -> None:
        partitions = set(partitions)
        for p in partitions:
            db = self._dbs.pop(p, None)
            if db is not None:
                db.close()
        self.recent.forget_partitions(partitions)

    def close_all(self) -> None:
        self.close(list(self._dbs))

    def _path(self, partition: int) -> Path:
        path = self.root / f"p{partition}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    async def _restore(self, partitions: list[int]) -> None:
        consumer = self._new_consumer()
        await consumer.start()
        try:
            tps = [TopicPartition(self.snapshots, p) for p in partitions]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            todo: dict[TopicPartition, int] = {}
            for tp in tps:
                raw = self._dbs[tp.partition].get(_NEXT_OFFSET)
                start = int(raw) if raw is not None else 0
                if start > ends[tp]:  # the log was recreated: the local copy is of another log
                    log.warning("tickets of partition %d are ahead of their log; restoring them from scratch",
                                tp.partition)
                    self._dbs[tp.partition].close()
                    shutil.rmtree(self._path(tp.partition), ignore_errors=True)
                    self._dbs[tp.partition] = Rdict(str(self._path(tp.partition)), _options())
                    start = 0
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    todo[tp] = start
            total, done = sum(ends[tp] - start for tp, start in todo.items()), 0
            self.restoring = (0, total)
            while todo:
                got = await consumer.getmany(*todo, timeout_ms=1000, max_records=50_000)
                for tp, records in got.items():
                    wb = WriteBatch(raw_mode=True)
                    for rec in records:
                        if rec.value is None:
                            wb.delete(rec.key)
                        else:
                            wb.put(rec.key, rec.value)
                    wb.put(_NEXT_OFFSET, str(records[-1].offset + 1).encode())
                    self._dbs[tp.partition].write(wb)
                    done += len(records)
                self.restoring = (min(done, total), total)
                for tp in list(todo):
                    if await consumer.position(tp) >= ends[tp]:
                        del todo[tp]
            if done:
                log.info("restored %d ticket snapshots of partitions %s from %s", done, sorted(partitions),
                         self.snapshots)
        finally:
            await consumer.stop()


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    return opts
