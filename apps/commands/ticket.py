"""`haocha ticket VERB`: the ticket API from the console, same verbs as the HTTP commands.

Talks to the worker's API (settings.worker_url) with the token in HAOCHA_API_TOKEN (or HAOCHA_TOKEN, or --token).
Prints the JSON answer; the exit code is 0 for accepted/duplicate, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from haocha import settings as settings_mod

# verb -> (command kind, [(flag, field, argparse options)])
VERBS: dict[str, tuple[str, list[tuple[str, str, dict]]]] = {
    "assign": ("AssignTicket", [("--officer", "officer_id", {"required": True})]),
    "contact": ("RecordContact", [
        ("--reached", "reached", {"action": "store_true", "help": "the evaluator was reached (else an attempt)"}),
        ("--verdict", "verdict", {"choices": ["属实", "不属实"]}),
        ("--note", "note", {"default": ""})]),
    "rectify": ("RecordRectification", [
        ("--measures", "measures", {"required": True}),
        ("--evidence", "evidence", {"action": "append", "default": []})]),
    "feedback": ("GiveFeedback", [("--message", "message", {"required": True})]),
    "close": ("CloseTicket", []),
    "explain": ("ExplainPolicy", [("--explanation", "explanation", {"required": True})]),
    "appeal": ("FileAppeal", [
        ("--ground", "ground", {"required": True, "choices": ["mistaken", "malicious"]}),
        ("--argument", "argument", {"required": True})]),
    "decide": ("DecideAppeal", [
        ("--upheld", "upheld", {"action": "store_true", "help": "uphold the appeal (default: reject it)"}),
        ("--reason", "reason", {"required": True})]),
    "reopen": ("ReopenTicket", [
        ("--follow-up-review", "follow_up_review_id", {"required": True}),
        ("--rating", "rating", {"required": True, "type": int})]),
}


def register(sub) -> None:
    p = sub.add_parser("ticket", help="act on rectification tickets through the worker's API")
    p.add_argument("--token", default=None, help="bearer token (default: $HAOCHA_API_TOKEN)")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (kind, fields) in VERBS.items():
        v = verbs.add_parser(verb, help=kind)
        v.add_argument("ticket_id")
        for flag, field, opts in fields:
            v.add_argument(flag, dest=field, **opts)
        v.add_argument("--expected-version", type=int, default=None)
        v.add_argument("--command-id", default=None, help="idempotency key, to resend safely")
        v.add_argument("--at", default=None, help="admin only: ISO business time")
        v.set_defaults(func=run_command, kind=kind, fields=[f for _, f, _ in fields])
    ls = verbs.add_parser("list", help="the queue, sorted by time left")
    for name in ("department", "window", "state", "at"):
        ls.add_argument(f"--{name}", default=None)
    ls.add_argument("--overdue", choices=["true", "false"], default=None)
    ls.add_argument("--limit", type=int, default=500)
    ls.add_argument("--offset", type=int, default=0)
    ls.set_defaults(func=run_list)
    show = verbs.add_parser("show", help="a ticket with its history")
    show.add_argument("ticket_id")
    show.add_argument("--fresh", action="store_true", help="read the worker's table (no sink lag)")
    show.set_defaults(func=run_show)
    phone = verbs.add_parser("phone", help="the evaluator's phone (handling officer only; recorded)")
    phone.add_argument("ticket_id")
    phone.set_defaults(func=run_phone)
    sweep = verbs.add_parser("sweep", help="admin: check deadlines as of --at")
    sweep.add_argument("--at", default=None)
    sweep.set_defaults(func=run_sweep)


def run_command(args) -> int:
    body = {"kind": args.kind, **{f: getattr(args, f) for f in args.fields}}
    if args.kind == "RecordContact" and not args.reached:
        body.pop("verdict", None)
    for key in ("expected_version", "command_id", "at"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    status, answer = call(args, "POST", f"/tickets/{_q(args.ticket_id)}/commands", body)
    return _print(answer, ok=status == 200)


def run_list(args) -> int:
    params = {k: getattr(args, k) for k in ("department", "window", "state", "at", "overdue", "limit", "offset")}
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    status, answer = call(args, "GET", f"/tickets?{query}")
    if status != 200:
        return _print(answer, ok=False)
    for tk in answer["tickets"]:
        left = tk["time_left_seconds"]
        left_s = "-" if left is None else f"{left / 3600:+.1f}h"
        print(f"{tk['ticket_id']:28} {tk['status']:15} {tk['department_id']:14} {tk['window_id']:10} "
              f"{left_s:>10} {'OVERDUE' if tk['overdue'] else ''}")
    print(f"{answer['total']} tickets")
    return 0


def run_show(args) -> int:
    status, answer = call(args, "GET", f"/tickets/{_q(args.ticket_id)}" + ("?fresh=true" if args.fresh else ""))
    return _print(answer, ok=status == 200)


def run_phone(args) -> int:
    status, answer = call(args, "POST", f"/tickets/{_q(args.ticket_id)}/phone", {})
    return _print(answer, ok=status == 200)


def run_sweep(args) -> int:
    status, answer = call(args, "POST", "/admin/sweep", {"at": args.at} if args.at else {})
    return _print(answer, ok=status == 200)


def call(args, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    token = args.token or os.environ.get("HAOCHA_API_TOKEN") or os.environ.get("HAOCHA_TOKEN")
    if not token:
        raise SystemExit("haocha ticket: no token: set HAOCHA_TOKEN or pass --token")
    url = settings_mod.load().worker_url.rstrip("/") + "/api/v1" + path
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except urllib.error.URLError as exc:
        raise RuntimeError(f"the worker's API at {url} is not reachable: {exc.reason}") from None


def _q(ticket_id: str) -> str:
    return urllib.parse.quote(ticket_id, safe="")


def _print(answer: dict, ok: bool) -> int:
    json.dump(answer, sys.stdout, ensure_ascii=False, indent=2, default=str)
    print()
    return 0 if ok else 1
