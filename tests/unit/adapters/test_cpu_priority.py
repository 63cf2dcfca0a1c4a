"""Bulk threads below the event loop: real threads of this process, their nice values read back
from the kernel."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from haocha.adapters import cpu_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


class _Parked:
    """A thread that waits until released, so its nice value can be read while it lives."""

    def __init__(self):
        self.release, self.started = threading.Event(), threading.Event()
        self.tid = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait(5)

    def _run(self):
        self.tid = threading.get_native_id()
        self.started.set()
        self.release.wait(30)

    def stop(self):
        self.release.set()
        self.thread.join(5)


def _in_fresh_thread(fn):
    """Run `fn` in a new thread (whose nice value starts as the process's) and return its result,
    so the test runner's own threads keep their priority."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", fn()))
    t.start()
    t.join(30)
    return out.get("r")


def test_every_other_thread_is_lowered_and_the_kept_one_is_not():
    def scenario():
        me = threading.get_native_id()
        base = _nice(me)
        others = [_Parked(), _Parked()]
        try:
            lowered = cpu_priority.lower_other_threads(7, keep=me)
            assert _nice(me) == base
            assert [_nice(p.tid) for p in others] == [min(19, base + 7)] * 2
            assert lowered >= 2
            assert cpu_priority.lower_other_threads(7, keep=me) == 0  # already there: nothing to do
            return True
        finally:
            for p in others:
                p.stop()

    assert _in_fresh_thread(scenario)


def test_zero_changes_nothing():
    def scenario():
        me = threading.get_native_id()
        other = _Parked()
        try:
            before = _nice(other.tid)
            assert cpu_priority.lower_other_threads(0, keep=me) == 0
            assert _nice(other.tid) == before
            return True
        finally:
            other.stop()

    assert _in_fresh_thread(scenario)


def test_the_sweep_keeps_the_loop_thread_and_lowers_threads_made_later():
    def scenario():
        async def main():
            loop_tid = threading.get_native_id()
            base = _nice(loop_tid)
            sweep = asyncio.ensure_future(cpu_priority.keep_bulk_threads_below_loop(5, every=0.05))
            try:
                await asyncio.sleep(0.01)
                late = _Parked()  # made by the loop thread after the first sweep: at the loop's value
                try:
                    assert _nice(late.tid) == base
                    for _ in range(100):
                        if _nice(late.tid) != base:
                            break
                        await asyncio.sleep(0.02)
                    assert _nice(late.tid) == min(19, base + 5)
                    assert _nice(loop_tid) == base
                finally:
                    late.stop()
            finally:
                sweep.cancel()
            return True

        return asyncio.run(main())

    assert _in_fresh_thread(scenario)
