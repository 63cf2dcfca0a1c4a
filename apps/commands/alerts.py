"""`haocha alerts list|ack ID`: bad-review spikes per service window, through the worker's API."""

from __future__ import annotations

import sys
import urllib.parse

from apps.commands import api
from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("alerts", help="bad-review spikes per service window (list, acknowledge)")
    p.add_argument("--token", default=None, help=f"bearer token (default: ${api.TOKEN_VARIABLE})")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="alerts, newest first (an officer sees the own department's)")
    ls.add_argument("--open", action="store_true", help="only alerts nobody acknowledged yet")
    ls.add_argument("--department", help="only this department's (managers, supervisors)")
    ls.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    ls.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ls.set_defaults(func=run_list)
    ack = actions.add_parser("ack", help="acknowledge an alert (staff; managers only read)")
    ack.add_argument("alert_id", metavar="ID")
    ack.add_argument("--note", default="", help="what was done about it")
    ack.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ack.set_defaults(func=run_ack)


def run_list(args) -> int:
    from apps.report.render_text import format_table

    settings = settings_mod.load()
    params = {"open": "true" if args.open else None, "department": args.department, "limit": args.limit}
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    status, answer = api.request(settings, "GET", f"/api/v1/alerts?{query}", bearer=api.token(args.token))
    if status != 200:
        return _refused("list", status, answer)
    if args.json:
        api.print_json(answer)
        return 0
    tz = settings.timezone
    body = [[a["alert_id"], a["window_id"], a["department_id"], api.local_time(a["window_start"], tz),
             f"{a['bad']}/{a['reviews']}",
             f"{a['acknowledged_by']} {api.local_time(a['acknowledged_at'], tz)}" if a.get("acknowledged_by") else "open"]
            for a in answer["alerts"]]
    print(format_table(["alert", "window", "department", "from", "bad/reviews", "acknowledged"], body,
                       [False, False, False, False, True, False]))
    n = len(body)
    print(f"{n} alert{'' if n == 1 else 's'}")
    return 0


def run_ack(args) -> int:
    settings = settings_mod.load()
    status, answer = api.request(settings, "POST", f"/api/v1/alerts/{urllib.parse.quote(args.alert_id, safe='')}/ack",
                                 {"note": args.note}, bearer=api.token(args.token))
    if status not in (200, 202):
        return _refused("ack", status, answer)
    if args.json:
        api.print_json(answer)
    else:
        print(f"alert {args.alert_id} acknowledged by {answer['by']} at "
              f"{api.local_time(answer['acknowledged_at'], settings.timezone)}")
    return 0


def _refused(action: str, status: int, answer: object) -> int:
    print(f"haocha alerts {action}: HTTP {status}: {api.refusal(answer)}", file=sys.stderr)
    return 1
