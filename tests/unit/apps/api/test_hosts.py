"""The worker's API says it is starting while its ticket hop still waits (assignment, table
restore), whatever Faust's app says: its consumer is off, so it never rebalances."""

from __future__ import annotations

from types import SimpleNamespace

from apps.api.hosts import StoreHost, WorkerHost
from haocha.settings import Settings


def worker(*, assigned: bool, restoring: bool):
    tickets = SimpleNamespace(assignment={("commands", 0)} if assigned else set())
    return SimpleNamespace(app=SimpleNamespace(rebalancing=False),
                           hops=SimpleNamespace(hops=SimpleNamespace(tickets=tickets)),
                           tickets=SimpleNamespace(restoring_started=restoring, restoring=(10, 50)),
                           deps=SimpleNamespace(settings=Settings(worker_instance_id="w-1")))


def test_a_worker_is_not_ready_while_its_ticket_table_restores():
    assert WorkerHost(worker(assigned=True, restoring=True)).rebalancing()
    assert WorkerHost(worker(assigned=False, restoring=False)).rebalancing()
    assert not WorkerHost(worker(assigned=True, restoring=False)).rebalancing()


def test_a_worker_before_its_hops_started_is_not_ready():
    sa = worker(assigned=True, restoring=False)
    sa.hops = None
    assert WorkerHost(sa).rebalancing()


def test_the_writer_holds_no_table_to_wait_for():
    assert not StoreHost(Settings()).rebalancing()
