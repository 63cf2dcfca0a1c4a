"""Reviews: intake (validate, stamp receipt, re-key by hall) and classification (count or flag,
open tickets for counted bad reviews)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from haocha.domain.deadlines import due_after
from haocha.domain.reviews import classify, opens_ticket, reopens_ticket, ticket_id_for
from schemas.review import DeadLetter, ReviewClassified, ReviewSubmitted
from schemas.tickets import SYSTEM, OpenTicket, ReopenTicket, TicketCommandEnvelope, TicketOpened
from streams.app import StreamApp, as_current, delivered
from streams.intake import dead_letter, parse_submission

log = logging.getLogger(__name__)


class _GuardView(Mapping):
    """Read-only view of the guard table for the pure domain."""

    def __init__(self, table):
        self._t = table

    def __getitem__(self, key: str) -> Any:
        v = self._t.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def get(self, key: str, default: Any = None) -> Any:
        v = self._t.get(key)
        return default if v is None else v

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
    batch = deps.settings.review_batch

    @app.agent(sa.submitted, name="intake")
    async def intake(stream):
        async for events in stream.take_events(batch, within=0.2):
            now = deps.clock.now()
            futures = []
            for ev in events:
                m = ev.message
                got = parse_submission(ev.value, source=sa.submitted.get_topic_name(), key=m.key,
                                       partition=m.partition, offset=m.offset, received_at=now,
                                       directory=deps.directory)
                if isinstance(got, DeadLetter):
                    log.warning("dead letter %s at %s[%s]@%s: %s", got.reason, m.topic, m.partition, m.offset, got.detail)
                    futures.append(await sa.dead_letters.send(key=m.key, value=got.model_dump_json().encode()))
                else:
                    futures.append(await sa.accepted.send(key=got.hall_id.encode(), value=got.model_dump_json().encode()))
            await delivered(futures)

    @app.agent(sa.accepted, name="classify")
    async def classify_reviews(stream):
        guard = _GuardView(sa.guard)
        async for events in stream.take_events(batch, within=0.2):
            now = deps.clock.now()
            futures = []
            for ev in events:
                as_current(ev)
                review = ReviewSubmitted.model_validate_json(ev.value)
                verdict, updates = classify(review, guard, deps.rules)
                if verdict.classification is None:
                    dl = dead_letter(ev.value, source=sa.accepted.get_topic_name(), reason="review_id_conflict",
                                     detail=verdict.note, key=ev.message.key, partition=ev.message.partition,
                                     offset=ev.message.offset, failed_at=now)
                    futures.append(await sa.dead_letters.send(key=ev.message.key, value=dl.model_dump_json().encode()))
                    continue
                for k, v in updates.items():
                    sa.guard[k] = v
                department = deps.directory.department_for(review.hall_id, review.window_id)
                ticket_id = None
                if opens_ticket(review, verdict):
                    cmd = open_ticket_command(review, department, sa)
                    ticket_id = cmd.ticket_id
                    futures.append(await sa.commands.send(key=ticket_id.encode(), value=cmd.model_dump_json().encode()))
                elif reopens_ticket(review, verdict):
                    tid = ticket_id_for(review.follow_up_of)
                    cmd = TicketCommandEnvelope(
                        command_id=f"reopen:{review.review_id}", ticket_id=tid,
                        issued_at=review.received_at or review.happened_at, actor=SYSTEM,
                        command=ReopenTicket(follow_up_review_id=review.review_id, rating=review.rating))
                    ticket_id = tid
                    futures.append(await sa.commands.send(key=tid.encode(), value=cmd.model_dump_json().encode()))
                out = ReviewClassified(review=review, classification=verdict.classification, counted=verdict.counted,
                                       department_id=department, ticket_id=ticket_id, note=verdict.note,
                                       classified_at=now)
                futures.append(await sa.classified.send(key=review.review_id.encode(), value=out.model_dump_json().encode()))
            await delivered(futures)
