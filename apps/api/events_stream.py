"""`GET /api/v1/tickets/stream`: ticket events as Server-Sent Events, so a queue page shows a new
ticket without a reload.

One group-less consumer per worker reads the ticket-events topic from its end (it keeps no
position: a console that reconnects reloads its list, it does not need the gap replayed) and fans
each event out to the connected clients that may see its ticket. The events this worker's own
ticket hop delivers come straight from it as well (`local_events`), a fetch round trip sooner;
whichever copy of an event comes first is sent, the other dropped by (ticket, version). While
nobody is connected the consumer is paused: it fetches nothing (a 10 ms fetch loop and the decoding
of every ticket event, for no one, cost the worker and the broker ~4 % of a core each at idle), and
the first client to connect has it moved to the topic's end before the stream says `connected`.
Each client has a bounded queue; a client too slow to keep up is disconnected rather than allowed to
hold memory, and its browser's EventSource reconnects on its own.
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
from streams.recent_events import Delivered

log = logging.getLogger(__name__)

_CLOSE = object()
LOCAL_BATCHES = 1_000  # batches of local events waiting for the fan-out; more come by Kafka
POSITION_WAIT = 10.0  # seconds a new stream waits for the paused reader to reach the end
SENT_REMEMBERED = 100_000  # events whose second copy is recognised


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
        self._local: asyncio.Queue = asyncio.Queue(LOCAL_BATCHES)  # batches of this worker's events
        self._local_task: asyncio.Task | None = None
        self._sent: OrderedDict[tuple[str, int], None] = OrderedDict()  # bounded: events already fanned out
        self._tps: list[TopicPartition] = []
        self._watched = asyncio.Event()  # someone is connected
        self._positioned = asyncio.Event()  # the reader reads from where the connected clients came in
        self.ready = asyncio.Event()

    async def start(self) -> None:
        # Only one fetch is in flight; events of a partition just read wait for it to return, so
        # it must not idle long on the partitions that had nothing (aiokafka's default: 500 ms).
        self._reader = kafka.consumer(self.settings, fetch_max_wait_ms=10)
        await self._reader.start()
        self._tps = [TopicPartition(self.topic, p) for p in await kafka.partitions(self._reader, self.topic)]
        self._reader.assign(self._tps)
        await self._to_the_end()
        self._task = asyncio.create_task(self._run(), name="ticket-event-stream")
        self._local_task = asyncio.create_task(self._run_local(), name="ticket-event-stream-local")
        self.ready.set()

    async def stop(self) -> None:
        self.close_all()
        if self._local_task is not None:
            self._local_task.cancel()
            await asyncio.gather(self._local_task, return_exceptions=True)
            self._local_task = None
        await kafka.stop_tail(self._task, self._reader)
        self._task = self._reader = None

    def local_events(self, events: list[Delivered]) -> None:
        """This worker's ticket hop delivered these (ticket id, version, envelope JSON, partition). Called on
        the loop by the hop; the fan-out runs on the hub's own task, so the hop does not wait."""
        if not self.clients or not events:
            return  # nobody watching: the Kafka copy is there for whoever connects
        try:
            self._local.put_nowait(events)
        except asyncio.QueueFull:  # the hub is behind: these come by Kafka instead
            pass

    def close_all(self) -> None:
        for c in list(self.clients):
            self._drop(c)

    def connect(self, actor: Actor) -> Client:
        c = Client(actor, asyncio.Queue(self.queue_size + 1))  # +1: room for the closing marker
        self.clients.add(c)
        self._watched.set()
        return c

    async def positioned(self) -> bool:
        """Wait (bounded) until the reader reads from after the clients connected so far came in;
        False if it did not get there in time (the broker is away): the stream starts anyway, and
        the events come once the reader is back."""
        try:
            await asyncio.wait_for(self._positioned.wait(), POSITION_WAIT)
            return True
        except asyncio.TimeoutError:
            log.warning("ticket stream: the reader did not reach the topic's end within %.0f s", POSITION_WAIT)
            return False

    def disconnect(self, c: Client) -> None:
        self.clients.discard(c)
        if not self.clients:
            self._watched.clear()

    async def _to_the_end(self) -> None:
        """Move the reader to the topic's end and resolve it now, so nothing written after this
        is skipped."""
        await self._reader.seek_to_end(*self._tps)
        for tp in self._tps:
            await self._reader.position(tp)
        self._positioned.set()

    async def _reach_the_end(self) -> bool:
        """`_to_the_end`, tried once a second while someone is connected (the broker may be away:
        new streams wait, bounded, meanwhile). False if everyone left first."""
        while self.clients:
            try:
                await self._to_the_end()
                return True
            except Exception as exc:
                log.warning("ticket stream: could not move the reader to the topic's end (%r); retrying in 1 s", exc)
                await asyncio.sleep(1.0)
        return False

    async def _run(self) -> None:
        while True:
            if not self.clients:
                # Nobody watching: nothing to send, and what publish() remembers is a cache (a
                # ticket's department is looked up when unknown), so fetch nothing until someone
                # connects, then go on from the end.
                self._positioned.clear()
                self._reader.pause(*self._tps)
                await self._watched.wait()
                if not await self._reach_the_end():
                    continue  # everyone left before it got there
                self._reader.resume(*self._tps)
            batch = await self._reader.getmany(timeout_ms=1000, max_records=1000)
            if not self.clients:
                continue
            for messages in batch.values():
                for m in messages:
                    await self._publish_once(orjson.loads(m.value))

    async def _run_local(self) -> None:
        while True:
            for _tid, _version, raw, _partition in await self._local.get():
                await self._publish_once(orjson.loads(raw))

    async def _publish_once(self, env: dict) -> None:
        key = (env.get("ticket_id"), env.get("version"))
        if key in self._sent:
            return
        self._sent[key] = None
        while len(self._sent) > SENT_REMEMBERED:
            self._sent.popitem(last=False)
        try:
            await self.publish(env)
        except Exception:  # one event's lookup failing must not end every client's stream
            log.exception("ticket stream: event %s of %s not sent", key[1], key[0])

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
        self.disconnect(c)
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
        await hub.positioned()
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
