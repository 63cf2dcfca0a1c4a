"""A progress line in the worker's log every `progress_seconds` (0: none), so an operator reading
the log sees that reviews flow, how many became tickets and whether the worker keeps up:

    progress: 1,204 reviews in (+310), 1,198 classified, 97 bad reviews counted -> tickets (+21), 2 dead letters, lag 0

Counts are this process's since it started (its partitions); the lag is what its consumer has not
read yet of the partitions assigned to it (the broker's high-water mark minus the read offset).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from schemas.review import BAD_RATINGS
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
    seen = Counts()
    last = Counts()
    own = sa.deps.settings.topic_prefix + "."
    submitted, dead = sa.submitted.get_topic_name(), sa.dead_letters.get_topic_name()

    async def count(events: list, docs: list[dict]) -> None:
        seen.classified += len(docs)
        seen.tickets += sum(1 for c in docs if c["counted"] and c["review"]["rating"] in BAD_RATINGS)

    sa.on_classified.append(count)

    def lag() -> int | None:
        consumer, monitor = sa.app.consumer, sa.app.monitor
        try:
            tps = [tp for tp in consumer.assignment() if tp.topic.startswith(own)]
            return sum(max(0, consumer.highwater(tp) - (monitor.tp_read_offsets.get(tp, -1) + 1)) for tp in tps)
        except Exception:  # not assigned yet, or rebalancing: say "unknown", never fail the timer
            return None

    @sa.app.timer(interval, name="progress")
    async def progress() -> None:
        nonlocal last
        received = sa.app.monitor.messages_received_by_topic
        now = Counts(reviews_in=received[submitted], classified=seen.classified, tickets=seen.tickets,
                     dead_letters=received[dead], lag=lag())
        log.info(now.line(last))
        last = now
