"""`haocha check`'s comparison (sinks/check.py): every kind of difference between a read model and
the fold of the log is found and said; equal models say nothing."""

from __future__ import annotations

from sinks.check import compare, report_lines

LOG = {
    "tickets": {"TK-1": (3, "assigned"), "TK-2": (1, "opened")},
    "ticket_events": {"TK-1:1", "TK-1:2", "TK-1:3", "TK-2:1"},
    "reviews": {"R1": True, "R2": False},
    "dead_letters": {"p.reviews.submitted@0:7"},
    "alerts": {"W1@2021-05-06T02:00:00+00:00"},
}
STORED = {
    "tickets": [("TK-1", 3, "assigned"), ("TK-2", 1, "opened")],
    "ticket_events": [("TK-1:1", 1), ("TK-1:2", 1), ("TK-1:3", 1), ("TK-2:1", 1)],
    "reviews": [("R1", 1, True), ("R2", 1, False)],
    "dead_letters": [("p.reviews.submitted@0:7", 1)],
    "alerts": [("W1@2021-05-06T02:00:00+00:00", 1)],
}


def test_equal_models_have_no_differences():
    got = compare(LOG, STORED)
    assert not any(c.differences for c in got.values())
    assert got["tickets"].store == 2 and got["ticket_events"].store == 4


def test_every_kind_of_difference_is_found():
    stored = {
        **STORED,
        "tickets": [("TK-1", 2, "opened")],  # stale, and TK-2 missing (the vanished ticket)
        "reviews": [("R1", 2, True), ("R2", 1, True), ("R9", 1, True)],  # twice, miscounted, unknown
        "dead_letters": [("p.reviews.submitted@0:7", 2)],  # a replay counted twice
    }
    got = compare(LOG, stored)
    assert got["tickets"].shown == ["TK-2: in the log, not in the store",
                                    "TK-1: the log folds to version 3 (assigned), the store has version 2 (opened)"]
    assert got["reviews"].shown == ["R9: in the store, not in the log", "R1: stored 2 times",
                                    "R2: counted False in the log, True in the store"]
    assert got["dead_letters"].shown == ["p.reviews.submitted@0:7: stored 2 times"]
    lines = report_lines({"ok": False, "lag": 5, "models": {k: vars(c) for k, c in got.items()}})
    assert any("2 DIFFERENT" in ln for ln in lines) and "5 messages behind" in lines[-1]
