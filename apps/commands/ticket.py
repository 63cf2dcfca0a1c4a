"""`haocha ticket VERB`: the ticket API from the console, same verbs as the HTTP commands.

Talks to the worker's API (settings.worker_url) with the token in HAOCHA_API_TOKEN (or --token).
A verb prints one confirmation line (`--json`: the API's answer) and exits 0 when the ticket took
the command (or had already taken it), 1 when it refused; the reason goes to stderr.
"""

from __future__ import annotations

import sys
import time
import urllib.parse

from apps.commands import api
from haocha import settings as settings_mod
from haocha.domain.tickets import Status

STATES = [s.value for s in Status]
# verb -> (command kind, [(flag, field, argparse options)])
VERBS: dict[str, tuple[str, list[tuple[str, str, dict]]]] = {
    "claim": ("ClaimTicket", []),
    "assign": ("AssignTicket", [("--officer", "officer_id", {"required": True})]),
    "contact": ("RecordContact", [
        ("--reached", "reached", {"action": "store_true", "help": "the evaluator was reached (else an attempt)"}),
        ("--verdict", "verdict", {"choices": ["属实", "不属实"], "help": "属实 or 不属实 (with --reached)"}),
        ("--note", "note", {"default": ""})]),
    "rectify": ("RecordRectification", [
        ("--measures", "measures", {"required": True}),
        ("--evidence", "evidence", {"action": "append", "default": []})]),
    "feedback": ("GiveFeedback", [("--message", "message", {"required": True})]),
    "close": ("CloseTicket", []),
    "explain": ("ExplainPolicy", [("--explanation", "explanation", {"required": True})]),
    "appeal": ("FileAppeal", [
        ("--ground", "ground", {"required": True, "choices": ["mistaken", "malicious"],
                                "help": "mistaken or malicious"}),
        ("--argument", "argument", {"required": True})]),
    "decide": ("DecideAppeal", [
        ("--upheld", "upheld", {"action": "store_true", "help": "uphold the appeal (default: reject it)"}),
        ("--reason", "reason", {"required": True})]),
    "reopen": ("ReopenTicket", [
        ("--follow-up-review", "follow_up_review_id", {"required": True}),
        ("--rating", "rating", {"required": True, "type": int, "choices": range(1, 6), "help": "1 to 5"})]),
}
# What the ticket's status is called after an accepted command, for the confirmation line.
_DONE = {"ClaimTicket": "claimed", "AssignTicket": "assigned", "RecordContact": "contact recorded", "RecordRectification": "rectified",
         "GiveFeedback": "feedback given", "CloseTicket": "closed", "ExplainPolicy": "policy explained",
         "FileAppeal": "appeal filed", "DecideAppeal": "appeal decided", "ReopenTicket": "reopened"}


def register(sub) -> None:
    p = sub.add_parser("ticket", help="act on rectification tickets through the worker's API")
    p.add_argument("--token", default=None, help=f"bearer token (default: ${api.TOKEN_VARIABLE})")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (kind, fields) in VERBS.items():
        v = verbs.add_parser(verb, help=kind)
        v.add_argument("ticket_id")
        for flag, field, opts in fields:
            v.add_argument(flag, dest=field, **opts)
        v.add_argument("--expected-version", type=int, default=None)
        v.add_argument("--command-id", default=None, help="idempotency key, to resend safely")
        v.add_argument("--at", default=None, help="admin only: ISO business time")
        _json_flag(v)
        v.set_defaults(func=run_command, kind=kind, fields=[f for _, f, _ in fields])
    ls = verbs.add_parser("list", help="the queue, sorted by time left")
    ls.add_argument("--department", default=None)
    ls.add_argument("--window", default=None)
    ls.add_argument("--state", choices=STATES, default=None, metavar="STATE",
                    help=f"one of: {', '.join(STATES)}")
    ls.add_argument("--at", default=None, help="ISO time with offset: overdue as of then (default now)")
    ls.add_argument("--overdue", choices=["true", "false"], default=None)
    ls.add_argument("--limit", type=int, default=500)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("-q", "--quiet", action="store_true", help="ticket ids only, one a line")
    ls.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait up to SECONDS for at least one ticket (e.g. right after a review); exit 1 if none")
    _json_flag(ls)
    ls.set_defaults(func=run_list)
    show = verbs.add_parser("show", help="a ticket with its history")
    show.add_argument("ticket_id")
    show.add_argument("--fresh", action="store_true",
                      help="kept for old scripts: the detail reads the worker's table first anyway")
    _json_flag(show)
    show.set_defaults(func=run_show)
    phone = verbs.add_parser("phone", help="the evaluator's phone (handling officer only; recorded)")
    phone.add_argument("ticket_id")
    _json_flag(phone)
    phone.set_defaults(func=run_phone)
    sweep = verbs.add_parser("sweep", help="admin: check deadlines as of --at")
    sweep.add_argument("--at", default=None)
    _json_flag(sweep)
    sweep.set_defaults(func=run_sweep)


