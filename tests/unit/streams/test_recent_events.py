"""The events behind the ticket table's states (streams/recent_events.py): a ticket's history is
answered only when all of it is held, so the API never shows part of one."""

from streams.recent_events import RecentEvents


def test_a_whole_history_is_answered_up_to_the_version_asked():
    r = RecentEvents()
    for v in (1, 2, 3):
        r.add("TK-1", v, b"e%d" % v)
    assert r.history("TK-1", 3) == [b"e1", b"e2", b"e3"]
    assert r.history("TK-1", 2) == [b"e1", b"e2"]  # the table not moved yet: its version's prefix
    assert r.history("TK-1", 4) is None  # a later event not delivered here
    assert r.history("TK-2", 1) is None


def test_a_replay_changes_nothing_and_a_gap_forgets_the_ticket():
    r = RecentEvents()
    r.add("TK-1", 1, b"e1")
    r.add("TK-1", 2, b"e2")
    r.add("TK-1", 1, b"e1")  # a batch processed again: the same events
    r.add("TK-1", 2, b"e2")
    assert r.history("TK-1", 2) == [b"e1", b"e2"]
    r.add("TK-1", 4, b"e4")  # version 3 was decided elsewhere (the partition was away)
    assert r.history("TK-1", 2) is None
    r.add("TK-1", 5, b"e5")
    assert r.history("TK-1", 5) is None
    r.add("TK-9", 3, b"x")  # opened before this process started
    assert r.history("TK-9", 3) is None


def test_the_least_recently_changed_ticket_goes_first():
    r = RecentEvents(tickets=2)
    r.add("TK-1", 1, b"a")
    r.add("TK-2", 1, b"b")
    r.add("TK-1", 2, b"a2")
    r.add("TK-3", 1, b"c")
    assert r.history("TK-2", 1) is None
    assert r.history("TK-1", 2) == [b"a", b"a2"] and r.history("TK-3", 1) == [b"c"]


def test_the_tickets_of_a_partition_that_moved_away_are_forgotten():
    r = RecentEvents()
    r.add("TK-1", 1, b"a1", partition=3)
    r.add("TK-2", 1, b"b1", partition=5)
    r.add("TK-2", 2, b"b2", partition=5)
    r.forget_partitions({5})  # its new owner decides TK-2 from now on: what is held here goes stale
    assert r.held("TK-2") == [] and r.history("TK-2", 1) is None
    assert r.history("TK-1", 1) == [b"a1"]
    r.add("TK-2", 3, b"b3", partition=5)  # not picked up again mid-history
    assert r.held("TK-2") == []


def test_the_ticket_table_forgets_them_when_it_closes_the_partition(tmp_path):
    from streams.ticket_table import TicketTable

    table = TicketTable(tmp_path, "t.tickets.state", lambda: None)
    table.delivered([("TK-1", 1, b"a1", 3), ("TK-2", 1, b"b1", 5)])
    table.close({5})
    assert table.recent.held("TK-1") == [b"a1"] and table.recent.held("TK-2") == []
