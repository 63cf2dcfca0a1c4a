"""The monthly report's ticket rollups: the ticket components per service window, as of any T.

Filled by materialized views on ticket_events, so every insert path (the writer, `haocha rebuild`,
a direct INSERT) keeps them up to date.

`ticket_rollups` (+ `_days`, `_dues`) hold the ticket components as signed changes. Each ticket event
  v adds c(S_v) - c(S_{v-1}) at the hour of its effective time (the running maximum of occurred_at
  over versions 1..v), so the rows of hours < H sum, per ticket, to c(state after the versions
  before the first one that occurred at or after H). The view folds a block's events onto the
  ticket's previous state, kept in `ticket_rollup_state` (EmbeddedRocksDB: one key lookup per
  ticket, whatever the table's size). `ticket_event_index`, `ticket_due_index` and
  `ticket_rollup_skewed` name the tickets the rollups cannot answer for at T: an event in
  [H, T], a deadline in [H, T), or an event that occurred before an earlier version. The report
  folds those few from raw events (sinks/report_sql.py), so the as-of rule stays exact.

Events must reach the store in version order per ticket (the writer and rebuild read one partition
per ticket, in order); an event at or below the version already folded is a replayed copy and is
skipped.
"""

from __future__ import annotations

from sinks.sql import BAD, GOOD, REVIEW_SQL, SCORE

MONTH = "toStartOfMonth(happened_at)"
ZERO_TIME = "toDateTime64(0, 3, '{tz}')"
FOREVER = "toDateTime64('2299-12-31 00:00:00', 3, '{tz}')"

# Per ticket state columns kept between blocks (and carried as o_*/n_* on each transition).
STATE_COLUMNS = {
    "has": "Bool",
    "inv": "Bool",
    "contacted": "Bool",
    "closed": "Bool",
    "opened_at": "DateTime64(3, '{tz}')",
    "closed_at": "DateTime64(3, '{tz}')",
    "due": "DateTime64(3, '{tz}')",
}
ATTR_COLUMNS = {
    "month": "Date",
    "happened_at": "DateTime64(3, '{tz}')",
    "department_id": "String",
    "hall_id": "String",
    "window_id": "String",
    "rating": "UInt8",
    "real_name": "Bool",
}


def ticket_components(p: str) -> dict[str, str]:
    """The T-independent ticket components of one ticket's state (columns prefixed p), for the
    report's bad reviews: split as the report splits them (invalidated at T, or not)."""
    valid = f"{p}has AND NOT {p}inv AND {BAD}"
    gone = f"{p}has AND {p}inv"
    return {
        "inv_reviews": f"toInt64({gone})",
        "inv_good": f"toInt64({gone} AND {GOOD})",
        "inv_bad": f"toInt64({gone} AND {BAD})",
        "inv_score_sum": f"toInt64({gone}) * toInt64({SCORE})",
        "inv_real_name_bad": f"toInt64({gone} AND {BAD} AND real_name)",
        "closed": f"toInt64({valid} AND {p}closed)",
        "closed_on_time": f"toInt64({valid} AND {p}closed AND {p}closed_at <= {p}due)",
        "contacted": f"toInt64({valid} AND real_name AND {p}contacted)",
    }


TICKET_COMPONENTS = tuple(ticket_components(""))


def open_with_ticket(p: str) -> str:
    """Open at the state (not invalidated, not closed) with a ticket: overdue once its due passes."""
    return f"toInt64({p}has AND NOT {p}inv AND {BAD} AND NOT {p}closed)"


def _parse_time(field: str) -> str:
    return f"parseDateTime64BestEffortOrZero(JSONExtractString(payload, '{field}'), 3, '{{tz}}')"


