"""Real-time alerts: a service window with a spike of bad reviews, and its acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpikeDetected(_Message):
    type: Literal["SpikeDetected"] = "SpikeDetected"
    alert_id: str  # <window id>@<window start>: one alert per service window and time window
    hall_id: str
    window_id: str
    department_id: str
    window_start: datetime
    window_end: datetime
    reviews: int
    bad: int
    detected_at: datetime


class AlertAcknowledged(_Message):
    type: Literal["AlertAcknowledged"] = "AlertAcknowledged"
    alert_id: str
    window_id: str
    by: str
    note: str = ""
    acknowledged_at: datetime


AlertEvent = Annotated[Union[SpikeDetected, AlertAcknowledged], Field(discriminator="type")]


class AlertEnvelope(_Message):
    schema_version: Literal[1] = 1
    event: AlertEvent
