"""A month of simulated hall traffic: reviews as terminals send them, with the mess real terminals
make (resends, second reviews of a case, repeat presses, malformed bytes, offline pads that
deliver days late). Deterministic for a seed; pure (no I/O)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson

from haocha.domain.directory import Directory
from haocha.domain.calendar import WorkingCalendar
from schemas.review import BAD_RATINGS, REASON_TAGS

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNELS = ("pad", "pad", "pad", "pad", "kiosk", "web", "app", "qr", "hotline")
COMMENTS_BAD = ("等了很久", "材料被退回三次", "工作人员态度不好", "系统老是出错", "没有一次性告知")
COMMENTS_GOOD = ("办事很快", "工作人员很耐心", "一次办好", "")


@dataclass(frozen=True)
class Submission:
    """One message for the review topic: bytes as a terminal (or the gateway) sends them."""

    key: bytes
    value: bytes
    kind: str  # review | resend | duplicate_case | repeat_press | late | malformed
    review_id: str | None = None


@dataclass
class TrafficPlan:
    month: str = "2021-05"
    reviews: int = 50_000
    seed: int = 2021
    bad_share: float = 0.05  # a realistic share of 差评 overall; some windows much worse
    resend_share: float = 0.01
    duplicate_case_share: float = 0.005
    repeat_press_share: float = 0.005
    late_share: float = 0.004
    malformed_share: float = 0.001
    real_name_share: float = 0.4
    stats: dict = field(default_factory=dict)


def month_days(month: str) -> list[date]:
    y, m = map(int, month.split("-"))
    d = date(y, m, 1)
    out = []
    while d.month == m:
        out.append(d)
        d += timedelta(days=1)
    return out


def generate(plan: TrafficPlan, directory: Directory, calendar: WorkingCalendar) -> Iterator[Submission]:
    """Yields submissions in the order terminals would send them (by receipt time)."""
    rng = random.Random(plan.seed)
    days = [d for d in month_days(plan.month) if calendar.is_working_day(d)]
    kiosk_days = month_days(plan.month)  # 24-hour self-service areas (item 4) never close
    windows = sorted(directory.windows.values(), key=lambda w: w.window_id)
    # A few windows are much worse than the rest: that is what the report must surface.
    badness = {w.window_id: plan.bad_share * (4.0 if i % 9 == 4 else 0.6 if i % 3 else 1.0)
               for i, w in enumerate(windows)}
    events: list[tuple[datetime, Submission]] = []
    serial = 0
    prefix = plan.month.replace("-", "")
    for n in range(plan.reviews):
        w = rng.choice(windows)
        channel = rng.choice(CHANNELS)
        if channel == "kiosk":
            day = rng.choice(kiosk_days)
            at = datetime.combine(day, time(0), SHANGHAI) + timedelta(seconds=rng.randrange(86400))
        else:
            day = rng.choice(days)
            at = datetime.combine(day, time(9), SHANGHAI) + timedelta(seconds=rng.randrange(8 * 3600))
        bad = rng.random() < badness[w.window_id]
        rating = rng.choice((1, 2, 2)) if bad else rng.choices((5, 4, 3), weights=(70, 22, 8))[0]
        serial += 1
        rid = f"R{prefix}-{serial:07d}"
        walk_in = channel in ("pad", "kiosk") and rng.random() < 0.3
        items = directory.items.get(w.department_id) or [("X-000", "其他事项")]
        code, name = rng.choice(items)
        phone = f"13{rng.randrange(10**9):09d}" if rng.random() < plan.real_name_share else None
        review = {
            "schema_version": 1, "review_id": rid, "case_no": None if walk_in else f"C{prefix}{serial:07d}",
            "channel": channel, "hall_id": w.hall_id, "window_id": w.window_id, "department_id": w.department_id,
            "staff_id": f"S-{w.window_id}", "item_code": code, "item_name": name, "rating": rating,
            "indicators": {"整体满意度": rating, "服务态度": max(1, min(5, rating + rng.choice((-1, 0, 0, 1))))},
            "reasons": rng.sample(REASON_TAGS, k=rng.randint(1, 2)) if rating in BAD_RATINGS else [],
            "comment": rng.choice(COMMENTS_BAD if rating in BAD_RATINGS else COMMENTS_GOOD) or None,
            "evaluator": {"real_name": phone is not None, "phone": phone},
            "happened_at": at.isoformat(), "terminal_id": f"T-{w.window_id}-{channel}",
        }
        received = at + timedelta(seconds=rng.randint(1, 20))
        kind = "review"
        if rng.random() < plan.late_share:  # an offline pad delivers days later
            received = at + timedelta(days=rng.randint(2, 6), seconds=rng.randrange(3600))
            kind = "late"
        events.append((received, _sub(review, received, kind)))
        r = rng.random()
        if r < plan.resend_share:
            events.append((received + timedelta(seconds=30), _sub(review, received, "resend")))
        elif r < plan.resend_share + plan.duplicate_case_share and review["case_no"]:
            serial += 1
            second = dict(review, review_id=f"R{prefix}-{serial:07d}", rating=rng.choice((1, 5)),
                          happened_at=(at + timedelta(minutes=10)).isoformat())
            events.append((received + timedelta(minutes=10), _sub(second, received + timedelta(minutes=10), "duplicate_case")))
        elif r < plan.resend_share + plan.duplicate_case_share + plan.repeat_press_share and walk_in:
            serial += 1
            again = dict(review, review_id=f"R{prefix}-{serial:07d}", happened_at=(at + timedelta(seconds=2)).isoformat())
            events.append((received + timedelta(seconds=2), _sub(again, received + timedelta(seconds=2), "repeat_press")))
        if rng.random() < plan.malformed_share:
            events.append((received, _malformed(rng, review)))
    events.sort(key=lambda e: e[0])
    for _, sub in events:
        yield sub


def _sub(review: dict, received: datetime, kind: str) -> Submission:
    # The simulator plays the terminal and the gateway at once: the gateway stamps receipt.
    body = dict(review, received_at=received.isoformat())
    return Submission(key=review["hall_id"].encode(), value=orjson.dumps(body), kind=kind, review_id=review["review_id"])


def _malformed(rng: random.Random, review: dict) -> Submission:
    choice = rng.randrange(4)
    if choice == 0:
        value = b"{not json" + review["review_id"].encode()
    elif choice == 1:
        value = orjson.dumps(dict(review, rating=9))
    elif choice == 2:
        value = orjson.dumps({k: v for k, v in review.items() if k != "hall_id"})
    else:
        value = b"\xff\xfe" + bytes(rng.randrange(256) for _ in range(20))
    return Submission(key=b"garbage", value=value, kind="malformed")
