"""`GET /api/v1/tickets/stream`: ticket events as Server-Sent Events, so a queue page shows a new
ticket without a reload.

One group-less consumer per worker reads the ticket-events topic from its end (it keeps no
position: a console that reconnects reloads its list, it does not need the gap replayed) and fans
each event out to the connected clients that may see its ticket. Each client has a bounded queue;
a client too slow to keep up is disconnected rather than allowed to hold memory, and its browser's
EventSource reconnects on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from aiokafka import TopicPartition

from apps.api.auth_gate import SESSION
from apps.api.http import AUTH, caller
from haocha.adapters import kafka
from haocha.settings import Settings
from schemas.tickets import Actor

log = logging.getLogger(__name__)

_CLOSE = object()


@dataclass(eq=False)
class Client:
    actor: Actor
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def may_see(self, department_id: str | None) -> bool:
        return self.actor.role != "officer" or (department_id is not None and department_id == self.actor.department_id)


class TicketHub:
    """`department_of(ticket_id)` finds the department of a ticket whose TicketOpened this hub did
    not see (it started later); `status_of` the ticket's status after the event, when known."""

    def __init__(self, settings: Settings, topic: str, department_of: Callable[[str], Awaitable[str | None]],
                 status_of: Callable[[str], str | None] = lambda tid: None):
        self.settings, self.topic = settings, topic
        self.department_of, self.status_of = department_of, status_of
        self.clients: set[Client] = set()
        self.queue_size = settings.stream_client_queue
        self._departments: OrderedDict[str, str] = OrderedDict()  # bounded: ticket id -> department
        self._reader = None
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        # Only one fetch is in flight; events of a partition just read wait for it to return, so
        # it must not idle long on the partitions that had nothing (aiokafka's default: 500 ms).
        self._reader = kafka.consumer(self.settings, fetch_max_wait_ms=10)
        await self._reader.start()
        tps = [TopicPartition(self.topic, p) for p in await kafka.partitions(self._reader, self.topic)]
        self._reader.assign(tps)
        await self._reader.seek_to_end(*tps)
        for tp in tps:  # resolve the end now, so nothing written after start() is skipped
            await self._reader.position(tp)
        self._task = asyncio.create_task(self._run(), name="ticket-event-stream")
        self.ready.set()

    async def stop(self) -> None:
        self.close_all()
        await kafka.stop_tail(self._task, self._reader)
        self._task = self._reader = None

    def close_all(self) -> None:
        for c in list(self.clients):
            self._drop(c)

    def connect(self, actor: Actor) -> Client:
        c = Client(actor, asyncio.Queue(self.queue_size + 1))  # +1: room for the closing marker
        self.clients.add(c)
        return c

    def disconnect(self, c: Client) -> None:
        self.clients.discard(c)

    async def _run(self) -> None:
        while True:
            batch = await self._reader.getmany(timeout_ms=1000, max_records=1000)
            for messages in batch.values():
                for m in messages:
                    await self.publish(orjson.loads(m.value))

    async def publish(self, env: dict) -> None:
        tid = env["ticket_id"]
        event = env.get("event", {})
        department = event.get("department_id") if env.get("type") == "TicketOpened" else None
        if department:
            self._remember(tid, department)
        else:
            department = self._departments.get(tid) or await self.department_of(tid)
            if department:
                self._remember(tid, department)
        item = {"ticket_id": tid, "version": env.get("version"), "type": env.get("type"),
                "status": self.status_of(tid), "department_id": department}
        for c in list(self.clients):
            if not c.may_see(department):
                continue
            if c.queue.qsize() >= self.queue_size:
                log.info("ticket stream: %s is %d events behind; disconnected", c.actor.id, self.queue_size)
                self._drop(c)
            else:
                c.queue.put_nowait(item)

    def _drop(self, c: Client) -> None:
        self.clients.discard(c)
        with contextlib.suppress(asyncio.QueueFull):
            c.queue.put_nowait(_CLOSE)

    def _remember(self, tid: str, department: str) -> None:
        self._departments[tid] = department
        self._departments.move_to_end(tid)
        while len(self._departments) > 100_000:
            self._departments.popitem(last=False)


HUB = web.AppKey("ticket_hub", TicketHub)


async def stream(request: web.Request) -> web.StreamResponse:
    actor = caller(request)
    hub = request.app[HUB]
    await hub.ready.wait()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    client = hub.connect(actor)
    session = request.get(SESSION)  # by cookie: the stream ends with the session
    ping = hub.settings.stream_ping_seconds
    try:
        await resp.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), timeout=ping)
            except asyncio.TimeoutError:
                if session is not None and not request.app[AUTH].sessions.alive(session[0]):
                    await resp.write(b"event: session_expired\ndata: {}\n\n")
                    break
                await resp.write(b": ping\n\n")
                continue
            if item is _CLOSE:
                break
            await resp.write(b"event: ticket\ndata: " + orjson.dumps(item) + b"\n\n")
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        hub.disconnect(client)
    return resp


def add_routes(app: web.Application, hub: TicketHub) -> None:
    app[HUB] = hub

    async def start(app: web.Application) -> None:
        await hub.start()

    async def end_streams(app: web.Application) -> None:
        hub.close_all()  # before the server waits for its handlers: open streams must end

    async def stop(app: web.Application) -> None:
        await hub.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(stop)
    app.router.add_get("/api/v1/tickets/stream", stream)
