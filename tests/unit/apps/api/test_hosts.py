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


# -- a ticket's state: the table, or the events delivered ahead of it ----------------------------

def _table(snapshot, events):
    from streams.recent_events import RecentEvents

    recent = RecentEvents()
    for env in events:
        recent.add(env.ticket_id, env.version, env.model_dump_json().encode(), 0)
    return SimpleNamespace(get=lambda tid: snapshot if tid == "TK-R1" else None, recent=recent)


def _host(snapshot, events) -> WorkerHost:
    sa = worker(assigned=True, restoring=False)
    sa.tickets = _table(snapshot, events)
    return WorkerHost(sa)


def test_the_state_is_folded_from_delivered_events_the_table_has_not_caught_up_with():
    from tests.unit.domain.test_tickets_domain import ASSIGN, Ticket

    tk = Ticket()
    opened_state = tk.state.model_dump(mode="json")
    tk.ok(ASSIGN)
    # The hop delivered both events; its table still holds version 1 (written after the snapshots).
    got = _host(opened_state, tk.events).local_state("TK-R1")
    assert got == tk.state and got.version == 2 and got.officer_id == "o-li"
    # Not in the table at all yet: the opening alone is enough.
    got = _host(None, tk.events[:1]).local_state("TK-R1")
    assert got is not None and got.version == 1 and got.officer_id is None


def test_the_table_answers_when_it_is_as_new_as_the_events():
    from tests.unit.domain.test_tickets_domain import ASSIGN, Ticket

    tk = Ticket()
    tk.ok(ASSIGN)
    marked = tk.state.model_dump(mode="json") | {"contact_attempts": 7}  # tells which one answered
    got = _host(marked, tk.events).local_state("TK-R1")
    assert got.version == 2 and got.contact_attempts == 7  # the table's, not a fold of the events
    assert _host(None, []).local_state("TK-R1") is None
    assert _host(None, tk.events).local_state("TK-OTHER") is None
