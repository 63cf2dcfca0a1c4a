"""The ticket event stream's fan-out without Kafka: each client gets the events of the tickets it
may see (an officer: the own department; others: all), a ticket's department is learnt from its
TicketOpened or looked up once, and a client that falls behind its bounded queue is dropped."""

from __future__ import annotations

import asyncio

import orjson

from apps.api.events_stream import _CLOSE, TicketHub
from haocha.settings import Settings
from schemas.tickets import Actor

LI = Actor(id="o-li", role="officer", department_id="D-ZSJ")
ZHAO = Actor(id="o-zhao", role="officer", department_id="D-CZJ")
CHEN = Actor(id="s-chen", role="supervisor")


def env(tid: str, version: int, type_: str = "TicketAssigned", department: str | None = None) -> dict:
    event = {"type": type_, **({"department_id": department} if department else {})}
    return {"ticket_id": tid, "version": version, "type": type_, "event": event}


def drain(client) -> list:
    out = []
    while not client.queue.empty():
        out.append(client.queue.get_nowait())
    return out


async def test_events_go_to_those_who_may_see_them():
    looked_up = []

    async def department_of(tid):
        looked_up.append(tid)
        return {"TK-OLD": "D-CZJ"}.get(tid)

    hub = TicketHub(Settings(stream_client_queue=10), "t.tickets.events", department_of, lambda tid: "assigned")
    li, zhao, chen = hub.connect(LI), hub.connect(ZHAO), hub.connect(CHEN)
    await hub.publish(env("TK-1", 1, "TicketOpened", "D-ZSJ"))
    await hub.publish(env("TK-1", 2))  # department remembered from its TicketOpened
    await hub.publish(env("TK-OLD", 5))  # opened before the hub started: looked up once
    await hub.publish(env("TK-OLD", 6))
    assert looked_up == ["TK-OLD"]
    assert [(e["ticket_id"], e["version"]) for e in drain(li)] == [("TK-1", 1), ("TK-1", 2)]
    assert [(e["ticket_id"], e["version"]) for e in drain(zhao)] == [("TK-OLD", 5), ("TK-OLD", 6)]
    got = drain(chen)
    assert len(got) == 4 and got[0] == {"ticket_id": "TK-1", "version": 1, "type": "TicketOpened",
                                        "status": "assigned", "department_id": "D-ZSJ"}


async def test_a_client_that_falls_behind_is_dropped_and_told_to_close():
    async def nowhere(tid):
        return None

    hub = TicketHub(Settings(stream_client_queue=3), "t", nowhere)
    slow, fast = hub.connect(CHEN), hub.connect(CHEN)
    for v in range(1, 4):
        await hub.publish(env("TK-1", v, "TicketOpened", "D-ZSJ"))
    drain(fast)
    await hub.publish(env("TK-1", 4, "TicketOpened", "D-ZSJ"))
    assert slow not in hub.clients and fast in hub.clients
    assert drain(slow)[-1] is _CLOSE and [e["version"] for e in drain(fast)] == [4]
    hub.close_all()
    assert drain(fast) == [_CLOSE] and not hub.clients


async def test_this_workers_events_are_sent_once_whichever_copy_comes_first():
    import asyncio

    import orjson

    async def nowhere(tid):
        return None

    hub = TicketHub(Settings(stream_client_queue=10), "t", nowhere)
    hub._local_task = asyncio.create_task(hub._run_local())  # the local half of start(), without Kafka
    try:
        chen = hub.connect(CHEN)
        raw = [(e["ticket_id"], e["version"], orjson.dumps(e), 0)
               for e in (env("TK-1", 1, "TicketOpened", "D-ZSJ"), env("TK-1", 2))]
        hub.local_events(raw)  # as the ticket hop hands its batch over
        for _ in range(100):
            if chen.queue.qsize() == 2:
                break
            await asyncio.sleep(0.01)
        await hub._publish_once(env("TK-1", 1, "TicketOpened", "D-ZSJ"))  # the Kafka copies, later
        await hub._publish_once(env("TK-1", 2))
        await hub._publish_once(env("TK-1", 3))  # another worker's event: only by Kafka
        hub.local_events([("TK-1", 3, orjson.dumps(env("TK-1", 3)), 0)])  # a late local copy of it
        await asyncio.sleep(0.05)
        assert [(e["ticket_id"], e["version"]) for e in drain(chen)] == [("TK-1", 1), ("TK-1", 2), ("TK-1", 3)]
    finally:
        hub._local_task.cancel()


