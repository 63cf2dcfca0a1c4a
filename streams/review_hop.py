"""Reviews in one hop: intake (validate, stamp receipt), classification (count or flag, open
tickets for counted bad reviews) and spike alerts, from reviews.submitted to reviews.classified,
ticket commands, alerts and dead letters.

Every guard key of a review (its id, its case number, its terminal, the review it follows up) and
every alert window belongs to its hall, and reviews.submitted is keyed by hall (the gateway and the
simulator key by hall), so each input partition's state is its own (`PartitionStates`). A review
that arrives in another partition than its hall's (a producer that keys otherwise) is forwarded,
stamped, to its hall's partition and classified there.

Order within a batch, for crash safety: the outputs are in the log before the state that remembers
them (guard, window counts) moves, and both before the offsets are committed. A crash in between
classifies the batch again from older state, which gives the same verdicts (the counting rules'
replay property), the same ticket commands and alerts with the same ids; consumers drop copies.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo
from pathlib import Path

import orjson
from aiokafka import TopicPartition
from pydantic import TypeAdapter

from haocha.adapters.kafka import Emitter, partition_for
from haocha.domain.alerts import SpikeRule, observe, windows_of
from haocha.domain.deadlines import due_after
from haocha.domain.intake import dead_letter, parse_submission
from haocha.domain.reviews import Verdict, classify, opens_ticket, reopens_ticket, ticket_id_for
from schemas import topics as t
from schemas.alerts import AlertEnvelope, SpikeDetected
from schemas.review import BAD_RATINGS, Classification, DeadLetter, ReviewSubmitted
from schemas.tickets import SYSTEM, OpenTicket, ReopenTicket, TicketCommandEnvelope, TicketOpened
from streams import crashpoints
from streams.partition_state import PartitionStates, StagedView
from streams.progress import Counts

log = logging.getLogger(__name__)

AFTER_OUTPUT, AFTER_CHANGELOG, BEFORE_COMMIT = "reviews.after_output", "reviews.after_changelog", "reviews.before_commit"
crashpoints.declare(AFTER_OUTPUT, AFTER_CHANGELOG, BEFORE_COMMIT)


def open_ticket_command(review: ReviewSubmitted, department_id: str, deps) -> TicketCommandEnvelope:
    """Deterministic: replaying the same review produces the very same command."""
    cal, policy = deps.calendar, deps.policy
    opened_at = review.received_at or review.happened_at
    tid = ticket_id_for(review.review_id)
    return TicketCommandEnvelope(
        command_id=f"open:{review.review_id}", ticket_id=tid, issued_at=opened_at, actor=SYSTEM,
        command=OpenTicket(opened=TicketOpened(
            review_id=review.review_id, case_no=review.case_no, hall_id=review.hall_id,
            window_id=review.window_id, department_id=department_id, staff_id=review.staff_id,
            item_name=review.item_name, rating=review.rating, reasons=review.reasons, comment=review.comment,
            real_name=review.is_real_name, phone=review.evaluator.phone, happened_at=review.happened_at,
            contact_due=due_after(opened_at, policy.contact_working_days, cal),
            resolve_due=due_after(opened_at, policy.resolve_working_days, cal),
        )),
    )


_DATETIME = TypeAdapter(datetime)
# Reviews classified between hand-overs of a batch's filled record batches (Emitter.send_full).
SEND_EVERY = 1000
# The guard keys read by review after review (a terminal's presses, the alert windows), kept decoded
# in memory; the rest (a review's id and case number) are read and written once.
_REMEMBERED = ("term:", "win:")
_dump_review = ReviewSubmitted.__pydantic_serializer__.to_json  # = model_dump_json().encode()
_CLASSIFICATION_JSON = {c: orjson.dumps(c.value) for c in Classification}


def classified_json(review_json: bytes, verdict: Verdict, department_id: str, ticket_id: str | None,
                    classified_at_json: bytes) -> bytes:
    """The bytes of `ReviewClassified(...).model_dump_json()` around the review's own dump
    (`review_json`), without building and validating the model again around a review that is
    already valid (tests/unit/streams/test_review_hop.py)."""
    return b"".join((
        b'{"schema_version":1,"review":', review_json,
        b',"classification":', _CLASSIFICATION_JSON[verdict.classification],
        b',"counted":', b"true" if verdict.counted else b"false",
        b',"department_id":', _json_of(department_id),
        b',"ticket_id":', b"null" if ticket_id is None else orjson.dumps(ticket_id),
        b',"note":', b'""' if not verdict.note else orjson.dumps(verdict.note),
        b',"classified_at":', classified_at_json, b"}",
    ))


@lru_cache(maxsize=4096)
def _json_of(department_id: str) -> bytes:  # a few departments, every review
    return orjson.dumps(department_id)


def spike_line(window_id: str, bad: int, reviews: int, start: datetime, end: datetime, tz: str) -> str:
    """Windows are computed in UTC; people read the hall's local time (settings.timezone)."""
    zone = ZoneInfo(tz)
    return (f"bad-review spike at {window_id}: {bad} of {reviews} bad in "
            f"{start.astimezone(zone).isoformat(timespec='seconds')} – {end.astimezone(zone):%H:%M:%S}")