def _json_flag(p) -> None:
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")


def run_command(args) -> int:
    body = {"kind": args.kind, **{f: getattr(args, f) for f in args.fields}}
    if args.kind == "RecordContact" and not args.reached:
        body.pop("verdict", None)
    for key in ("expected_version", "command_id", "at"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    status, answer = call(args, "POST", f"/tickets/{_q(args.ticket_id)}/commands", body)
    ok = status == 200
    if args.json:
        api.print_json(answer)
    elif ok:
        events = ", ".join(e["type"] for e in answer.get("events", [])) or "nothing new"
        word = "already done" if answer.get("status") == "duplicate" else _DONE[args.kind]
        print(f"{args.ticket_id}: {word} ({events}, version {answer.get('version')})")
    if not ok:
        print(f"haocha ticket {args.verb}: {answer.get('status', status)}: {api.refusal(answer)}", file=sys.stderr)
    return 0 if ok else 1


def run_list(args) -> int:
    params = {k: getattr(args, k) for k in ("department", "window", "state", "at", "overdue", "limit", "offset")}
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    deadline = time.monotonic() + args.wait
    while True:
        status, answer = call(args, "GET", f"/tickets?{query}")
        if status != 200 or answer["tickets"] or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        api.print_json(answer)
    elif args.quiet:
        for tk in answer["tickets"]:
            print(tk["ticket_id"])
    else:
        _print_queue(answer)
    if args.wait and not answer["tickets"]:
        print(f"haocha ticket list: no ticket within {args.wait:g} s", file=sys.stderr)
        return 1
    return 0


def _print_queue(answer: dict) -> None:
    from apps.report.render_text import format_table

    tz = settings_mod.load().timezone
    body = []
    for tk in answer["tickets"]:
        left = tk.get("time_left_seconds")
        body.append([tk["ticket_id"], tk["status"], tk["department_id"], tk["window_id"], str(tk.get("rating", "")),
                     "、".join(tk.get("reasons") or ()), tk.get("officer_id") or "", api.local_time(tk.get("next_due"), tz),
                     "" if left is None else f"{left / 3600:+.1f}h" + (" OVERDUE" if tk.get("overdue") else "")])
    headers = ["ticket", "status", "department", "window", "rating", "reasons", "officer", "due", "time left"]
    if body:
        print(format_table(headers, body, [False] * 4 + [True] + [False] * 4))
    n = answer["total"]
    print(f"{n} ticket{'' if n == 1 else 's'}" + (f" (showing {len(body)})" if len(body) < n else ""))


def run_show(args) -> int:
    status, answer = call(args, "GET", f"/tickets/{_q(args.ticket_id)}" + ("?fresh=true" if args.fresh else ""))
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        api.print_json(answer)
        return 0
    tz = settings_mod.load().timezone
    tk = answer
    print(f"{tk['ticket_id']}  {tk['status']}  (version {tk.get('version')})")
    print(f"  department {tk['department_id']}, window {tk['window_id']}, hall {tk.get('hall_id', '')}; "
          f"rating {tk.get('rating')}" + (f", reasons {'、'.join(tk['reasons'])}" if tk.get("reasons") else ""))
    print(f"  review {tk.get('review_id', '')} at {api.local_time(tk.get('happened_at'), tz)}; "
          f"opened {api.local_time(tk.get('opened_at'), tz)}; officer {tk.get('officer_id') or '-'}")
    if tk.get("next_due"):
        print(f"  due {api.local_time(tk['next_due'], tz)}" + ("  OVERDUE" if tk.get("overdue") else ""))
    for e in tk.get("events", []):
        print(f"  {e.get('version'):>3} {api.local_time(e.get('occurred_at'), tz)}  {e['type']:<22} "
              f"{e.get('actor_role', '')}:{e.get('actor_id', '')}")
    return 0


def run_phone(args) -> int:
    status, answer = call(args, "POST", f"/tickets/{_q(args.ticket_id)}/phone", {})
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        api.print_json(answer)
    else:
        print(f"{args.ticket_id}: {answer['phone'] or '(no phone given)'}  (this view is recorded)")
    return 0


def run_sweep(args) -> int:
    status, answer = call(args, "POST", "/admin/sweep", {"at": args.at} if args.at else {})
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        api.print_json(answer)
    else:
        print(f"swept {answer.get('checked')} tickets: {answer.get('commands')} commands, "
              f"{answer.get('events')} events")
    return 0


def _refused(args, status: int, answer: object) -> int:
    if args.json:
        api.print_json(answer)
    print(f"haocha ticket {args.verb}: HTTP {status}: {api.refusal(answer)}", file=sys.stderr)
    return 1


def call(args, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    bearer = api.token(args.token)
    return api.request(settings_mod.load(), method, "/api/v1" + path, body, bearer=bearer)


def _q(ticket_id: str) -> str:
    return urllib.parse.quote(ticket_id, safe="")
