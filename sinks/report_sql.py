"""The SQL of the monthly report, as-of semantics included (docs/metrics.md, "As of T").

Parameters (client-side bound): start, end, asof as epoch milliseconds; the working clock's
wc_* arrays (haocha.domain.metrics.WorkingClock).
"""

from __future__ import annotations

from sinks.sql import BAD, REVIEW_SQL, at
from sinks.ticket_rollups import TICKET_COMPONENTS, open_with_ticket, ticket_components

START, END, ASOF = at("start"), at("end"), at("asof")
FROM, TO = at("from"), at("to")
# The rollups answer for every hour before T's; the hour of T comes from raw rows.
HOUR = f"toStartOfHour({ASOF})"
MONTH = f"toStartOfMonth({START})"
MS_PER_DAY = 86_400_000

def working_days(col: str, prefix: str = "wc") -> str:
    """W(col) in working days (haocha.domain.metrics.WorkingClock, bound as its params()), for a
    DateTime64 column in the store's time zone. Dates outside the clock's range are clamped to its
    ends (the builder sizes the clock to cover them)."""
    idx = (f"toUInt32(greatest(1, least(length(%({prefix}_cum)s), "
           f"toInt64(toRelativeDayNum(toDate({col}))) - %({prefix}_base)s + 1)))")
    frac = f"(toUnixTimestamp64Milli({col}) - toUnixTimestamp(toStartOfDay({col})) * 1000) / 86400000.0"
    return f"(arrayElement(%({prefix}_cum)s, {idx}) + arrayElement(%({prefix}_work)s, {idx}) * {frac})"


def ticket_facts(ticket_filter: str) -> str:
    """Per ticket, from its events occurred <= T (sinks/ticket_rollups.py ticket_event_facts,
    parsed already): what the report needs to know at T."""
    return f"""
    SELECT
        ticket_id,
        minIf(occurred_at, type = 'TicketOpened') AS opened_at,
        countIf(type = 'TicketOpened') > 0 AS has_ticket,
        argMaxIf(type, version, type IN ('TicketClosed', 'TicketReopened')) = 'TicketClosed' AS closed,
        argMaxIf(occurred_at, version, type = 'TicketClosed') AS closed_at,
        argMaxIf(resolution, version, type = 'TicketClosed') AS resolution,
        argMaxIf(due, version, type IN ('TicketOpened', 'TicketReopened')) AS resolve_due,
        countIf(upheld) > 0 AS invalidated,
        countIf(reached) > 0 AS contacted,
        countIf(type = 'TicketEscalated') > 0 AS escalated,
        argMaxIf(type, version, type NOT IN ('DeadlineWarned', 'TicketEscalated', 'PhoneViewed')) AS stage
    FROM {{db}}.ticket_event_facts
    WHERE occurred_at <= {ASOF} AND ({ticket_filter})
    GROUP BY ticket_id"""