def _transitions_select(source: str) -> str:
    """Each new event of `source` with the ticket's state before and after it."""
    s = "s_"
    run = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"

    def running(frame: str, p: str) -> str:
        w = f"OVER (PARTITION BY ticket_id ORDER BY version {frame})"
        opened = f"min(ev_opened_at) {w}"
        return f""",
        ({s}has OR max(is_opened) {w}) AS {p}has,
        ({s}inv OR max(ev_upheld) {w}) AS {p}inv,
        ({s}contacted OR max(ev_reached) {w}) AS {p}contacted,
        ifNull(anyLast(ev_closing) {w}, {s}closed) AS {p}closed,
        if({s}has, least({s}opened_at, ifNull({opened}, {s}opened_at)), ifNull({opened}, {ZERO_TIME})) AS {p}opened_at,
        ifNull(anyLast(ev_closed_at) {w}, {s}closed_at) AS {p}closed_at,
        ifNull(anyLast(ev_due) {w}, {s}due) AS {p}due,
        greatest({s}eff, ifNull(max(toNullable(occurred_at)) {w}, {s}eff)) AS {p}eff"""

    attrs = ",\n        ".join(
        f"ifNull(anyLast(ev_{k}) OVER (PARTITION BY ticket_id ORDER BY version {run}), {s}{k}) AS {k}"
        for k in ATTR_COLUMNS)
    nul = "CAST(NULL, 'Nullable(String)')"
    return f"""
SELECT ticket_id, version, type, occurred_at, ev_upheld AS upheld, ev_reached AS reached,
        ifNull(ev_due, {ZERO_TIME}) AS due, resolution,
        {attrs}{running(run, 'n_')}{running(before, 'o_')}
FROM (
    SELECT e.ticket_id AS ticket_id, e.version AS version, e.type AS type, e.occurred_at AS occurred_at,
        {', '.join(f's.{k} AS s_{k}' for k in ('version', 'eff', *STATE_COLUMNS, *ATTR_COLUMNS))},
        e.type = 'TicketOpened' AS is_opened,
        e.type = 'AppealDecided' AND JSONExtractBool(payload, 'upheld') AS ev_upheld,
        e.type = 'ContactRecorded' AND JSONExtractBool(payload, 'reached') AS ev_reached,
        if(e.type = 'TicketClosed', JSONExtractString(payload, 'resolution'), '') AS resolution,
        if(e.type IN ('TicketClosed', 'TicketReopened'), toNullable(e.type = 'TicketClosed'), NULL) AS ev_closing,
        if(e.type = 'TicketOpened', toNullable(e.occurred_at), NULL) AS ev_opened_at,
        if(e.type = 'TicketClosed', toNullable(e.occurred_at), NULL) AS ev_closed_at,
        if(e.type IN ('TicketOpened', 'TicketReopened'), toNullable({_parse_time('resolve_due')}), NULL) AS ev_due,
        if(e.type = 'TicketOpened', toNullable({_parse_time('happened_at')}), NULL) AS ev_happened_at,
        toStartOfMonth(ev_happened_at) AS ev_month,
        if(e.type = 'TicketOpened', toNullable(JSONExtractString(payload, 'department_id')), {nul}) AS ev_department_id,
        if(e.type = 'TicketOpened', toNullable(JSONExtractString(payload, 'hall_id')), {nul}) AS ev_hall_id,
        if(e.type = 'TicketOpened', toNullable(JSONExtractString(payload, 'window_id')), {nul}) AS ev_window_id,
        if(e.type = 'TicketOpened', toNullable(toUInt8(JSONExtractInt(payload, 'rating'))), NULL) AS ev_rating,
        if(e.type = 'TicketOpened', toNullable(JSONExtractBool(payload, 'real_name')), NULL) AS ev_real_name
    FROM {source} AS e
    LEFT JOIN {{db}}.ticket_rollup_state AS s ON s.ticket_id = e.ticket_id
    WHERE e.version > s.version
)"""


def _ms_of_day(col: str) -> str:
    return f"(toUnixTimestamp64Milli({col}) - toUnixTimestamp(toStartOfDay({col})) * 1000)"


_KEY = "month, department_id, hall_id, window_id"
_KEY_COLUMNS = [
    "    month          Date,",
    "    department_id  LowCardinality(String),",
    "    hall_id        LowCardinality(String),",
    "    window_id      LowCardinality(String),",
    "    eff_hour       DateTime('{tz}'),",
]


def _table(name: str, extra: list[str], sums: list[str], order: str) -> list[str]:
    cols = _KEY_COLUMNS + extra + [f"    {k:<14} SimpleAggregateFunction(sum, Int64)," for k in sums]
    cols[-1] = cols[-1].rstrip(",")
    return [f"CREATE TABLE IF NOT EXISTS {{db}}.{name}", "(", *cols, ")", "ENGINE = AggregatingMergeTree",
            f"ORDER BY ({order});", ""]


