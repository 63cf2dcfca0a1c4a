"""The SQL of the monthly report, as-of semantics included (docs/metrics.md, "As of T").

Parameters (client-side bound): start, end, asof as epoch milliseconds; the working clock's
wc_* arrays (haocha.domain.metrics.WorkingClock).
"""

from __future__ import annotations

from sinks.sql import BAD, NOT_BAD, REVIEW_SQL, TICKET_SQL, at

START, END, ASOF = at("start"), at("end"), at("asof")

# Reviews of the period known at T: counted, happened in [start, end), received <= T.
MONTH_REVIEWS = (
    f"counted AND happened_at >= {START} AND happened_at < {END} AND received_at <= {ASOF}"
)


def working_days(col: str, prefix: str = "wc") -> str:
    """W(col) in working days (haocha.domain.metrics.WorkingClock, bound as its params()), for a
    DateTime64 column in the store's time zone. Dates outside the clock's range are clamped to its
    ends (the builder sizes the clock to cover them)."""
    idx = (f"toUInt32(greatest(1, least(length(%({prefix}_cum)s), "
           f"toInt64(toRelativeDayNum(toDate({col}))) - %({prefix}_base)s + 1)))")
    frac = f"(toUnixTimestamp64Milli({col}) - toUnixTimestamp(toStartOfDay({col})) * 1000) / 86400000.0"
    return f"(arrayElement(%({prefix}_cum)s, {idx}) + arrayElement(%({prefix}_work)s, {idx}) * {frac})"


def ticket_facts(ticket_filter: str) -> str:
    """Per ticket, from its events occurred <= T: what the report needs to know at T."""
    # JSON is parsed only on the rows that carry the field (if() short-circuits)
    due = ("if(type IN ('TicketOpened', 'TicketReopened'), parseDateTime64BestEffortOrZero("
           "JSONExtractString(payload, 'resolve_due'), 3, '{tz}'), toDateTime64(0, 3, '{tz}'))")
    return f"""
    SELECT
        ticket_id,
        minIf(occurred_at, type = 'TicketOpened') AS opened_at,
        countIf(type = 'TicketOpened') > 0 AS has_ticket,
        argMaxIf(type, version, type IN ('TicketClosed', 'TicketReopened')) = 'TicketClosed' AS closed,
        argMaxIf(occurred_at, version, type = 'TicketClosed') AS closed_at,
        argMaxIf(if(type = 'TicketClosed', JSONExtractString(payload, 'resolution'), ''), version, type = 'TicketClosed') AS resolution,
        argMaxIf({due}, version, type IN ('TicketOpened', 'TicketReopened')) AS resolve_due,
        countIf(if(type = 'AppealDecided', JSONExtractBool(payload, 'upheld'), 0)) > 0 AS invalidated,
        countIf(if(type = 'ContactRecorded', JSONExtractBool(payload, 'reached'), 0)) > 0 AS contacted,
        countIf(type = 'TicketEscalated') > 0 AS escalated,
        argMaxIf(type, version, type NOT IN ('DeadlineWarned', 'TicketEscalated', 'PhoneViewed')) AS stage
    FROM {{db}}.ticket_events
    WHERE occurred_at <= {ASOF} AND ({ticket_filter})
    GROUP BY ticket_id"""


def _bad_facts() -> str:
    """One row per bad review of the period known at T, with its ticket's facts at T."""
    w_closed, w_opened = working_days("tk.closed_at"), working_days("tk.opened_at")
    w_asof = working_days(ASOF)
    tickets = f"occurred_at >= {START} - toIntervalDay(1) AND ticket_id IN (SELECT assumeNotNull(ticket_id) FROM {{db}}.reviews WHERE {MONTH_REVIEWS} AND {BAD} AND ticket_id IS NOT NULL)"
    return f"""
    SELECT
        r.review_id AS review_id, r.ticket_id AS ticket_id, r.department_id AS department_id,
        r.hall_id AS hall_id, r.window_id AS window_id, r.rating AS rating, r.score AS score,
        r.real_name AS real_name, r.reasons AS reasons, r.happened_at AS happened_at,
        r.received_at AS received_at,
        tk.has_ticket AS has_ticket, tk.opened_at AS opened_at, tk.resolve_due AS resolve_due,
        tk.invalidated AS invalidated, tk.has_ticket AND tk.closed AS is_closed, tk.closed_at AS closed_at,
        tk.has_ticket AND tk.contacted AS is_contacted, tk.escalated AS escalated, tk.stage AS stage,
        tk.has_ticket AND tk.closed AND tk.closed_at <= tk.resolve_due AS is_on_time,
        if(tk.has_ticket AND tk.closed, {w_closed} - {w_opened}, 0.) AS days_to_close,
        if(tk.has_ticket, {w_asof} - {w_opened}, 0.) AS days_open
    FROM (
        SELECT review_id, ticket_id, department_id, hall_id, window_id, rating, score, real_name, reasons,
               happened_at, received_at
        FROM {{db}}.reviews
        WHERE {MONTH_REVIEWS} AND {BAD}
    ) AS r
    LEFT JOIN ({ticket_facts(tickets)}) AS tk ON tk.ticket_id = r.ticket_id"""


