"""Read side of the API: the ticket queue and history from ClickHouse (behind a small port).

ClickHouse lags the log by about one sink batch (~1 s); the detail endpoint can read the worker's
own ticket table instead (`?fresh=true`).
"""

from __future__ import annotations

from typing import Protocol

from apps.api.reads import StoreReads
from sinks import tickets_read
from sinks.tickets_read import TicketFilter


class TicketReader(Protocol):
    async def list(self, f: TicketFilter) -> tuple[list[dict], int]: ...
    async def get(self, ticket_id: str) -> dict | None: ...
    async def events(self, ticket_id: str) -> list[dict]: ...
    async def counts(self, f: TicketFilter) -> dict[str, int]: ...


class ClickHouseTicketReader:
    """Calls go through StoreReads: on the store's one thread (the embedded engine wants one
    caller), a bounded number at a time."""

    def __init__(self, store, reads: StoreReads):
        self.store = store
        self.reads = reads

    async def _run(self, fn, *args):
        return await self.reads.run(fn, self.store, *args)

    async def list(self, f: TicketFilter) -> tuple[list[dict], int]:
        return await self._run(tickets_read.list_tickets, f)

    async def get(self, ticket_id: str) -> dict | None:
        return await self._run(tickets_read.get_ticket, ticket_id)

    async def events(self, ticket_id: str) -> list[dict]:
        return await self._run(tickets_read.ticket_events, ticket_id)

    async def counts(self, f: TicketFilter) -> dict[str, int]:
        return await self._run(tickets_read.count_by_status, f)
