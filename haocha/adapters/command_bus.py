"""Request/reply over Kafka: send a ticket command, await its outcome.

The command goes to the commands topic keyed by ticket id, so the one ticket agent that owns the
ticket's partition applies it, in order with every other command on that ticket. The agent answers
every command on the outcomes topic (keyed by command id). This bus reads that topic with a
group-less consumer on all partitions, positioned at the end *before* any command is sent, so no
answer can slip past it; a dict of futures matches answers to callers.

The log stays the single source of truth: the bus only waits. A caller that times out may resend
the same command id; the ticket remembers it and answers `duplicate` instead of applying it twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from haocha.adapters import kafka
from haocha.settings import Settings
from schemas.tickets import CommandOutcome, TicketCommandEnvelope

log = logging.getLogger(__name__)


class CommandTimeout(Exception):
    def __init__(self, command_id: str, seconds: float):
        super().__init__(
            f"no outcome for command {command_id} within {seconds:g} s; it may still be applied: "
            "resend it with the same command_id to learn its outcome"
        )
        self.command_id = command_id


class CommandBus(Protocol):
    async def send(self, cmd: TicketCommandEnvelope, timeout: float | None = None) -> CommandOutcome: ...


class KafkaCommandBus:
    def __init__(self, settings: Settings, commands_topic: str, outcomes_topic: str, timeout: float = 15.0):
        self.settings = settings
        self.commands_topic = commands_topic
        self.outcomes_topic = outcomes_topic
        self.timeout = timeout
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        producer = kafka.producer(self.settings)
        consumer = kafka.consumer(self.settings, group_id=None)
        await producer.start()
        try:
            await consumer.start()
            partitions = await producer.partitions_for(self.outcomes_topic)
            tps = [TopicPartition(self.outcomes_topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:  # resolve the end offsets now, not lazily after the first command
                await consumer.position(tp)
        except BaseException:
            await consumer.stop()
            await producer.stop()
            raise
        self._consumer, self._producer = consumer, producer
        self._reader = asyncio.create_task(self._read(), name="command-bus-outcomes")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        for waiters in self._waiting.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(RuntimeError("the command bus stopped before the outcome came"))
        self._waiting.clear()
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.stop()
        self._producer = self._consumer = self._reader = None

    @property
    def started(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def send(self, cmd: TicketCommandEnvelope, timeout: float | None = None) -> CommandOutcome:
        if self._producer is None:
            raise RuntimeError("the command bus is not started")
        timeout = self.timeout if timeout is None else timeout
        fut = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(cmd.command_id, []).append(fut)
        try:
            await self._producer.send_and_wait(
                self.commands_topic, key=cmd.ticket_id.encode(), value=cmd.model_dump_json().encode())
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(cmd.command_id, timeout) from None
        finally:
            waiters = self._waiting.get(cmd.command_id, [])
            if fut in waiters:
                waiters.remove(fut)
            if not waiters:
                self._waiting.pop(cmd.command_id, None)

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broker hiccup must not kill the reader: callers would all time out
                log.exception("reading outcomes failed; retrying")
                await asyncio.sleep(1)
                continue
            if not self._waiting:  # every command's outcome comes by; only awaited ones are read
                continue
            for records in batches.values():
                for rec in records:
                    self._resolve(rec.value)

    def _resolve(self, raw: bytes) -> None:
        try:
            outcome = CommandOutcome.model_validate_json(raw)
        except ValueError:
            log.error("unreadable outcome skipped (%d bytes)", len(raw))
            return
        for fut in self._waiting.get(outcome.command_id, []):
            if not fut.done():
                fut.set_result(outcome)