_GROUP = "department_id, hall_id, window_id"


def window_components_not_bad() -> str:
    """Review components of the non-bad reviews per window: no ticket, no join."""
    cols = ", ".join(f"{expr} AS {k}" for k, expr in REVIEW_SQL.items())
    return f"""
    SELECT {_GROUP}, {cols}
    FROM {{db}}.reviews
    WHERE {MONTH_REVIEWS} AND {NOT_BAD}
    GROUP BY {_GROUP}"""


def window_components_bad() -> str:
    """Review and ticket components of the bad reviews per window, split by invalidated (at T):
    the caller counts the valid ones and only counts the invalidated. Also the open tickets (not
    invalidated, not closed at T) and the overdue ones among them, for the notes: the list itself
    is paginated (open_tickets)."""
    cols = ", ".join(f"{expr} AS {k}" for k, expr in {**REVIEW_SQL, **TICKET_SQL}.items())
    return f"""
    SELECT {_GROUP}, invalidated, {cols},
        countIf(NOT invalidated AND NOT is_closed) AS open_count,
        countIf(NOT invalidated AND NOT is_closed AND has_ticket AND resolve_due < {ASOF}) AS overdue_count
    FROM ({_bad_facts()})
    GROUP BY {_GROUP}, invalidated"""


def open_tickets() -> str:
    """One page (parameters limit, offset) of the open tickets, overdue first."""
    return f"""
    SELECT review_id, ticket_id, department_id, hall_id, window_id, rating, real_name, reasons,
           happened_at, received_at, has_ticket, opened_at, resolve_due, stage, is_contacted, escalated,
           days_open, has_ticket AND resolve_due < {ASOF} AS overdue
    FROM ({_bad_facts()})
    WHERE NOT invalidated AND NOT is_closed
    ORDER BY overdue DESC, happened_at, review_id
    LIMIT toUInt64(%(limit)s) OFFSET toUInt64(%(offset)s)"""


def late_reviews() -> str:
    return f"SELECT count() FROM {{db}}.reviews WHERE {MONTH_REVIEWS} AND received_at >= {END}"


def carry_over() -> str:
    """Bad reviews of earlier months (known at T, valid at T) whose ticket is closed at T and whose
    closing (the latest TicketClosed <= T) falls in this month."""
    closed_here = (
        "ticket_id IN (SELECT ticket_id FROM {db}.ticket_events WHERE type = 'TicketClosed' "
        f"AND occurred_at >= {START} AND occurred_at < {END} AND occurred_at <= {ASOF})"
    )
    return f"""
    SELECT r.review_id AS review_id, tk.ticket_id AS ticket_id, r.department_id AS department_id,
           r.hall_id AS hall_id, r.window_id AS window_id, r.rating AS rating,
           r.happened_at AS happened_at, tk.opened_at AS opened_at, tk.closed_at AS closed_at,
           tk.resolution AS resolution, tk.closed_at <= tk.resolve_due AS on_time
    FROM ({ticket_facts(closed_here)}) AS tk
    INNER JOIN (
        SELECT review_id, assumeNotNull(ticket_id) AS ticket_id, department_id, hall_id, window_id, rating,
               happened_at
        FROM {{db}}.reviews
        WHERE counted AND {BAD} AND ticket_id IS NOT NULL AND happened_at < {START}
          AND received_at <= {ASOF}
    ) AS r ON r.ticket_id = tk.ticket_id
    WHERE tk.has_ticket AND tk.closed AND NOT tk.invalidated AND tk.closed_at >= {START} AND tk.closed_at < {END}
    ORDER BY closed_at, ticket_id"""
