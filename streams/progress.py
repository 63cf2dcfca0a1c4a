"""A progress line in the worker's log every `progress_seconds` (0: none), so an operator reading
the log sees that reviews flow, how many became tickets and whether the worker keeps up:

    progress: 1,204 reviews in (+310), 1,198 classified, 97 bad reviews counted -> tickets (+21), 2 dead letters, lag 0

Counts are this process's review hop's since it started (its partitions); the lag is what the hop
has not processed yet of the partitions assigned to it (the broker's high-water mark minus the
offset after its last batch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from streams.app import StreamApp

log = logging.getLogger("haocha.progress")


@dataclass
class Counts:
    reviews_in: int = 0
    classified: int = 0
    tickets: int = 0
    dead_letters: int = 0
    lag: int | None = None

    def line(self, before: "Counts") -> str:
        lag = "unknown" if self.lag is None else f"{self.lag:,}"
        return (f"progress: {self.reviews_in:,} reviews in (+{self.reviews_in - before.reviews_in:,}), "
                f"{self.classified:,} classified, {self.tickets:,} bad reviews counted -> tickets "
                f"(+{self.tickets - before.tickets:,}), {self.dead_letters:,} dead letters, lag {lag}")


def register(sa: StreamApp) -> None:
    interval = sa.deps.settings.progress_seconds
    if not interval:
        return
    last = Counts()

    @sa.app.timer(interval, name="progress")
    async def progress() -> None:
        nonlocal last
        now = sa.hops.progress()  # the review hop's counts (streams/review_hop.py)
        log.info(now.line(last))
        last = now