def _bad_facts() -> str:
    """One row per bad review of the period known at T that happened in [from, to), with its
    ticket's facts at T."""
    w_closed, w_opened = working_days("tk.closed_at"), working_days("tk.opened_at")
    w_asof = working_days(ASOF)
    tickets = f"month = {MONTH} AND happened_at >= {FROM} AND happened_at < {TO}"
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
        FROM {{db}}.bad_reviews
        WHERE month = {MONTH} AND happened_at >= {FROM} AND happened_at < {TO} AND received_at <= {ASOF}
    ) AS r
    LEFT JOIN ({ticket_facts(tickets)}) AS tk ON tk.ticket_id = r.ticket_id"""


_GROUP = "department_id, hall_id, window_id"


def review_components() -> str:
    """Review components per window of the period's counted reviews known at T (invalidated ones
    included: the ticket side subtracts them), and the late ones among them."""
    sums = ", ".join(f"sum({k}) AS {k}" for k in REVIEW_SQL)
    raw = ", ".join(f"{expr} AS {k}" for k, expr in REVIEW_SQL.items())
    return f"""
    SELECT {_GROUP}, {sums}, sum(late) AS late
    FROM (
        SELECT {_GROUP}, {', '.join(REVIEW_SQL)}, if(received_hour >= {END}, reviews, 0) AS late
        FROM {{db}}.review_receipt_rollups
        WHERE month = {MONTH} AND received_hour < {HOUR}
        UNION ALL
        SELECT {_GROUP}, {raw}, countIf(received_at >= {END}) AS late
        FROM {{db}}.review_receipts
        WHERE received_at >= {HOUR} AND received_at <= {ASOF} AND month = {MONTH}
        GROUP BY {_GROUP}
    )
    GROUP BY {_GROUP}"""


def _day_ms(day: str, prefix: str = "wc") -> tuple[str, str]:
    """W at the start of `day` and the weight of its milliseconds (working_days' terms), as whole
    milliseconds."""
    idx = (f"toUInt32(greatest(1, least(length(%({prefix}_cum)s), "
           f"toInt64(toRelativeDayNum({day})) - %({prefix}_base)s + 1)))")
    return (f"toInt64(arrayElement(%({prefix}_cum)s, {idx})) * {MS_PER_DAY}",
            f"toInt64(arrayElement(%({prefix}_work)s, {idx}))")


def ticket_rollup_components() -> str:
    """Ticket components per window from the rollups, for every hour before T's (see
    sinks/ticket_rollups.py): the invalidated reviews' components, closed, on time, contacted,
    working milliseconds to close and overdue tickets."""
    sums = ", ".join(f"sum({k}) AS {k}" for k in TICKET_COMPONENTS)
    zeros = ", ".join(f"toInt64(0) AS {k}" for k in TICKET_COMPONENTS)
    day_base, day_weight = _day_ms("day")
    return f"""
    SELECT {_GROUP}, {', '.join(f'sum({k}) AS {k}' for k in (*TICKET_COMPONENTS, 'days_ms', 'overdue'))}
    FROM (
        SELECT {_GROUP}, {sums}, toInt64(0) AS days_ms, toInt64(0) AS overdue
        FROM {{db}}.ticket_rollups
        WHERE month = {MONTH} AND eff_hour < {HOUR}
        GROUP BY {_GROUP}
        UNION ALL
        SELECT {_GROUP}, {zeros}, sum(n * {day_base} + {day_weight} * ms) AS days_ms, toInt64(0) AS overdue
        FROM (
            SELECT {_GROUP}, day, sum(n) AS n, sum(ms) AS ms
            FROM {{db}}.ticket_rollup_days
            WHERE month = {MONTH} AND eff_hour < {HOUR}
            GROUP BY {_GROUP}, day
        )
        GROUP BY {_GROUP}
        UNION ALL
        SELECT {_GROUP}, {zeros}, toInt64(0) AS days_ms, sum(n) AS overdue
        FROM {{db}}.ticket_rollup_dues
        WHERE month = {MONTH} AND eff_hour < {HOUR}
        GROUP BY {_GROUP}
    )
    GROUP BY {_GROUP}"""


def _prefix_facts(p: str, cond: str) -> str:
    """A ticket's facts from its events matching cond, as ticket_facts() folds them."""
    return f""",
        countIf({cond} AND type = 'TicketOpened') > 0 AS {p}has,
        minIf(occurred_at, {cond} AND type = 'TicketOpened') AS {p}opened_at,
        argMaxIf(type, version, {cond} AND type IN ('TicketClosed', 'TicketReopened')) = 'TicketClosed' AS {p}closed,
        argMaxIf(occurred_at, version, {cond} AND type = 'TicketClosed') AS {p}closed_at,
        argMaxIf(due, version, {cond} AND type IN ('TicketOpened', 'TicketReopened')) AS {p}due,
        countIf({cond} AND upheld) > 0 AS {p}inv,
        countIf({cond} AND reached) > 0 AS {p}contacted"""


def corrected_tickets() -> str:
    """The tickets of the month the rollups cannot answer for at T (see ticket_corrections)."""
    return f"""
        SELECT ticket_id FROM {{db}}.ticket_event_index
        WHERE occurred_at >= {HOUR} AND occurred_at <= {ASOF} AND month = {MONTH}
        UNION DISTINCT
        SELECT ticket_id FROM {{db}}.ticket_due_index WHERE due >= {HOUR} AND due < {ASOF} AND month = {MONTH}
        UNION DISTINCT
        SELECT ticket_id FROM {{db}}.ticket_rollup_skewed WHERE month = {MONTH}"""


def corrected_count() -> str:
    return f"SELECT count() FROM ({corrected_tickets()})"


