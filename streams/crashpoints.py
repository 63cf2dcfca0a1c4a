"""Named crash points: where a test may kill the worker on purpose, to prove that every read model
converges after a crash at *any* await point of a batch, not only at random times.

Agents call `reached("ticket.after_events")` between the steps of a batch (events delivered,
table written, changelog delivered, snapshot delivered, offsets committed). Unless the process was
started with `HAOCHA_CRASH_AT=<point>[:<n>]`, this is one dict lookup and nothing happens. With it,
the n-th time (default 1st) the point is reached the process SIGKILLs itself: no `finally`, no
flush, no commit, exactly like `kill -9` from outside.

`HAOCHA_CRASH_AT_FILE=<path>` instead arms points while the worker runs: the file holds
`<point>[:<n>]`, or nothing (disarmed), and is read again whenever it changes. A test arms a point,
sends input, waits for the kill, empties the file and restarts: one worker start per point, and the
restart recovers unarmed.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)


def _parse(spec: str) -> tuple[str, int] | None:
    if not spec:
        return None
    name, _, n = spec.partition(":")
    return name.strip(), int(n) if n.strip() else 1


_TARGET = _parse(os.environ.get("HAOCHA_CRASH_AT", ""))
_FILE = os.environ.get("HAOCHA_CRASH_AT_FILE", "")
_file_seen: tuple[int, int] | None = None  # (mtime, size) of the spec last read
_seen: dict[str, int] = {}

# Every point an agent declares, so a test can iterate over all of them (and fail if one is renamed).
KNOWN: set[str] = set()


def declare(*points: str) -> None:
    KNOWN.update(points)


def _rearm() -> None:
    """The file's spec, when it changed since last read (a test arms points from outside)."""
    global _TARGET, _file_seen
    try:
        st = os.stat(_FILE)
        seen = (st.st_mtime_ns, st.st_size)
    except OSError:
        seen = None
    if seen != _file_seen:
        _file_seen = seen
        try:
            with open(_FILE, encoding="utf-8") as f:
                _TARGET = _parse(f.read().strip())
        except OSError:
            _TARGET = None
        _seen.clear()


def reached(point: str) -> None:
    if _FILE:
        _rearm()
    if _TARGET is None or point != _TARGET[0]:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] >= _TARGET[1]:
        log.critical("crash point %s reached (%d): killing the worker as a test asked", point, _seen[point])
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
