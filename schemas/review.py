"""The review as terminals send it (wire format v1) and as the stream classifies it.

The review id is the idempotency key: a resend of the same id is the same review.
Terminal vendors get these models as JSON Schema (`haocha schemas export`, docs/wire-format.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

REVIEW_SCHEMA_VERSION = 1

# Identifiers travel in Kafka keys, ClickHouse keys and URLs: keep them boring.
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{5,20}$")]
# Strict: `true` is not a rating, nor are "2" and 2.0 (lax parsing would count `true` as a 1).
Level = Annotated[StrictInt, Field(ge=1, le=5, description="a JSON integer: 2, never 2.0, \"2\" or true")]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# GB/T 39734 five levels. 差评 is 2 or 1; 好评 is 5 or 4.
RATING_LABELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RATING_SCORES: dict[int, int] = {5: 100, 4: 80, 3: 60, 2: 30, 1: 0}
BAD_RATINGS = frozenset({1, 2})
GOOD_RATINGS = frozenset({4, 5})
REASON_TAGS = ("态度差", "效率低", "多次跑", "材料要求不合理", "等候时间长", "其他")
INDICATORS = ("整体满意度", "服务效率", "服务水平", "服务态度")


class Channel(StrEnum):
    PAD = "pad"  # 评价器 at a window
    KIOSK = "kiosk"  # self-service terminal
    WEB = "web"
    APP = "app"
    QR = "qr"
    HOTLINE = "hotline"  # 12345
    SMS = "sms"


class Evaluator(BaseModel):
    """Who rated. A phone number makes the review real-name (实名) and enables the return visit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    real_name: StrictBool = False
    phone: Phone | None = None


class ReviewSubmitted(BaseModel):
    """One review, wire format v1. Sent by terminals, the gateway and the simulator."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    schema_version: Literal[1] = 1
    review_id: Ident
    case_no: Ident | None = Field(None, description="办件编号; absent for a walk-in consultation")
    channel: Channel
    hall_id: Ident
    window_id: Ident
    department_id: Ident | None = Field(None, description="as the terminal knows it; routing uses the directory")
    staff_id: Ident | None = None
    item_code: str | None = Field(None, max_length=64, description="事项编码")
    item_name: str | None = Field(None, max_length=200, description="事项名称")
    rating: Level
    indicators: dict[str, Level] = Field(default_factory=dict, max_length=8)
    reasons: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] = Field((), max_length=10)
    comment: str | None = Field(None, max_length=2000)
    evaluator: Evaluator = Evaluator()
    happened_at: AwareDatetime = Field(description="when it happened on the device, with its time zone")
    received_at: AwareDatetime | None = Field(None, description="set by the platform on receipt")
    terminal_id: Ident
    follow_up_of: Ident | None = Field(None, description="review id this is the one 追评 (follow-up) of")

    @field_validator("comment", "item_name")
    @classmethod
    def _no_control_chars(cls, v: str | None) -> str | None:
        if v is not None and _CONTROL.search(v):
            raise ValueError("control characters are not allowed")
        return v

    @property
    def is_bad(self) -> bool:
        return self.rating in BAD_RATINGS

    @property
    def is_real_name(self) -> bool:
        return self.evaluator.real_name or self.evaluator.phone is not None


class Classification(StrEnum):
    """What the stream decided about a review. Only COUNTED counts in statistics; a FOLLOW_UP acts on its ticket."""

    COUNTED = "counted"
    DUPLICATE_CASE = "duplicate_case"  # a second review of the same case (一次一评)
    REPEAT_PRESS = "repeat_press"  # same terminal again within seconds, no case number
    FOLLOW_UP = "follow_up"  # the one 追评 after feedback on a rectification
    FOLLOW_UP_REJECTED = "follow_up_rejected"  # a follow-up that is not allowed (second one, no feedback yet)


class ReviewClassified(BaseModel):
    """The stream's verdict on a review: the review itself plus how it counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    review: ReviewSubmitted
    classification: Classification
    counted: bool
    department_id: str  # routed by the directory (谁办理、谁负责)
    ticket_id: str | None = None
    note: str = ""
    classified_at: datetime


class DeadLetter(BaseModel):
    """Raw input that could not be taken, with why. Nothing is silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # the topic or endpoint it came from
    reason: str  # machine-readable code, e.g. "not_json", "schema", "review_id_conflict"
    detail: str
    # The raw bytes for display, phone numbers masked: text, or base64 (see raw_encoding).
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    # The raw bytes themselves, AES-GCM sealed under a key derived from the platform's secret key
    # (associated data: `source`); what `haocha deadletters replay` re-publishes after a fix.
    sealed: str | None = None
    key: str | None = None
    partition: int | None = None
    offset: int | None = None
    failed_at: datetime