def ticket_corrections() -> str:
    """Per window, for the tickets the rollups cannot answer for at T (an event at or after T's
    hour H and by T, a deadline in [H, T), or skewed event times): their components at T (every
    event occurred <= T) minus what the rollups hold for them (the versions before the first one
    that occurred at or after H, overdue meaning a deadline before H)."""
    pick = corrected_tickets()
    t, h = ticket_components("t_"), ticket_components("h_")

    def days(p: str) -> str:
        closed = f"{p}has AND NOT {p}inv AND {BAD} AND {p}closed"
        span = f"{working_days(p + 'closed_at')} - {working_days(p + 'opened_at')}"
        return f"if({closed}, toInt64(round(({span}) * {MS_PER_DAY})), 0)"

    diffs = ",\n        ".join(f"sum({t[k]} - {h[k]}) AS {k}" for k in t)
    overdue = (f"sum(if({open_with_ticket('t_')} AND t_due < {ASOF}, 1, 0) - "
               f"if({open_with_ticket('h_')} AND h_due < {HOUR}, 1, 0)) AS overdue")
    # Looked up by (month, happened_at), the table's order: the ticket state has both
    where = (f"(month, happened_at) IN (SELECT month, happened_at FROM {{db}}.ticket_rollup_state "
             f"WHERE ticket_id IN ({pick})) AND ticket_id IN ({pick})")
    run = "OVER (PARTITION BY ticket_id ORDER BY version ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    return f"""
    SELECT {_GROUP},
        {diffs},
        sum({days('t_')} - {days('h_')}) AS days_ms,
        {overdue}
    FROM (
        SELECT ticket_id, any(department_id) AS department_id, any(hall_id) AS hall_id,
            any(window_id) AS window_id, any(rating) AS rating, any(real_name) AS real_name
            {_prefix_facts('t_', f'occurred_at <= {ASOF}')}{_prefix_facts('h_', 'before_hour')}
        FROM (
            SELECT *, max(occurred_at) {run} < {HOUR} AS before_hour
            FROM {{db}}.ticket_event_facts
            WHERE {where}
        )
        GROUP BY ticket_id
    )
    GROUP BY {_GROUP}"""


def open_tickets() -> str:
    """The open tickets of the reviews that happened in [from, to): the first `need` overdue ones
    and the first `need` others (parameter need), each in the report's order."""
    return f"""
    SELECT review_id, ticket_id, department_id, hall_id, window_id, rating, real_name, reasons,
           happened_at, received_at, has_ticket, opened_at, resolve_due, stage, is_contacted, escalated,
           days_open, has_ticket AND resolve_due < {ASOF} AS overdue
    FROM ({_bad_facts()})
    WHERE NOT invalidated AND NOT is_closed
    ORDER BY overdue DESC, happened_at, review_id
    LIMIT toUInt64(%(need)s) BY overdue"""


def carry_over() -> str:
    """Bad reviews of earlier months (known at T, valid at T) whose ticket is closed at T and whose
    closing (the latest TicketClosed <= T) falls in this month."""
    closed_here = (
        "ticket_id IN (SELECT ticket_id FROM {db}.ticket_event_index WHERE type = 'TicketClosed' "
        f"AND occurred_at >= {START} AND occurred_at < {END} AND occurred_at <= {ASOF} AND month < {MONTH})"
    )
    return f"""
    SELECT r.review_id AS review_id, tk.ticket_id AS ticket_id, r.department_id AS department_id,
           r.hall_id AS hall_id, r.window_id AS window_id, r.rating AS rating,
           r.happened_at AS happened_at, tk.opened_at AS opened_at, tk.closed_at AS closed_at,
           tk.resolution AS resolution, tk.closed_at <= tk.resolve_due AS on_time
    FROM ({ticket_facts(f"month < {MONTH} AND {closed_here}")}) AS tk
    INNER JOIN (
        SELECT review_id, assumeNotNull(ticket_id) AS ticket_id, department_id, hall_id, window_id, rating,
               happened_at
        FROM {{db}}.bad_reviews
        WHERE month < {MONTH} AND ticket_id IS NOT NULL AND happened_at < {START}
          AND received_at <= {ASOF} AND {closed_here}
    ) AS r ON r.ticket_id = tk.ticket_id
    WHERE tk.has_ticket AND tk.closed AND NOT tk.invalidated AND tk.closed_at >= {START} AND tk.closed_at < {END}
    ORDER BY closed_at, ticket_id"""
