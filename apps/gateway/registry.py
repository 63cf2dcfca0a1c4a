"""The terminal registry: who may post, bound to which hall and window.

The compacted TERMINALS topic (key = terminal id, value = the latest record) is the only source, so
any number of gateways share it: each reads it fully at start and then tails it. `haocha terminal
register|revoke` writes records to it; a running gateway sees them within a poll.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, replace

import orjson
import pydantic
from aiokafka import AIOKafkaConsumer, TopicPartition

from haocha.adapters import kafka
from haocha.adapters.clock import Clock, SystemClock
from haocha.adapters.kafka import partitions, stop_tail
from haocha.domain.directory import Directory
from apps.gateway.crypto import KeySealer, new_terminal_key
from haocha.settings import Settings
from schemas.review import Channel, Ident
from schemas.topics import TERMINALS

log = logging.getLogger(__name__)

ACTIVE = "active"
_IDENT = pydantic.TypeAdapter(Ident)
REVOKED = "revoked"


@dataclass(frozen=True)
class TerminalRecord:
    terminal_id: str
    hall_id: str
    window_id: str
    channel: str
    status: str
    sealed_key: str | None  # AES-GCM sealed (crypto.KeySealer); None once revoked
    registered_at: str
    revoked_at: str | None = None
    note: str = ""
    # Kiosks (apps/gateway/pairing.py): a pending one-time code and the paired browser, as keyed
    # digests only.
    pairing_digest: str | None = None
    pairing_expires_at: str | None = None
    device_digest: str | None = None
    paired_at: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> "TerminalRecord":
        data = orjson.loads(raw)
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    def public(self) -> dict:
        """What `terminal list` shows: never the key, not even sealed, nor a pairing digest."""
        d = asdict(self)
        for secret in ("sealed_key", "pairing_digest", "device_digest"):
            d.pop(secret)
        return d


@dataclass(frozen=True)
class Terminal:
    record: TerminalRecord
    key: str | None  # opened key; None when it cannot be opened (other secret_key)
    key_error: str = ""

    @property
    def terminal_id(self) -> str:
        return self.record.terminal_id

    @property
    def active(self) -> bool:
        return self.record.status == ACTIVE


class Registry:
    """In-memory view of the registry, with keys opened once (HMAC needs them on every request)."""

    def __init__(self, sealer: KeySealer):
        self._sealer = sealer
        self._terminals: dict[str, Terminal] = {}
        self.ready = asyncio.Event()

    def apply(self, terminal_id: str, raw: bytes | None) -> None:
        if raw is None:  # tombstone: forget the terminal entirely
            self._terminals.pop(terminal_id, None)
            return
        try:
            record = TerminalRecord.from_json(raw)
        except Exception as exc:  # a bad record must not stop the gateway; it just is not a terminal
            log.error("registry: unreadable record for %s: %s", terminal_id, exc)
            return
        key, err = None, ""
        if record.status == ACTIVE and record.sealed_key:
            try:
                key = self._sealer.open(record.terminal_id, record.sealed_key)
            except Exception as exc:
                err = str(exc) or type(exc).__name__
                log.error("registry: key of terminal %s cannot be opened: %s", terminal_id, err)
        self._terminals[record.terminal_id] = Terminal(record, key, err)

    def get(self, terminal_id: str) -> Terminal | None:
        return self._terminals.get(terminal_id)

    async def write(self, record: TerminalRecord) -> None:
        """A gateway's own change of a record (a kiosk paired): in force here at once."""
        self.apply(record.terminal_id, record.to_json())

    def __len__(self) -> int:
        return len(self._terminals)

    def all(self) -> list[Terminal]:
        return sorted(self._terminals.values(), key=lambda t: t.terminal_id)