def reopen_ticket_command(review: ReviewSubmitted) -> TicketCommandEnvelope:
    return TicketCommandEnvelope(
        command_id=f"reopen:{review.review_id}", ticket_id=ticket_id_for(review.follow_up_of),
        issued_at=review.received_at or review.happened_at, actor=SYSTEM,
        command=ReopenTicket(follow_up_review_id=review.review_id, rating=review.rating))


class ReviewHop:
    """The batch handler (streams.kafka_batch.BatchHandler) of the review hop."""

    def __init__(self, deps, producer_partitions: dict[str, int], state_dir: Path, new_consumer):
        s = deps.settings
        self.deps = deps
        self.rules = deps.rules
        self.spike = SpikeRule()
        self.timezone = s.timezone
        self._cacheable = self.spike.size % self.spike.step == timedelta(0)
        self._step = self.spike.step.total_seconds()
        self._window_cache: dict[float, list] = {}
        self.submitted, self.classified = s.topic(t.REVIEWS_SUBMITTED.name), s.topic(t.REVIEWS_CLASSIFIED.name)
        self.commands, self.alerts = s.topic(t.TICKET_COMMANDS.name), s.topic(t.ALERTS.name)
        self.dead_letters = s.topic(t.DEAD_LETTERS.name)
        self.partitions = producer_partitions
        self._submitted_partitions = producer_partitions[self.submitted]
        self._homes: dict[str, tuple[bytes, int]] = {}  # hall id -> (its key, its partition)
        self.states = PartitionStates(state_dir, s.topic(t.REVIEW_STATE.name), new_consumer, _REMEMBERED)
        self.counts = Counts()  # for the worker's progress line
        self.producer = None  # set by the runner before the first batch

    async def assigned(self, tps: set[TopicPartition]) -> None:
        await self.states.open(tp.partition for tp in tps if tp.topic == self.submitted)

    async def revoked(self, tps: set[TopicPartition]) -> None:
        self.states.close(tp.partition for tp in tps if tp.topic == self.submitted)

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        out = Emitter(self.producer, self.partitions)
        now = self.deps.clock.now()
        now_json = _DATETIME.dump_json(now)
        for tp, records in batch.items():
            state = self.states.view(tp.partition)
            self.counts.reviews_in += len(records)
            for i in range(0, len(records), SEND_EVERY):
                for rec in records[i:i + SEND_EVERY]:
                    self._one(rec, tp.partition, state, out, now, now_json)
                # The record batches filled so far go to the broker, which stores them while the
                # hop classifies the next part; the loop runs the producer's sender (and the API)
                # in between.
                if await out.send_full():
                    await asyncio.sleep(0)
        await out.delivered()
        crashpoints.reached(AFTER_OUTPUT)
        ends = await self.states.deliver_changelog(out)
        crashpoints.reached(AFTER_CHANGELOG)
        self.states.write_local(ends)

    def _one(self, rec, partition: int, state: StagedView, out: Emitter, now: datetime, now_json: bytes) -> None:
        got = parse_submission(rec.value, source=self.submitted, key=rec.key, partition=partition, offset=rec.offset,
                               received_at=now, directory=self.deps.directory, seal=self.deps.seal)
        if isinstance(got, DeadLetter):
            log.warning("dead letter %s at %s[%s]@%s: %s", got.reason, self.submitted, partition, rec.offset, got.detail)
            out.send(self.dead_letters, rec.key, got.model_dump_json().encode())
            self.counts.dead_letters += 1
            return
        review = got
        body = _dump_review(review)
        homes = self._homes.get(review.hall_id)
        if homes is None:
            hall = review.hall_id.encode()
            homes = self._homes[review.hall_id] = hall, partition_for(hall, self._submitted_partitions)
        hall, home = homes
        if home != partition:
            out.send(self.submitted, hall, body, partition=home)
            return
        verdict, updates = classify(review, state, self.rules, body)
        if verdict.classification is None:
            dl = dead_letter(rec.value, source=self.submitted, reason="review_id_conflict", detail=verdict.note,
                             key=rec.key, partition=partition, offset=rec.offset, failed_at=now, seal=self.deps.seal)
            out.send(self.dead_letters, rec.key, dl.model_dump_json().encode())
            self.counts.dead_letters += 1
            return
        state.stage(updates)
        department = self.deps.directory.department_for(review.hall_id, review.window_id)
        ticket_id = None
        self.counts.classified += 1
        if opens_ticket(review, verdict):
            self.counts.tickets += 1
            cmd = open_ticket_command(review, department, self.deps)
        elif reopens_ticket(review, verdict):
            cmd = reopen_ticket_command(review)
        else:
            cmd = None
        if cmd is not None:
            ticket_id = cmd.ticket_id
            out.send(self.commands, ticket_id.encode(), cmd.model_dump_json().encode())
        out.send(self.classified, hall, classified_json(body, verdict, department, ticket_id, now_json),
                 partition=partition)
        if verdict.counted:
            self._observe(review, department, state, out)

    def _windows(self, at: datetime) -> list[tuple[datetime, datetime, str]]:
        """`windows_of(at)` with the windows' key suffixes. When the window size is a multiple of
        its step, the windows depend only on the step `at` falls in: computed once per step."""
        ts = at.timestamp()
        bucket = ts - ts % self._step if self._cacheable else ts
        got = self._window_cache.get(bucket)
        if got is None:
            if len(self._window_cache) > 100_000:
                self._window_cache.clear()
            got = self._window_cache[bucket] = [(a, b, a.isoformat()) for a, b in windows_of(at, self.spike)]
        return got

    def _observe(self, review: ReviewSubmitted, department: str, state: StagedView, out: Emitter) -> None:
        """Spike alerts: every counted review updates the hopping windows of its service window
        (by when it happened, so an offline pad's late reviews land where they belong); a window
        that crosses the spike rule raises one SpikeDetected. The pure `observe` sees every window
        the review is in (Faust's windowed tables evaluated only the newest one)."""
        bad = review.rating in BAD_RATINGS
        prefix, review_id, rule = f"win:{review.window_id}@", review.review_id, self.spike
        for start, end, suffix in self._windows(review.happened_at):
            key = prefix + suffix
            old = state.get(key)
            new, spike = observe(old, review_id, bad, rule)
            if new is not old:
                state.put(key, new)
            if spike:
                alert = SpikeDetected(
                    alert_id=key[4:], hall_id=review.hall_id, window_id=review.window_id, department_id=department,
                    window_start=start, window_end=end, reviews=new["reviews"], bad=new["bad"],
                    detected_at=self.deps.clock.now(),
                )
                log.warning(spike_line(review.window_id, new["bad"], new["reviews"], start, end, self.timezone))
                out.send(self.alerts, review.window_id.encode(), AlertEnvelope(event=alert).model_dump_json().encode())
