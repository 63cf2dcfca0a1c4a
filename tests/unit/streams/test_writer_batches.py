"""The writer marks each batch pending around its inserts and rebuilds the rollups before storing
anything when a batch may have stopped half way (streams/clickhouse_writer.py)."""

from __future__ import annotations

from haocha.settings import Settings
from streams.clickhouse_writer import ClickHouseWriter


class FakeStore:
    def __init__(self, pending: bool = False, fail_once: bool = False):
        self.pending, self.fail_once = pending, fail_once
        self.calls: list[str] = []

    def batch_unfinished(self, writer):
        return self.pending

    def batch_started(self, writer):
        self.calls.append("started")
        self.pending = True

    def batch_done(self, writer):
        self.calls.append("done")
        self.pending = False

    def rebuild_rollups(self):
        self.calls.append("rebuild")
        return 0, 0


class Table:
    def __init__(self, name):
        self.name = name

    def write(self, store, items):
        store.calls.append(self.name)
        if store.fail_once:
            store.fail_once = False
            raise ConnectionError("the server went away")
        return len(items)


def _writer(tmp_path, store) -> ClickHouseWriter:
    return ClickHouseWriter(Settings(data_dir=tmp_path), store, executor=None)


def test_a_batch_is_pending_around_its_inserts(tmp_path):
    store = FakeStore()
    w = _writer(tmp_path, store)
    assert w._write([(Table("reviews"), [1, 2]), (Table("ticket_events"), [3])]) == 3
    assert store.calls == ["started", "reviews", "ticket_events", "done"]
    assert w._write([]) == 0 and store.calls[-1] == "done"  # nothing to store: nothing marked


def test_a_pending_batch_at_start_rebuilds_the_rollups_first(tmp_path):
    store = FakeStore(pending=True)
    w = _writer(tmp_path, store)
    w._write([(Table("reviews"), [1])])
    assert store.calls == ["rebuild", "done", "started", "reviews", "done"]


def test_a_failed_attempt_rebuilds_before_the_retry(tmp_path):
    store = FakeStore(fail_once=True)
    w = _writer(tmp_path, store)
    try:
        w._write([(Table("reviews"), [1])])
    except ConnectionError:
        pass
    assert store.pending
    w._write([(Table("reviews"), [1])])
    assert store.calls == ["started", "reviews", "rebuild", "done", "started", "reviews", "done"]
