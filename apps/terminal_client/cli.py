"""`haocha terminal-client send|drain|status`: the store-and-forward client from a shell.

Identity comes from flags or the environment (HAOCHA_TERMINAL_GATEWAY, HAOCHA_TERMINAL_ID,
HAOCHA_TERMINAL_KEY or HAOCHA_TERMINAL_KEY_FILE, HAOCHA_TERMINAL_QUEUE), so a pad's service file
holds them once. Without HAOCHA_TERMINAL_GATEWAY the gateway is where the gateway itself listens
(HAOCHA_GATEWAY_HOST / HAOCHA_GATEWAY_PORT).

Exit codes of `send` and `drain`: 0 everything sent, 1 the gateway rejected a review for good (it
left the queue; `status --rejected` lists it), 2 the gateway refuses this terminal, 3 the gateway
did not answer (the reviews stay queued for `drain`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from apps.terminal_client.client import GatewayClient, Queue, StoreAndForward, TerminalMisconfigured, Unreachable
from apps.terminal_client.review import new_review
from apps.terminal_client.signing import ALGORITHMS


EXIT_REJECTED, EXIT_REFUSED_TERMINAL, EXIT_UNREACHABLE = 1, 2, 3


def default_gateway() -> str:
    """The gateway's own variables (those of haocha.settings, read here directly: a pad ships only
    this package), so the client finds a gateway started on another port."""
    env = os.environ.get
    if env("HAOCHA_TERMINAL_GATEWAY"):
        return env("HAOCHA_TERMINAL_GATEWAY")
    host = env("HAOCHA_GATEWAY_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{host}:{env('HAOCHA_GATEWAY_PORT') or 8081}"


def register(sub) -> None:
    add_actions(sub.add_parser("terminal-client", help="store-and-forward client of a hall terminal"))


def add_actions(p: argparse.ArgumentParser) -> None:
    csub = p.add_subparsers(dest="client_command", required=True, metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        env = os.environ.get
        q.add_argument("--gateway", default=default_gateway(),
                       help="gateway URL (default: $HAOCHA_TERMINAL_GATEWAY, else HAOCHA_GATEWAY_HOST:PORT)")
        q.add_argument("--terminal-id", default=env("HAOCHA_TERMINAL_ID"))
        q.add_argument("--key", default=env("HAOCHA_TERMINAL_KEY"), help="prefer --key-file: argv is visible in ps")
        q.add_argument("--key-file", default=env("HAOCHA_TERMINAL_KEY_FILE"))
        q.add_argument("--alg", choices=ALGORITHMS, default=env("HAOCHA_TERMINAL_ALG", ALGORITHMS[0]))
        q.add_argument("--queue", default=env("HAOCHA_TERMINAL_QUEUE", "terminal-queue.sqlite"))
        q.add_argument("--timeout", type=float, default=15.0)

    s = csub.add_parser("send", help="queue a review (or a JSON file of them) and try to send")
    common(s)
    s.add_argument("--file", help="JSON review, JSON list, or JSON lines; '-' reads stdin")
    s.add_argument("--hall")
    s.add_argument("--window")
    s.add_argument("--rating", type=int, choices=range(1, 6))
    s.add_argument("--channel", default="pad")
    s.add_argument("--case-no")
    s.add_argument("--reason", action="append", default=[])
    s.add_argument("--comment")
    s.add_argument("--phone")
    s.add_argument("--review-id")
    s.add_argument("--happened-at", help="ISO time with offset; default now")
    s.add_argument("--no-send", action="store_true", help="only queue")
    s.set_defaults(func=cmd_send)

    d = csub.add_parser("drain", help="send the queue in order, with backoff while the gateway is away")
    common(d)
    d.add_argument("--once", action="store_true", help="one pass: stop when the gateway does not answer")
    d.add_argument("--max-seconds", type=float)
    d.add_argument("--batch-size", type=int, default=50)
    d.add_argument("--pause", type=float, default=0.0, help="seconds between requests (be gentle)")
    d.add_argument("--backoff-max", type=float, default=300.0)
    d.set_defaults(func=cmd_drain)

    st = csub.add_parser("status", help="queue counts (and the gateway's view with --online)")
    common(st)
    st.add_argument("--online", action="store_true")
    st.add_argument("--rejected", action="store_true", help="list reviews the gateway refused for good")
    st.set_defaults(func=cmd_status)


def _client(args) -> GatewayClient:
    key = args.key
    if not key and args.key_file:
        key = Path(args.key_file).read_text().strip()
    if not args.terminal_id or not key:
        raise SystemExit("terminal-client: --terminal-id and --key/--key-file (or HAOCHA_TERMINAL_*) are required")
    return GatewayClient(args.gateway, args.terminal_id, key, alg=args.alg, timeout=args.timeout)


def _reviews(args) -> list[dict]:
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
            return data if isinstance(data, list) else [data]
        except ValueError:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    if not (args.hall and args.window and args.rating):
        raise SystemExit("terminal-client send: --file, or --hall, --window and --rating")
    happened = datetime.fromisoformat(args.happened_at) if args.happened_at else None
    return [new_review(args.terminal_id, args.hall, args.window, rating=args.rating, channel=args.channel,
                       case_no=args.case_no, reasons=args.reason, comment=args.comment, phone=args.phone,
                       review_id=args.review_id, happened_at=happened)]


def cmd_send(args) -> int:
    saf = StoreAndForward(_client(args), Queue(args.queue))
    ids = [saf.queue.enqueue(r) for r in _reviews(args)]
    print(json.dumps({"queued": ids}))
    if args.no_send:
        return 0
    try:
        res = saf.drain(until_empty=False)
    except TerminalMisconfigured as exc:
        print(f"terminal-client: queued, but the gateway at {args.gateway} refuses this terminal: {exc}",
              file=sys.stderr)
        return EXIT_REFUSED_TERMINAL
    print(json.dumps({"sent": res.sent, "rejected": res.rejected, "pending": res.remaining, "stopped": res.stopped}))
    for rid in ids:  # what the gateway said about these (hints: 一次一评, repeat press)
        if rid in res.answers:
            print(json.dumps({"review_id": rid, **res.answers[rid]}, ensure_ascii=False))
    return _outcome(args, res)


def cmd_drain(args) -> int:
    saf = StoreAndForward(_client(args), Queue(args.queue), batch_size=args.batch_size, backoff_max=args.backoff_max)
    try:
        res = saf.drain(until_empty=not args.once, max_seconds=args.max_seconds, pause=args.pause)
    except TerminalMisconfigured as exc:
        print(f"terminal-client: the gateway at {args.gateway} refuses this terminal: {exc}", file=sys.stderr)
        return EXIT_REFUSED_TERMINAL
    print(json.dumps({"sent": res.sent, "rejected": res.rejected, "pending": res.remaining, "stopped": res.stopped}))
    return _outcome(args, res)


def _outcome(args, res) -> int:
    """Say on stderr what the counts mean; the exit code says it to scripts."""
    if res.rejected:
        refused = [f"{rid}: {a.get('error')} {a.get('detail', '')}".strip() for rid, a in res.answers.items()
                   if a.get("error")]
        print(f"terminal-client: the gateway rejected {res.rejected} review(s) for good: " + "; ".join(refused),
              file=sys.stderr)
        return EXIT_REJECTED
    if res.remaining:
        why = f" ({res.errors[-1]})" if res.errors else ""
        print(f"terminal-client: the gateway at {args.gateway} did not answer{why}; {res.remaining} review(s) "
              f"stay queued in {args.queue}: send them later with `terminal-client drain`", file=sys.stderr)
        return EXIT_UNREACHABLE
    return 0


def cmd_status(args) -> int:
    q = Queue(args.queue)
    out: dict = {"queue": str(q.path), **q.counts()}
    if args.rejected:
        out["rejected_reviews"] = q.rejected()
    if args.online:
        try:
            r = _client(args).whoami()
            out["gateway"] = r.body
        except Unreachable as exc:
            out["gateway"] = {"error": "unreachable", "detail": str(exc)}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
