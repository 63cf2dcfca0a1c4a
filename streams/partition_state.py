"""Keyed state of a batch hop, one RocksDB database per input partition, backed by a compacted
changelog topic with the same partitions, so a partition that moves to another worker brings its
state: `open` restores it from the changelog before the partition's first batch.

A batch reads through a `StagedView` (its own earlier updates first, then RocksDB) and stages its
updates there. Each staged key is written once per batch: changelog records first, delivered, then
the local database together with how far the changelog is in it. So the local database is never
ahead of the changelog, and a restore replays only what came after.

A batch's state changes are all-or-nothing, also in the changelog: its records of a partition end
with a batch-end marker, and a restore applies records only up to the last marker. Records of a
batch cut short by a crash are ignored (the batch is processed again from the older state). A
partial batch would break replay: a terminal's press list saved with the batch's later presses but
without the review id that an earlier press was remembered by classifies that press again against
presses that came after it. The marker has one key, so compaction keeps the newest one only, and
nothing before it is dropped that a later record did not replace.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from rocksdict import BlockBasedOptions, Options, Rdict, WriteBatch

from haocha.adapters.kafka import Emitter

log = logging.getLogger(__name__)

# Not valid UTF-8, so never a key of ours: the next changelog offset to read after what the
# database holds, and the key of the batch-end marker in the changelog.
_NEXT_OFFSET = b"\xff__changelog_next_offset"
BATCH_END = b"\xff__batch_end"


def complete_batches(records) -> tuple[list[tuple[bytes, bytes | None]], int | None]:
    """The (key, value) records of a changelog read up to its last batch-end marker, and the offset
    after that marker (None: no marker, nothing to apply)."""
    applied, pending, next_offset = [], [], None
    for rec in records:
        if rec.key == BATCH_END:
            applied.extend(pending)
            pending = []
            next_offset = rec.offset + 1
        else:
            pending.append((rec.key, rec.value))
    return applied, next_offset


class StagedView(Mapping):
    """The state of one partition as the pure domain sees it (a read-only mapping), with this
    batch's updates staged on top.

    Values read or staged stay decoded in memory (`known`, up to `KNOWN_LIMIT` keys, then cleared)
    if their key starts with one of `remember` (None: every key): a terminal's presses and the
    current alert windows are read by review after review, while a review's own keys (its id, its
    case number) are read once and written once; kept, they only fill the heap that the garbage
    collector walks. Only this view writes the partition's database, so what it knows is what the
    database holds, once the batch is written; a batch that fails stops the process, and a restored
    database gets a new view. The domain never changes a value it was given, so sharing them is safe."""

    __slots__ = ("_db", "_known", "_remember", "staged", "encoded")
    KNOWN_LIMIT = 50_000

    def __init__(self, db: Rdict, remember: tuple[str, ...] | None = None):
        self._db = db
        self._known: dict[str, Any] = {}
        # every key starts with ""
        self._remember = ("",) if remember is None else remember
        self.staged: dict[str, Any] = {}
        self.encoded: list[tuple[bytes, bytes]] = []  # the staged records as written, once per batch

    def get(self, key: str, default: Any = None) -> Any:
        v = self._known.get(key)
        if v is None:
            v = self.staged.get(key)
            if v is not None:
                return v
            raw = self._db.get(key.encode())
            if raw is None:
                return default
            v = orjson.loads(raw)
            if key.startswith(self._remember):
                self._known[key] = v
        return v

    def __getitem__(self, key: str) -> Any:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def stage(self, updates: Mapping[str, Any]) -> None:
        self.staged.update(updates)
        known, remember = self._known, self._remember
        for key, value in updates.items():
            if key.startswith(remember):
                known[key] = value

    def put(self, key: str, value: Any) -> None:
        self.staged[key] = value
        if key.startswith(self._remember):
            self._known[key] = value

    def written(self) -> None:
        """The staged updates are in the database."""
        self.staged, self.encoded = {}, []
        if len(self._known) > self.KNOWN_LIMIT:
            self._known = {}

    def __iter__(self):  # pragma: no cover - the domain only looks keys up
        raise TypeError("not iterable")

    def __len__(self) -> int:  # pragma: no cover
        raise TypeError("no length")


class PartitionStates:
    def __init__(self, root: Path, changelog: str, new_consumer: Callable[[], AIOKafkaConsumer],
                 remember: tuple[str, ...] | None = None):
        """`new_consumer()`: a group-less consumer, to read the changelog with. `remember`: the key
        prefixes whose values the views keep in memory (`StagedView`)."""
        self.root, self.changelog, self._new_consumer = Path(root), changelog, new_consumer
        self._remember = remember
        self._dbs: dict[int, Rdict] = {}
        self._views: dict[int, StagedView] = {}

    def view(self, partition: int) -> StagedView:
        return self._views[partition]

    async def open(self, partitions: Iterable[int]) -> None:
        fresh = [p for p in partitions if p not in self._dbs]
        for p in fresh:
            self._dbs[p] = Rdict(str(self._path(p)), _options())
            self._views[p] = StagedView(self._dbs[p], self._remember)
        if fresh:
            await self._restore(fresh)

    def close(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self._views.pop(p, None)
            db = self._dbs.pop(p, None)
            if db is not None:
                db.close()

    def close_all(self) -> None:
        self.close(list(self._dbs))

    async def deliver_changelog(self, out: Emitter) -> dict[tuple[str, int], int]:
        """One changelog record per staged key, delivered. Then `write_local(ends)`."""
        dumps = orjson.dumps
        for p, view in self._views.items():
            if view.staged:
                view.encoded = [(key.encode(), dumps(value)) for key, value in view.staged.items()]
                out.send_all(self.changelog, p, view.encoded)
                out.send(self.changelog, BATCH_END, b"1", partition=p)
        return await out.delivered()

    def write_local(self, ends: dict[tuple[str, int], int]) -> None:
        for p, view in self._views.items():
            if not view.staged:
                continue
            wb = WriteBatch(raw_mode=True)
            for key, value in view.encoded:
                wb.put(key, value)
            end = ends.get((self.changelog, p))
            if end is not None:
                wb.put(_NEXT_OFFSET, str(end).encode())
            self._dbs[p].write(wb)
            view.written()

    def _apply(self, partition: int, records: list) -> int:
        """Write the complete batches read so far; keep the rest (in `records`) for later."""
        puts, next_offset = complete_batches(records)
        if next_offset is None:
            return 0
        wb = WriteBatch(raw_mode=True)
        for key, value in puts:
            if value is None:
                wb.delete(key)
            else:
                wb.put(key, value)
        wb.put(_NEXT_OFFSET, str(next_offset).encode())
        self._dbs[partition].write(wb)
        records[:] = [r for r in records if r.offset >= next_offset]
        return len(puts)

    def _path(self, partition: int) -> Path:
        path = self.root / f"p{partition}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    async def _restore(self, partitions: list[int]) -> None:
        consumer = self._new_consumer()
        await consumer.start()
        try:
            tps = [TopicPartition(self.changelog, p) for p in partitions]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            todo = {}
            for tp in tps:
                db = self._dbs[tp.partition]
                raw = db.get(_NEXT_OFFSET)
                start = int(raw) if raw is not None else 0
                if start > ends[tp]:  # the changelog was recreated: the local copy is of another log
                    log.warning("state of partition %d is ahead of its changelog; restoring it from scratch", tp.partition)
                    db.close()
                    shutil.rmtree(self._path(tp.partition), ignore_errors=True)
                    db = self._dbs[tp.partition] = Rdict(str(self._path(tp.partition)), _options())
                    self._views[tp.partition] = StagedView(db, self._remember)
                    start = 0
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    todo[tp] = start
            restored = 0
            read: dict[TopicPartition, list] = {tp: [] for tp in todo}
            while todo:
                got = await consumer.getmany(*todo, timeout_ms=1000, max_records=50_000)
                for tp, records in got.items():
                    read[tp].extend(records)
                    restored += self._apply(tp.partition, read[tp])
                for tp in list(todo):
                    if await consumer.position(tp) >= ends[tp]:
                        del todo[tp]
            if restored:
                log.info("restored %d state records of partitions %s from %s", restored, partitions, self.changelog)
        finally:
            await consumer.stop()


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    # Most reads miss (a new review's id, its case number): bloom filters answer those without
    # searching the memtable or reading the files' blocks.
    table = BlockBasedOptions()
    table.set_bloom_filter(10, False)
    opts.set_block_based_table_factory(table)
    opts.set_memtable_prefix_bloom_ratio(0.1)
    opts.set_memtable_whole_key_filtering(True)
    return opts
