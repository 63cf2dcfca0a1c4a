"""What a starting worker says it waits for (streams/readiness.py): Kafka, the assignment, then the
changelog records still to read per table; nothing once ready."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from faust.types import TP

from haocha.settings import Settings
from streams.readiness import waiting_for


class _Event:
    def __init__(self, done: bool):
        self.done = done

    def is_set(self) -> bool:
        return self.done


def worker(*, started=True, assigned=True, rebalancing=False, in_recovery=False, offsets=None, highs=None,
           done=True):
    def assignment():
        if not started:
            raise RuntimeError("Consumer thread not yet started")
        return {TP("t", 0)} if assigned else set()

    table = SimpleNamespace(changelog_topic=SimpleNamespace(get_topic_name=lambda: "app-tickets-changelog"))
    recovery = SimpleNamespace(active_highwaters=Counter(highs or {}), active_offsets=Counter(offsets or {}),
                               completed=_Event(done))
    tables = SimpleNamespace(recovery=recovery, items=lambda: [("tickets", table)])
    app = SimpleNamespace(consumer=SimpleNamespace(assignment=assignment), rebalancing=rebalancing,
                          in_recovery=in_recovery, tables=tables, conf=SimpleNamespace(id="haocha"))
    return SimpleNamespace(app=app, deps=SimpleNamespace(settings=Settings(worker_instance_id="w-1")))


def test_each_wait_is_named():
    assert waiting_for(worker(started=False)) == ["connecting to Kafka"]
    assert waiting_for(worker(assigned=False)) == [
        "waiting for partition assignment (consumer group haocha, static member w-1)"]
    tp = TP("app-tickets-changelog", 0)
    assert waiting_for(worker(in_recovery=True, offsets={tp: 1199}, highs={tp: 4999})) == [
        "recovering table tickets: 1,200 of 5,000 changelog records"]
    assert waiting_for(worker(done=False)) == ["recovering tables: reading changelog end offsets"]
    assert waiting_for(worker()) == []


def test_dynamic_membership_when_asked():
    assert Settings(worker_instance_id="none").group_instance_id is None
    a, b = Settings(data_dir="/tmp/a").group_instance_id, Settings(data_dir="/tmp/b").group_instance_id
    assert a and b and a != b, "one id per worker: workers never share a data dir"
