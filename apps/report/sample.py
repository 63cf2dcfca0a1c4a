"""A deterministic sample of reviews and ticket histories for the report's tests and demos.

It covers what makes a monthly report hard: tickets that cross months, appeals (upheld and
rejected), reopened tickets, late reviews, uncounted reviews, unknown windows and the Labour Day
holidays of May 2021 with their makeup workdays. Plain data, nothing written anywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from haocha.domain.deadlines import due_after
from schemas import tickets as t
from schemas.review import BAD_RATINGS, Classification, Evaluator, ReviewClassified, ReviewSubmitted

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICER = t.Actor(id="officer-1", role="officer", department_id=None)
SUPERVISOR = t.Actor(id="sup-1", role="supervisor")


@dataclass
class Sample:
    reviews: list[ReviewClassified] = field(default_factory=list)
    events: dict[str, list[t.TicketEventEnvelope]] = field(default_factory=dict)  # ticket id -> events

    @property
    def all_events(self) -> list[t.TicketEventEnvelope]:
        return [e for evs in self.events.values() for e in evs]


def generate(directory, calendar, n: int = 600, seed: int = 7,
             first: datetime = datetime(2021, 4, 10, tzinfo=SHANGHAI),
             last: datetime = datetime(2021, 6, 5, tzinfo=SHANGHAI)) -> Sample:
    rnd = random.Random(seed)
    windows = list(directory.windows.values())
    span = int((last - first).total_seconds())
    out = Sample()
    for i in range(n):
        if rnd.random() < 0.03:  # a window not in the routing table -> the hall's supervisors
            hall = rnd.choice(list(directory.halls))
            window_id, dept = f"{hall}-W99", f"supervisor:{hall}"
        else:
            w = rnd.choice(windows)
            hall, window_id, dept = w.hall_id, w.window_id, w.department_id
        happened = first + timedelta(seconds=rnd.randrange(span))
        late = rnd.random() < 0.05
        received = happened + (timedelta(days=rnd.randint(20, 45)) if late else timedelta(seconds=rnd.randint(1, 90)))
        rating = rnd.choices([5, 4, 3, 2, 1], weights=[45, 20, 10, 12, 13])[0]
        real = rnd.random() < 0.6
        phone = f"138{rnd.randrange(10**8):08d}" if real else None
        cls = rnd.choices([Classification.COUNTED, Classification.DUPLICATE_CASE, Classification.REPEAT_PRESS],
                          weights=[92, 5, 3])[0]
        counted = cls == Classification.COUNTED
        rid = f"R{i:05d}"
        tid = f"T-{rid}" if counted and rating in BAD_RATINGS else None
        review = ReviewSubmitted(
            review_id=rid, case_no=f"C{i:05d}", channel="pad", hall_id=hall, window_id=window_id,
            department_id=dept, rating=rating, reasons=("态度差",) if rating in BAD_RATINGS else (),
            comment="等了很久" if rating in BAD_RATINGS else None, evaluator=Evaluator(real_name=real, phone=phone),
            happened_at=happened, received_at=received, terminal_id=f"pad-{window_id}",
        )
        out.reviews.append(ReviewClassified(
            review=review, classification=cls, counted=counted, department_id=dept, ticket_id=tid,
            classified_at=received + timedelta(seconds=1),
        ))
        if tid:
            out.events[tid] = _history(rnd, tid, review, dept, received + timedelta(seconds=2), calendar)
    return out


def _history(rnd: random.Random, tid: str, r: ReviewSubmitted, dept: str, opened_at: datetime, cal) -> list:
    evs: list[t.TicketEventEnvelope] = []
    now = opened_at

    def add(event, actor=OFFICER, gap_hours: float | None = None):
        nonlocal now
        if gap_hours is None:
            gap_hours = rnd.uniform(1, 60)
        if evs:
            now = now + timedelta(seconds=int(gap_hours * 3600))
        v = len(evs) + 1
        evs.append(t.TicketEventEnvelope(
            event_id=f"{tid}:{v}", type=event.type, ticket_id=tid, version=v, occurred_at=now,
            recorded_at=now + timedelta(milliseconds=250), actor=actor, command_id=f"{tid}-c{v}", event=event,
        ))

    add(t.TicketOpened(
        review_id=r.review_id, case_no=r.case_no, hall_id=r.hall_id, window_id=r.window_id, department_id=dept,
        rating=r.rating, reasons=r.reasons, comment=r.comment, real_name=r.is_real_name, phone=r.evaluator.phone,
        happened_at=r.happened_at, contact_due=due_after(opened_at, 1, cal), resolve_due=due_after(opened_at, 5, cal),
    ), actor=t.SYSTEM)
    path = rnd.choices(["open", "assigned", "rectified", "explained", "appeal_upheld", "appeal_rejected",
                        "reopened", "escalated"], weights=[6, 6, 40, 12, 6, 6, 8, 6])[0]
    if path == "open":
        return evs
    add(t.TicketAssigned(officer_id="officer-1"))
    if path == "assigned":
        return evs
    if path.startswith("appeal"):
        add(t.AppealFiled(ground="malicious", argument="恶意差评"))
        upheld = path == "appeal_upheld"
        add(t.AppealDecided(upheld=upheld, reason="复核结论"), actor=SUPERVISOR, gap_hours=rnd.uniform(10, 200))
        if upheld:
            return evs
    if path == "escalated":
        add(t.DeadlineWarned(stage="resolve", percent=50, due=evs[0].event.resolve_due), actor=t.SYSTEM)
        add(t.TicketEscalated(stage="resolve", due=evs[0].event.resolve_due), actor=t.SYSTEM, gap_hours=80)
    if r.is_real_name:
        if rnd.random() < 0.3:
            add(t.ContactRecorded(reached=False, note="无人接听"))
        if rnd.random() < 0.85:
            add(t.ContactRecorded(reached=True, verdict="属实"))
    if path == "explained":
        add(t.PolicyExplained(explanation="政策解释"))
        add(t.TicketClosed(resolution="explained"))
        return evs
    add(t.RectificationRecorded(measures="加强培训"))
    add(t.FeedbackGiven(message="已整改"))
    if rnd.random() < 0.15 and path != "reopened":
        return evs  # feedback given, not yet closed
    add(t.TicketClosed(resolution="rectified"))
    if path == "reopened":
        due = due_after(now + timedelta(hours=30), 5, cal)
        add(t.TicketReopened(follow_up_review_id=f"{r.review_id}-f", rating=1, resolve_due=due), actor=t.SYSTEM,
            gap_hours=30)
        if rnd.random() < 0.6:
            add(t.RectificationRecorded(measures="再次整改"))
            add(t.FeedbackGiven(message="已再次整改"))
            add(t.TicketClosed(resolution="rectified"))
    return evs