def _view(name: str, target: str, select: str) -> list[str]:
    return [f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{name} TO {{db}}.{target} AS", f"{select};", ""]


def ticket_rollup_schema_sql() -> list[str]:
    state_cols = [f"    {k:<14} {t}," for k, t in {**STATE_COLUMNS, **ATTR_COLUMNS}.items()]
    both = [f"    {p}{k:<12} {t}," for p in ("n_", "o_") for k, t in {**STATE_COLUMNS, "eff": "DateTime64(3, '{tz}')"}.items()]
    attr_cols = [f"    {k:<14} {t}," for k, t in ATTR_COLUMNS.items()]
    out = [
        "-- Ticket rollups for the monthly report (sinks/ticket_rollups.py): signed changes of each",
        "-- ticket's components per service window and hour of effective time, as of any T.",
        "",
        "CREATE TABLE IF NOT EXISTS {db}.ticket_rollup_state",
        "(",
        "    ticket_id      String,",
        "    version        UInt32,",
        "    eff            DateTime64(3, '{tz}'),",
        *state_cols[:-1], state_cols[-1].rstrip(","),
        ")",
        "ENGINE = EmbeddedRocksDB",
        "PRIMARY KEY ticket_id;",
        "",
        "CREATE TABLE IF NOT EXISTS {db}.ticket_transitions",
        "(",
        "    ticket_id      String,",
        "    version        UInt32,",
        "    type           String,",
        "    occurred_at    DateTime64(3, '{tz}'),",
        "    upheld         Bool,",
        "    reached        Bool,",
        "    due            DateTime64(3, '{tz}'),",
        "    resolution     String,",
        *attr_cols,
        *both[:-1], both[-1].rstrip(","),
        ")",
        "ENGINE = Null;",
        "",
    ]
    out += _view("ticket_transitions_mv", "ticket_transitions", _transitions_select("{db}.ticket_events"))
    keep = ", ".join(f"argMax(n_{k}, v) AS {k}" for k in ("eff", *STATE_COLUMNS))
    attrs = ", ".join(f"argMax({k}, v) AS {k}" for k in ATTR_COLUMNS)
    out += _view("ticket_rollup_state_mv", "ticket_rollup_state",
                 f"SELECT ticket_id, max(v) AS version, {keep},\n    {attrs}\n"
                 "FROM (SELECT *, version AS v FROM {db}.ticket_transitions)\nGROUP BY ticket_id")

    new, old = ticket_components("n_"), ticket_components("o_")
    out += _table("ticket_rollups", [], list(new), f"{_KEY}, eff_hour")
    sums = ",\n    ".join(f"sum({new[k]} - {old[k]}) AS {k}" for k in new)
    changed = " OR ".join(f"{k} != 0" for k in new)
    out += _view("ticket_rollups_mv", "ticket_rollups",
                 f"SELECT {_KEY}, toStartOfHour(n_eff) AS eff_hour,\n    {sums}\n"
                 f"FROM {{db}}.ticket_transitions\nGROUP BY {_KEY}, eff_hour\nHAVING {changed}")

    # Working days opened -> closed, summed as W(closed) - W(opened): W(t) is the working days
    # before t's day plus t's elapsed milliseconds on a working day, so per day the count and the
    # milliseconds are enough for any calendar given at query time.
    cn, co = new["closed"], old["closed"]
    terms = ", ".join(
        f"(toDate({p}{col}), {sign}({c}), {_ms_of_day(p + col)})"
        for p, col, sign, c in (("n_", "closed_at", "", cn), ("n_", "opened_at", "-", cn),
                                ("o_", "closed_at", "-", co), ("o_", "opened_at", "", co)))
    out += _table("ticket_rollup_days", ["    day            Date,"], ["n", "ms"], f"{_KEY}, eff_hour, day")
    out += _view("ticket_rollup_days_mv", "ticket_rollup_days",
                 f"SELECT {_KEY}, toStartOfHour(n_eff) AS eff_hour, term.1 AS day,\n"
                 "    sum(term.2) AS n, sum(term.2 * term.3) AS ms\n"
                 f"FROM {{db}}.ticket_transitions\nARRAY JOIN [{terms}] AS term\nWHERE term.2 != 0\n"
                 f"GROUP BY {_KEY}, eff_hour, day")

    # Overdue at T: open with a ticket and due < T. A row counts once both its effective hour and
    # its deadline's hour are before H, so it is keyed by the later of the two.
    dues = (f"(greatest(toStartOfHour(n_eff), toStartOfHour(n_due)), {open_with_ticket('n_')}), "
            f"(greatest(toStartOfHour(n_eff), toStartOfHour(o_due)), -{open_with_ticket('o_')})")
    out += _table("ticket_rollup_dues", [], ["n"], f"{_KEY}, eff_hour")
    out += _view("ticket_rollup_dues_mv", "ticket_rollup_dues",
                 f"SELECT {_KEY}, term.1 AS eff_hour, sum(term.2) AS n\n"
                 f"FROM {{db}}.ticket_transitions\nARRAY JOIN [{dues}] AS term\nWHERE term.2 != 0\n"
                 f"GROUP BY {_KEY}, eff_hour")

    out += [
        "-- Each event's facts, parsed, by review month and time: what the report folds per ticket",
        "-- (open tickets, carry-over, the tickets the rollups cannot answer for).",
        "CREATE TABLE IF NOT EXISTS {db}.ticket_event_facts",
        "(",
        "    month          Date,",
        "    happened_at    DateTime64(3, '{tz}'),",
        "    ticket_id      String,",
        "    version        UInt32,",
        "    type           LowCardinality(String),",
        "    occurred_at    DateTime64(3, '{tz}'),",
        "    upheld         Bool,",
        "    reached        Bool,",
        "    due            DateTime64(3, '{tz}'),",
        "    resolution     LowCardinality(String),",
        "    department_id  LowCardinality(String),",
        "    hall_id        LowCardinality(String),",
        "    window_id      LowCardinality(String),",
        "    rating         UInt8,",
        "    real_name      Bool",
        ")",
        "ENGINE = MergeTree",
        "ORDER BY (month, happened_at, ticket_id, version);",
        "",
    ]
    out += _view("ticket_event_facts_mv", "ticket_event_facts",
                 "SELECT month, happened_at, ticket_id, version, type, occurred_at, upheld, reached, due, resolution,\n"
                 "    department_id, hall_id, window_id, rating, real_name\nFROM {db}.ticket_transitions")

    out += [
        "-- Which tickets the rollups cannot answer for at T: an event at or after H (T's hour),",
        "-- a deadline in [H, T), an event that occurred before an earlier version (skewed).",
        "CREATE TABLE IF NOT EXISTS {db}.ticket_event_index",
        "(",
        "    occurred_at    DateTime64(3, '{tz}'),",
        "    month          Date,",
        "    ticket_id      String,",
        "    type           LowCardinality(String)",
        ")",
        "ENGINE = MergeTree",
        "ORDER BY occurred_at;",
        "",
    ]
    out += _view("ticket_event_index_mv", "ticket_event_index",
                 "SELECT occurred_at, month, ticket_id, type FROM {db}.ticket_transitions")
    out += [
        "CREATE TABLE IF NOT EXISTS {db}.ticket_due_index",
        "(",
        "    due            DateTime64(3, '{tz}'),",
        "    month          Date,",
        "    ticket_id      String",
        ")",
        "ENGINE = MergeTree",
        "ORDER BY due;",
        "",
    ]
    out += _view("ticket_due_index_mv", "ticket_due_index",
                 "SELECT n_due AS due, month, ticket_id FROM {db}.ticket_transitions\n"
                 "WHERE type IN ('TicketOpened', 'TicketReopened')")
    out += [
        "CREATE TABLE IF NOT EXISTS {db}.ticket_rollup_skewed",
        "(",
        "    month          Date,",
        "    ticket_id      String",
        ")",
        "ENGINE = ReplacingMergeTree",
        "ORDER BY (month, ticket_id);",
        "",
    ]
    out += _view("ticket_rollup_skewed_mv", "ticket_rollup_skewed",
                 "SELECT month, ticket_id FROM {db}.ticket_transitions WHERE occurred_at < o_eff")
    out += [
        "-- Backfill once when the views are new on a store that already holds ticket events.",
        "INSERT INTO {db}.ticket_transitions",
        _transitions_select("(SELECT * FROM {db}.ticket_events\n"
                            "      WHERE (SELECT count() FROM {db}.ticket_event_index) = 0)").strip() + ";",
        "",
    ]
    return out
