"""The ticket events this worker's ticket hop delivered lately, kept per ticket, so the API can show
a ticket it holds (its state in the ticket table, its history here) without a ClickHouse read: the
store lags the log by a sink batch, and its one thread is busy with the writer's inserts.

Only a whole history counts: a ticket's events from version 1 on, each the one after the last. A
ticket whose history has a gap here (its partition was elsewhere for a while, or it was opened
before this process started) is forgotten, and its reads go to the store as before; so are the
tickets of a partition that moves to another worker. Events are added only once they are in the
log, and a replay's copies (same id, same bytes) are ignored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

# One event a ticket hop delivered: (ticket id, version, envelope JSON as the log holds it, partition).
Delivered = tuple[str, int, bytes, int]
DeliveredListener = Callable[[list[Delivered]], None]  # told of each batch's events once in the log


class RecentEvents:
    def __init__(self, tickets: int = 10_000):
        self.tickets = tickets  # bound: the least recently changed ticket goes first
        self._by_ticket: OrderedDict[str, list[bytes]] = OrderedDict()
        self._partition: dict[str, int] = {}

    def add(self, ticket_id: str, version: int, raw: bytes, partition: int = -1) -> None:
        """One delivered event: `raw` is its envelope's JSON as the log holds it."""
        held = self._by_ticket.get(ticket_id)
        if version == 1:
            if held:  # a replay of the opening: what is held already starts with it
                return
            held = self._by_ticket[ticket_id] = []
            self._partition[ticket_id] = partition
        elif held is None:
            return
        elif version <= len(held):
            return
        elif version != len(held) + 1:
            self._forget(ticket_id)
            return
        held.append(raw)
        self._by_ticket.move_to_end(ticket_id)
        while len(self._by_ticket) > self.tickets:
            self._forget(next(iter(self._by_ticket)))

    def forget_partitions(self, partitions: set[int]) -> None:
        """The partitions moved to another worker: its events for their tickets are not seen here,
        so what is held of them would go stale."""
        for tid in [t for t, p in self._partition.items() if p in partitions]:
            self._forget(tid)

    def _forget(self, ticket_id: str) -> None:
        self._by_ticket.pop(ticket_id, None)
        self._partition.pop(ticket_id, None)

    def held(self, ticket_id: str) -> list[bytes]:
        """Every event of the ticket from version 1 on, as far as they are held here ([] if not)."""
        return list(self._by_ticket.get(ticket_id, ()))

    def history(self, ticket_id: str, version: int) -> list[bytes] | None:
        """Events 1..`version` of the ticket, None unless all are held here."""
        held = self._by_ticket.get(ticket_id)
        if held is None or len(held) < version:
            return None
        return held[:version]
