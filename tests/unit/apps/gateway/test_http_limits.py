"""The throttled log line of apps/http_limits.py (the sockets are in tests/integration/test_hostile_input.py)."""

import logging

from apps.http_limits import ThrottledLog


def test_at_most_one_line_a_second_and_the_next_one_counts_the_dropped(caplog):
    now = [100.0]
    log = ThrottledLog(logging.getLogger("apps.http.test"), every=1.0, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="apps.http.test"):
        for i in range(100):  # a flood within one second: one line
            log.warning("malformed request %d", i)
            now[0] += 0.005
        now[0] += 1.0
        log.warning("malformed request %d", 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["malformed request 0", "malformed request 100 (99 similar lines suppressed)"]
    assert log.suppressed == 0
