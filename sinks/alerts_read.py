"""Bad-review spike alerts as ClickHouse has them, with their first acknowledgement (the API's
read side; synchronous, run on the store's thread)."""

from __future__ import annotations

_ALERTS = """
SELECT a.alert_id, a.hall_id, a.window_id, a.department_id, a.window_start, a.window_end, a.reviews, a.bad,
       a.detected_at, k.ack_by AS acknowledged_by, k.ack_at AS acknowledged_at
FROM {db}.alerts AS a FINAL
LEFT JOIN (SELECT alert_id, argMin(by, acknowledged_at) AS ack_by, min(acknowledged_at) AS ack_at
           FROM {db}.alert_acks GROUP BY alert_id) AS k USING alert_id
WHERE (%(open)s = 0 OR k.alert_id = '') AND (%(department)s = '' OR a.department_id = %(department)s)
ORDER BY a.detected_at DESC LIMIT %(limit)s
"""


def list_alerts(store, open_only: bool, department: str, limit: int) -> list[dict]:
    """Newest first; `department` "" for every department."""
    rows = store.query_dicts(_ALERTS, {"open": 1 if open_only else 0, "department": department, "limit": limit})
    for r in rows:
        if not r.get("acknowledged_by"):  # the LEFT JOIN's defaults: not acknowledged
            r["acknowledged_by"] = r["acknowledged_at"] = None
    return rows


def alert_scope(store, alert_id: str) -> tuple[str, str] | None:
    """(window_id, department_id) of the alert, None if there is no such alert."""
    found = store.query("SELECT window_id, department_id FROM {db}.alerts WHERE alert_id = %(a)s", {"a": alert_id})
    return tuple(found[0]) if found else None