class KafkaRegistry(Registry):
    """Registry fed by the TERMINALS topic: full read at start, then tailing."""

    def __init__(self, settings: Settings, sealer: KeySealer, poll_ms: int = 500):
        super().__init__(sealer)
        self._settings = settings
        self._poll_ms = poll_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer, end = await _open_from_beginning(self._settings)
        await self._read_until(end)
        self.ready.set()
        log.info("registry: %d terminals loaded", len(self))
        self._task = asyncio.create_task(self._tail(), name="registry-tail")

    async def _read_until(self, end: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        while await behind(self._consumer, end):
            batch = await self._consumer.getmany(timeout_ms=self._poll_ms)
            self._apply_batch(batch)

    def _apply_batch(self, batch) -> None:
        for msgs in batch.values():
            for m in msgs:
                if m.key is not None:
                    self.apply(m.key.decode("utf-8", "replace"), m.value)

    async def _tail(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                self._apply_batch(await self._consumer.getmany(timeout_ms=self._poll_ms))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving with the registry we have; Kafka comes back
                log.warning("registry: tail error: %s", exc)
                await asyncio.sleep(1)

    async def write(self, record: TerminalRecord) -> None:
        """On the topic first (every gateway learns it from there), then in force here at once."""
        await write_record(self._settings, record)
        super().apply(record.terminal_id, record.to_json())

    async def stop(self) -> None:
        await stop_tail(self._task, self._consumer)


async def behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    """True while some partition has not been read up to `end`."""
    for tp, off in end.items():
        if await consumer.position(tp) < off:
            return True
    return False


async def _open_from_beginning(settings: Settings) -> tuple[AIOKafkaConsumer, dict[TopicPartition, int]]:
    topic = settings.topic(TERMINALS.name)
    consumer = kafka.consumer(settings, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
    except BaseException:
        await consumer.stop()
        raise
    return consumer, end


# --- administration (the `haocha terminal` commands) ---------------------------------------------


async def read_registry(settings: Settings) -> dict[str, TerminalRecord]:
    consumer, end = await _open_from_beginning(settings)
    records: dict[str, TerminalRecord] = {}
    try:
        while await behind(consumer, end):
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                for m in msgs:
                    if m.key is None:
                        continue
                    tid = m.key.decode("utf-8", "replace")
                    if m.value is None:
                        records.pop(tid, None)
                    else:
                        try:
                            records[tid] = TerminalRecord.from_json(m.value)
                        except Exception:
                            log.error("registry: unreadable record for %s", tid)
    finally:
        await consumer.stop()
    return records


async def write_record(settings: Settings, record: TerminalRecord) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(TERMINALS.name), record.to_json(), key=record.terminal_id.encode())
    finally:
        await producer.stop()


async def register_terminal(
    settings: Settings, terminal_id: str, hall_id: str, window_id: str, *, channel: str = "pad",
    rotate: bool = False, directory: Directory | None = None, note: str = "", clock: Clock = SystemClock(),
) -> tuple[TerminalRecord, str]:
    """Register (or with rotate=True re-key) a terminal; return its record and its key (shown once)."""
    try:
        _IDENT.validate_python(terminal_id)
    except pydantic.ValidationError as exc:
        raise ValueError(f"terminal id {terminal_id!r} is not a valid identifier ([A-Za-z0-9._:-], 1-64)") from exc
    if channel not in {c.value for c in Channel}:
        raise ValueError(f"channel must be one of {', '.join(c.value for c in Channel)}")
    directory = directory or Directory.load(settings.directory_file)
    if hall_id not in directory.halls:
        raise ValueError(f"unknown hall {hall_id}")
    window = directory.windows.get(window_id)
    if window is None or window.hall_id != hall_id:
        raise ValueError(f"unknown window {window_id} in hall {hall_id}")
    existing = (await read_registry(settings)).get(terminal_id)
    if existing is not None and existing.status == ACTIVE and not rotate:
        raise ValueError(f"terminal {terminal_id} is already registered; --rotate issues a new key")
    key = new_terminal_key()
    sealer = KeySealer(settings.secret_key.get_secret_value())
    record = TerminalRecord(
        terminal_id=terminal_id, hall_id=hall_id, window_id=window_id, channel=channel, status=ACTIVE,
        sealed_key=sealer.seal(terminal_id, key), registered_at=clock.now().isoformat(), note=note,
    )
    await write_record(settings, record)
    return record, key


async def revoke_terminal(settings: Settings, terminal_id: str, note: str = "",
                          clock: Clock = SystemClock()) -> TerminalRecord:
    existing = (await read_registry(settings)).get(terminal_id)
    if existing is None:
        raise ValueError(f"unknown terminal {terminal_id}")
    if existing.status == REVOKED:
        return existing
    # The record stays (audit: who was bound where); the sealed key and a kiosk's paired browser
    # are dropped for good.
    record = replace(existing, status=REVOKED, sealed_key=None, revoked_at=clock.now().isoformat(), note=note or existing.note,
                     pairing_digest=None, pairing_expires_at=None, device_digest=None)
    await write_record(settings, record)
    return record
