"""The monthly report as data (JSON shape documented in docs/report.md). No personal data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from haocha.domain.metrics import METRICS, Components, metric_values

REPORT_SCHEMA_VERSION = 1


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComponentCounts(_M):
    reviews: int = 0
    good: int = 0
    bad: int = 0
    score_sum: int = 0
    real_name_bad: int = 0
    closed: int = 0
    closed_on_time: int = 0
    contacted: int = 0
    days_to_close_sum: float = 0.0


class ScopeRow(_M):
    """One department, window or the total: metrics and the components they are computed from."""

    scope: str  # total | department | window
    id: str
    name: str
    department_id: str | None = None
    hall_id: str | None = None
    reviews: int
    good_rate: float | None
    bad_count: int
    bad_rate: float | None
    satisfaction: float | None
    closed: int
    rectification_rate: float | None
    on_time_rate: float | None
    return_visit_rate: float | None
    mean_days_to_close: float | None
    components: ComponentCounts

    @classmethod
    def of(cls, scope: str, id: str, name: str, c: Components, **extra) -> "ScopeRow":
        return cls(scope=scope, id=id, name=name, components=ComponentCounts(**vars(c)),
                   **metric_values(c), **extra)


class RankEntry(_M):
    rank: int
    id: str
    name: str
    value: float | None
    reviews: int


class Ranking(_M):
    scope: str  # window | department
    by: str  # satisfaction | bad_rate
    order: str  # "asc" (lowest first) | "desc" (highest first): the bottom performers first
    entries: list[RankEntry]


class UnclosedTicket(_M):
    """A bad review whose ticket is not closed at the as-of time: it keeps the rate below 100%."""

    ticket_id: str | None
    review_id: str
    department_id: str
    department_name: str
    hall_id: str
    window_id: str
    window_name: str
    rating: int
    real_name: bool
    reasons: list[str]
    happened_at: datetime
    received_at: datetime
    opened_at: datetime | None
    resolve_due: datetime | None
    stage: str  # the ticket's last step at the as-of time (see docs/report.md)
    stage_label: str
    contacted: bool
    overdue: bool
    escalated: bool
    working_days_open: float | None


class CarryOver(_M):
    """A bad review of an earlier month whose ticket was closed in this month (and still is at T)."""

    ticket_id: str
    review_id: str
    review_month: str
    department_id: str
    department_name: str
    hall_id: str
    window_id: str
    window_name: str
    rating: int
    happened_at: datetime
    opened_at: datetime
    closed_at: datetime
    resolution: str
    on_time: bool
    working_days_to_close: float


class Notes(_M):
    late_reviews: int  # counted reviews of the month received after the month ended (and <= as-of)
    invalidated: int  # bad reviews of the month invalidated by an upheld appeal at the as-of time
    open_tickets: int
    overdue_tickets: int
    carry_over: int


class MetricDef(_M):
    key: str
    label: str
    formula: str
    kind: str


class MonthlyReport(_M):
    schema_version: int = REPORT_SCHEMA_VERSION
    title: str
    month: str  # YYYY-MM
    as_of: datetime
    timezone: str
    period_start: datetime
    period_end: datetime  # exclusive
    metrics: list[MetricDef]
    totals: ScopeRow
    departments: list[ScopeRow]
    windows: list[ScopeRow]
    rankings: list[Ranking]
    open_tickets: list[UnclosedTicket]
    carry_over: list[CarryOver]
    notes: Notes


def metric_defs() -> list[MetricDef]:
    return [MetricDef(key=m.key, label=m.label, formula=m.formula, kind=m.kind) for m in METRICS]
