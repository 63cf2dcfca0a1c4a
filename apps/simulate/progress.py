"""Progress lines for long work: a percentage, a rate and an estimate, on one updating line."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int | None = None, stream=sys.stderr):
        self.label, self.total, self.stream = label, total, stream
        self.start = time.monotonic()
        self._last = 0.0
        self._tty = stream.isatty()

    def update(self, done: int, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self._tty else 2.0):
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        if self.total:
            pct = 100.0 * done / self.total
            eta = (self.total - done) / rate if rate > 0 else float("inf")
            line = f"{self.label}: {done:,}/{self.total:,} ({pct:5.1f}%) {rate:,.0f}/s eta {eta:,.0f}s {extra}"
        else:
            line = f"{self.label}: {done:,} {rate:,.0f}/s {extra}"
        self.stream.write(("\r" + line.ljust(100)) if self._tty else line + "\n")
        self.stream.flush()

    def done(self, done: int, extra: str = "") -> float:
        self.update(done, extra, force=True)
        if self._tty:
            self.stream.write("\n")
        return time.monotonic() - self.start
