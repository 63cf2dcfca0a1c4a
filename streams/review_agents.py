"""Reviews: intake (validate, stamp receipt, re-key by hall) and classification (count or flag,
open tickets for counted bad reviews)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from faust.stores.base import SerializedStore

from haocha.domain.deadlines import due_after
from haocha.domain.reviews import classify, opens_ticket, reopens_ticket, ticket_id_for
from schemas.review import DeadLetter, ReviewClassified, ReviewSubmitted
from schemas.tickets import SYSTEM, OpenTicket, ReopenTicket, TicketCommandEnvelope, TicketOpened
from streams.app import fail_stop, Outbox, StreamApp, as_current, write_table
from streams.crashpoints import declare, reached
from haocha.domain.intake import dead_letter, parse_submission

log = logging.getLogger(__name__)
# Between the steps of a batch (streams/crashpoints.py; tests/integration/test_crash_points.py).
INTAKE_DONE = "intake.done"
CLASSIFY_VERDICTS_DELIVERED, CLASSIFY_GUARD_WRITTEN, CLASSIFY_DONE = (
    "classify.verdicts_delivered", "classify.guard_written", "classify.done")
declare(INTAKE_DONE, CLASSIFY_VERDICTS_DELIVERED, CLASSIFY_GUARD_WRITTEN, CLASSIFY_DONE)


class _GuardView(Mapping):
    """The guard table as the pure domain sees it, with write-behind for one batch.

    `classify` returns a review's guard updates; they are staged here so later reviews of the same
    batch see them, and written to the table once per key when the batch's output is in Kafka
    (`write_behind`): a terminal pressed ten times in a batch costs one table write and one
    changelog message, not ten. Each key is written with the last event that touched it current,
    so its changelog lands in that event's partition (all keys of a review belong to its hall, and
    the topic is keyed by hall); the changelog records go out with the batch (`write_table`). Reads go through the table with the review's event current too:
    the RocksDB store picks the partition's database from the current event.
    """

    def __init__(self, table):
        self._t = table
        self._staged: dict[str, tuple[Any, Any]] = {}  # key -> (value, event that wrote it)

    def __getitem__(self, key: str) -> Any:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def get(self, key: str, default: Any = None) -> Any:
        staged = self._staged.get(key)
        if staged is not None:
            v = staged[0]
        else:
            # Straight to the store (what `table.get` ends in, minus the Table and UserDict layers
            # and a KeyError per miss; most lookups miss: new review ids and case numbers).
            store = self._t.data
            if isinstance(store, SerializedStore):  # rocksdb://
                raw = store._get(store._encode_key(key))
                v = None if raw is None else store._decode_value(raw)
            else:  # memory://
                v = self._t.get(key)
        return default if v is None else v

    def stage(self, updates: dict[str, Any], event) -> None:
        for k, v in updates.items():
            self._staged[k] = (v, event)

    async def write_behind(self, out: Outbox) -> int:
        staged, self._staged = self._staged, {}
        await write_table(self._t, staged, out)
        return len(staged)

    def __iter__(self):  # pragma: no cover - the domain only looks keys up
        raise TypeError("not iterable")

    def __len__(self) -> int:  # pragma: no cover
        raise TypeError("no length")


def open_ticket_command(review: ReviewSubmitted, department_id: str, sa: StreamApp) -> TicketCommandEnvelope:
    """Deterministic: replaying the same review produces the very same command."""
    cal, policy = sa.deps.calendar, sa.deps.policy
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


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    batch, within = deps.settings.review_batch, deps.settings.review_flush_seconds
    submitted, accepted = sa.submitted.get_topic_name(), sa.accepted.get_topic_name()
    classified, commands = sa.classified.get_topic_name(), sa.commands.get_topic_name()
    dead_letters = sa.dead_letters.get_topic_name()

    @app.agent(sa.submitted, name="intake")
    async def intake(stream):
        async for events in stream.take_events(batch, within=within):
            with fail_stop("intake"):
                now = deps.clock.now()
                out = Outbox(app)
                for ev in events:
                    m = ev.message
                    got = parse_submission(ev.value, source=submitted, key=m.key, partition=m.partition, offset=m.offset,
                                           received_at=now, directory=deps.directory, seal=deps.seal)
                    if isinstance(got, DeadLetter):
                        log.warning("dead letter %s at %s[%s]@%s: %s", got.reason, m.topic, m.partition, m.offset, got.detail)
                        await out.send(dead_letters, m.key, got.model_dump_json().encode())
                    else:
                        await out.send(accepted, got.hall_id.encode(), got.model_dump_json().encode())
                await out.delivered()
                reached(INTAKE_DONE)

    @app.agent(sa.accepted, name="classify")
    async def classify_reviews(stream):
        guard = _GuardView(sa.guard)
        async for events in stream.take_events(batch, within=within):
            with fail_stop("classify"):
                now = deps.clock.now()
                out = Outbox(app)
                for ev in events:
                    as_current(ev)  # guard reads come from this event's partition
                    # Validated by intake on the way in; parsing again (pydantic-core, from JSON) is what
                    # gives the pure domain its typed review.
                    review = ReviewSubmitted.model_validate_json(ev.value)
                    verdict, updates = classify(review, guard, deps.rules)
                    if verdict.classification is None:
                        dl = dead_letter(ev.value, source=accepted, reason="review_id_conflict", detail=verdict.note,
                                         key=ev.message.key, partition=ev.message.partition, offset=ev.message.offset,
                                         failed_at=now, seal=deps.seal)
                        await out.send(dead_letters, ev.message.key, dl.model_dump_json().encode())
                        continue
                    guard.stage(updates, ev)
                    department = deps.directory.department_for(review.hall_id, review.window_id)
                    ticket_id = None
                    if opens_ticket(review, verdict):
                        cmd = open_ticket_command(review, department, sa)
                        ticket_id = cmd.ticket_id
                        await out.send(commands, ticket_id.encode(), cmd.model_dump_json().encode())
                    elif reopens_ticket(review, verdict):
                        tid = ticket_id_for(review.follow_up_of)
                        cmd = TicketCommandEnvelope(
                            command_id=f"reopen:{review.review_id}", ticket_id=tid,
                            issued_at=review.received_at or review.happened_at, actor=SYSTEM,
                            command=ReopenTicket(follow_up_review_id=review.review_id, rating=review.rating))
                        ticket_id = tid
                        await out.send(commands, tid.encode(), cmd.model_dump_json().encode())
                    verdict_out = ReviewClassified(review=review, classification=verdict.classification,
                                                   counted=verdict.counted, department_id=department, ticket_id=ticket_id,
                                                   note=verdict.note, classified_at=now)
                    # Keyed by hall like the accepted reviews: the alert agent's window counts for a
                    # service window then live in one partition.
                    await out.send(classified, review.hall_id.encode(), verdict_out.model_dump_json().encode())
                # The verdicts and commands are in the log before the guard remembers the reviews: a crash
                # in between classifies them again from the older guard, which gives the same verdicts.
                await out.delivered()
                reached(CLASSIFY_VERDICTS_DELIVERED)
                await guard.write_behind(out)
                reached(CLASSIFY_GUARD_WRITTEN)
                await out.delivered()
                reached(CLASSIFY_DONE)
