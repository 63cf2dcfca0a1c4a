"""Read side of the API: the ticket queue and history from ClickHouse (behind a small port).

ClickHouse lags the log by about one sink batch (~1 s); the detail endpoint can read the worker's
own ticket table instead (`?fresh=true`).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sinks import tickets_read
from sinks.tickets_read import TicketFilter


class TicketReader(Protocol):
    async def list(self, f: TicketFilter) -> tuple[list[dict], int]: ...
    async def get(self, ticket_id: str) -> dict | None: ...
    async def events(self, ticket_id: str) -> list[dict]: ...
    async def counts(self, f: TicketFilter) -> dict[str, int]: ...


class ClickHouseTicketReader:
    """Calls go through the store's single-thread executor: the embedded engine wants one caller."""

    def __init__(self, store, executor):
        self.store = store
        self.executor = executor

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, self.store, *args)

    async def list(self, f: TicketFilter) -> tuple[list[dict], int]:
        return await self._run(tickets_read.list_tickets, f)

    async def get(self, ticket_id: str) -> dict | None:
        return await self._run(tickets_read.get_ticket, ticket_id)

    async def events(self, ticket_id: str) -> list[dict]:
        return await self._run(tickets_read.ticket_events, ticket_id)

    async def counts(self, f: TicketFilter) -> dict[str, int]:
        return await self._run(tickets_read.count_by_status, f)
