"""A restore applies the review hop's state changes batch by batch: a batch cut short by a crash
(records without their batch-end marker) is not applied, so the batch is processed again from the
state before it, as the first time."""

import asyncio
from types import SimpleNamespace

import orjson
from rocksdict import Rdict

from streams.partition_state import _NEXT_OFFSET, BATCH_END, PartitionStates, StagedView, _options, complete_batches


def records(*items):
    return [SimpleNamespace(key=k, value=v, offset=i) for i, (k, v) in enumerate(items)]


def test_only_batches_with_their_end_marker_are_applied():
    log = records((b"id:a", b"1"), (b"term:T", b"[a]"), (BATCH_END, b"1"),
                  (b"id:b", b"2"), (b"term:T", b"[a,b]"))  # the second batch was cut short
    puts, next_offset = complete_batches(log)
    assert puts == [(b"id:a", b"1"), (b"term:T", b"[a]")] and next_offset == 3


def test_a_cut_batch_replaced_by_its_replay_is_applied_with_it():
    log = records((b"id:b", b"2"), (BATCH_END, b"1"), (b"term:T", b"[b,c]"),  # cut short ...
                  (b"id:c", b"3"), (b"term:T", b"[b,c]"), (BATCH_END, b"1"))  # ... and processed again
    puts, next_offset = complete_batches(log)
    assert puts[-1] == (b"term:T", b"[b,c]") and next_offset == 6


def test_no_marker_nothing_to_apply():
    assert complete_batches(records((b"id:a", b"1"))) == ([], None)


class _Out:
    """The Emitter as the state sees it: records per topic partition, delivered at once."""

    def __init__(self):
        self.records = []

    def send(self, topic, key, value, partition=None):
        self.records.append((topic, partition, key, value))

    def send_all(self, topic, partition, records):
        for key, value in records:
            self.send(topic, key, value, partition)

    async def delivered(self):
        ends = {}
        for topic, partition, _, _ in self.records:
            ends[(topic, partition)] = ends.get((topic, partition), 0) + 1
        return ends


def test_a_batch_is_written_to_the_changelog_then_the_database_and_read_back(tmp_path):
    states = PartitionStates(tmp_path, "cl", new_consumer=None)
    db = states._dbs[0] = Rdict(str(tmp_path / "p0"), _options())
    states._views[0] = view = StagedView(db)
    db[b"term:T"] = orjson.dumps([["a", 1.5, False]])
    assert view.get("term:T") == [["a", 1.5, False]] and view.get("id:x") is None
    view.put("id:x", {"fp": "f", "c": "counted", "bad": False})
    view.stage({"term:T": [["a", 1.5, False], ["x", 2.0, True]]})
    out = _Out()
    ends = asyncio.run(states.deliver_changelog(out))
    assert [(k, v) for _, _, k, v in out.records] == [
        (b"id:x", b'{"fp":"f","c":"counted","bad":false}'), (b"term:T", b'[["a",1.5,false],["x",2.0,true]]'),
        (BATCH_END, b"1")]
    states.write_local(ends)
    assert view.staged == {} and db[b"id:x"] == out.records[0][3] and db[_NEXT_OFFSET] == b"3"
    fresh = StagedView(db)  # what a restarted worker reads
    for v in (view, fresh):
        assert v.get("term:T") == [["a", 1.5, False], ["x", 2.0, True]] and v.get("id:x")["c"] == "counted"
    db.close()


def test_a_view_keeps_only_the_remembered_keys_in_memory_and_reads_the_rest_back(tmp_path):
    db = Rdict(str(tmp_path / "p0"), _options())
    view = StagedView(db, remember=("term:",))
    view.stage({"id:a": {"fp": "f", "c": "counted", "bad": False}, "term:T": [["a", 1.5, False]]})
    view.put("case:C1", "a")
    # within the batch, staged values are read before the database has them
    assert view.get("id:a")["c"] == "counted" and view["case:C1"] == "a" and view.get("term:T") == [["a", 1.5, False]]
    states = PartitionStates(tmp_path, "cl", new_consumer=None, remember=("term:",))
    states._dbs[0], states._views[0] = db, view
    states.write_local(asyncio.run(states.deliver_changelog(_Out())))
    assert set(view._known) == {"term:T"}
    assert view.get("id:a")["c"] == "counted" and view.get("case:C1") == "a" and view.get("id:b") is None
    assert set(view._known) == {"term:T"}
    db.close()