async def test_nobody_watching_queues_nothing():
    async def nowhere(tid):
        return None

    hub = TicketHub(Settings(), "t", nowhere)
    hub.local_events([("TK-1", 1, b"{}", 0)])
    assert hub._local.empty()


async def test_a_failing_lookup_skips_that_event_and_the_stream_goes_on():
    async def broken(tid):
        raise RuntimeError("no store here")

    hub = TicketHub(Settings(), "t", broken)
    chen = hub.connect(CHEN)
    await hub._publish_once(env("TK-OLD", 4))  # department unknown: looked up, fails
    await hub._publish_once(env("TK-2", 1, "TicketOpened", "D-ZSJ"))
    assert [(e["ticket_id"], e["version"]) for e in drain(chen)] == [("TK-2", 1)]


async def test_with_nobody_watching_the_reader_fetches_nothing_and_a_client_starts_at_the_end():
    folded = []

    class Message:
        def __init__(self, e):
            self.value = orjson.dumps(e)

    class Reader:  # the calls the hub makes of its consumer; hands out its batches, then waits
        def __init__(self):
            self.calls: list[str] = []
            self.batches = [[env("TK-1", 3)]]
            self.read = asyncio.Event()

        def pause(self, *tps):
            self.calls.append("pause")

        def resume(self, *tps):
            self.calls.append("resume")

        async def seek_to_end(self, *tps):
            self.calls.append("seek_to_end")

        async def position(self, tp):
            self.calls.append("position")

        async def getmany(self, timeout_ms, max_records):
            self.calls.append("getmany")
            if not self.batches:
                self.read.set()
                await asyncio.sleep(3600)
            return {"tp": [Message(e) for e in self.batches.pop(0)]}

    async def nowhere(tid):
        return None

    hub = TicketHub(Settings(), "t", nowhere, lambda tid: folded.append(tid) or "assigned")
    hub._reader = reader = Reader()
    hub._tps = ["tp"]
    task = asyncio.create_task(hub._run())
    for _ in range(20):
        await asyncio.sleep(0)
    assert reader.calls == ["pause"] and folded == [] and not hub._sent  # nothing fetched for no one
    chen = hub.connect(CHEN)
    assert await asyncio.wait_for(hub.positioned(), 5)
    await asyncio.wait_for(reader.read.wait(), 5)
    assert reader.calls[:4] == ["pause", "seek_to_end", "position", "resume"]  # at the end before reading
    assert [(e["ticket_id"], e["version"]) for e in drain(chen)] == [("TK-1", 3)] and folded == ["TK-1"]
    hub.disconnect(chen)
    reader.batches = [[env("TK-1", 4)]]
    task.cancel()  # the fetch that waited ends; the loop finds nobody and pauses again
    task = asyncio.create_task(hub._run())
    for _ in range(20):
        await asyncio.sleep(0)
    task.cancel()
    assert reader.calls[-1] == "pause" and not hub._positioned.is_set() and folded == ["TK-1"]


async def test_a_reader_that_cannot_reach_the_end_is_retried_and_the_stream_still_starts():
    class Reader:
        def __init__(self):
            self.tries = self.resumed = 0
            self.read = asyncio.Event()

        def pause(self, *tps):
            pass

        def resume(self, *tps):
            self.resumed += 1

        async def seek_to_end(self, *tps):
            self.tries += 1
            if self.tries == 1:
                raise ConnectionError("broker away")

        async def position(self, tp):
            pass

        async def getmany(self, timeout_ms, max_records):
            self.read.set()
            await asyncio.sleep(3600)

    async def nowhere(tid):
        return None

    hub = TicketHub(Settings(), "t", nowhere)
    hub._reader = reader = Reader()
    hub._tps = ["tp"]
    task = asyncio.create_task(hub._run())
    for _ in range(20):  # the hub pauses: nobody watching
        await asyncio.sleep(0)
    hub.connect(CHEN)
    assert await asyncio.wait_for(hub.positioned(), 5)
    await asyncio.wait_for(reader.read.wait(), 5)
    task.cancel()
    assert reader.tries == 2 and reader.resumed == 1
