"""`haocha check`: every read model in ClickHouse against a fold of the Kafka log (sinks/check.py).

The embedded store opens in one process at a time: when a worker answers, it runs the check
(`GET /api/v1/admin/check`, an admin's token); otherwise the store is opened here."""

from __future__ import annotations

import json
import sys

from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("check", help="compare every read model (tickets, reviews, dead letters, alerts) with the log",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    p.add_argument("--list-crash-points", action="store_true",
                   help="list the worker's named crash points (HAOCHA_CRASH_AT, streams/crashpoints.py) and exit")
    p.add_argument("--token", default=None, help="an admin's API token when a worker runs (default: HAOCHA_API_TOKEN, else HAOCHA_ADMIN_TOKEN)")
    p.set_defaults(func=run)


def _worker_answer(s, explicit_token: str | None) -> dict | None:
    from apps.commands import api

    try:
        status, answer = api.request(s, "GET", "/api/v1/admin/check",
                                     bearer=api.token(explicit_token, required=False) or _admin(s), timeout=600)
    except api.Unreachable:
        return None  # no worker: the store is ours to open
    if status != 200:
        raise SystemExit(f"haocha check: the worker answered {status}: {api.refusal(answer)}")
    return answer


def _admin(s) -> str | None:
    return s.admin_token.get_secret_value() if s.admin_token else None


def crash_points(settings) -> list[str]:
    """Every crash point the worker's agents declare: the worker is built (not started), so a new
    agent's points are listed as soon as the composition root registers it."""
    from apps.bootstrap import build_stream_app
    from streams import crashpoints

    build_stream_app(settings, with_store=False)
    return sorted(crashpoints.KNOWN)


def run(args) -> int:
    from sinks.check import report_lines, run_local

    s = settings_mod.load()
    if args.list_crash_points:
        print("\n".join(crash_points(s)))
        return 0
    result = _worker_answer(s, args.token)
    if result is None:
        from sinks.clickhouse import ClickHouseStore

        store = ClickHouseStore(s.dsn, s.clickhouse_database, s.timezone)
        try:
            result = run_local(s, store)
        finally:
            store.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print("\n".join(report_lines(result)))
        print("every read model equals the fold of the log" if result["ok"] else "read models DIFFER from the log",
              file=sys.stderr)
    return 0 if result["ok"] else 1
