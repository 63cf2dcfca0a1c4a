"""The ticket events this worker's ticket hop delivered lately, kept per ticket, so the API can show
a ticket it holds (its state in the ticket table, its history here) without a ClickHouse read: the
store lags the log by a sink batch, and its one thread is busy with the writer's inserts.

Only a whole history counts: a ticket's events from version 1 on, each the one after the last. A
ticket whose history has a gap here (its partition was elsewhere for a while, or it was opened
before this process started) is forgotten, and its reads go to the store as before. Events are
added only once they are in the log, and a replay's copies (same id, same bytes) are ignored.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentEvents:
    def __init__(self, tickets: int = 10_000):
        self.tickets = tickets  # bound: the least recently changed ticket goes first
        self._by_ticket: OrderedDict[str, list[bytes]] = OrderedDict()

    def add(self, ticket_id: str, version: int, raw: bytes) -> None:
        """One delivered event: `raw` is its envelope's JSON as the log holds it."""
        held = self._by_ticket.get(ticket_id)
        if version == 1:
            if held:  # a replay of the opening: what is held already starts with it
                return
            held = self._by_ticket[ticket_id] = []
        elif held is None:
            return
        elif version <= len(held):
            return
        elif version != len(held) + 1:
            del self._by_ticket[ticket_id]
            return
        held.append(raw)
        self._by_ticket.move_to_end(ticket_id)
        while len(self._by_ticket) > self.tickets:
            self._by_ticket.popitem(last=False)

    def held(self, ticket_id: str) -> list[bytes]:
        """Every event of the ticket from version 1 on, as far as they are held here ([] if not)."""
        return list(self._by_ticket.get(ticket_id, ()))

    def history(self, ticket_id: str, version: int) -> list[bytes] | None:
        """Events 1..`version` of the ticket, None unless all are held here."""
        held = self._by_ticket.get(ticket_id)
        if held is None or len(held) < version:
            return None
        return held[:version]
