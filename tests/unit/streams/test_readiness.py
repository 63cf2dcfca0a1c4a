"""What a starting worker says it waits for (streams/readiness.py): Kafka, the assignment, then the
records still to read into its ticket table; nothing once ready."""

from __future__ import annotations

from types import SimpleNamespace

from haocha.settings import Settings
from streams.readiness import waiting_for


def worker(*, started=True, assigned=True, restoring=False, records=None):
    """A worker's readiness inputs: its ticket hop (None before it started), whether it holds
    partitions, and its ticket table's restore ((read, to read), None before the end offsets)."""
    tickets = SimpleNamespace(assignment={("commands", 0)} if assigned else set()) if started else None
    table = SimpleNamespace(restoring_started=restoring, restoring=records)
    return SimpleNamespace(hops=SimpleNamespace(hops=SimpleNamespace(tickets=tickets)), tickets=table,
                           deps=SimpleNamespace(settings=Settings(worker_instance_id="w-1", app_id="haocha")))


def test_each_wait_is_named():
    assert waiting_for(worker(started=False)) == ["connecting to Kafka"]
    assert waiting_for(worker(assigned=False)) == [
        "waiting for partition assignment (consumer group haocha, static member w-1)"]
    assert waiting_for(worker(assigned=False, restoring=True, records=(1200, 5000))) == [
        "recovering table tickets: 1,200 of 5,000 changelog records"]
    assert waiting_for(worker(assigned=False, restoring=True)) == ["recovering tables: reading changelog end offsets"]
    assert waiting_for(worker()) == []


def test_dynamic_membership_when_asked():
    assert Settings(worker_instance_id="none").group_instance_id is None
    a, b = Settings(data_dir="/tmp/a").group_instance_id, Settings(data_dir="/tmp/b").group_instance_id
    assert a and b and a != b, "one id per worker: workers never share a data dir"
