"""Console commands of the gateway: `haocha gateway`, `haocha terminal register|list|revoke`, and
(delegated) `haocha terminal-client`."""

from __future__ import annotations

import asyncio
import json
import logging

from haocha.settings import Settings
from schemas.review import Channel


def register(sub) -> None:
    g = sub.add_parser("gateway", help="serve the terminal HTTP gateway (its own process; scale out freely)")
    g.add_argument("--host", help="default HAOCHA_GATEWAY_HOST")
    g.add_argument("--port", type=int, help="default HAOCHA_GATEWAY_PORT")
    g.set_defaults(func=cmd_gateway)

    t = sub.add_parser("terminal", help="register, list and revoke hall terminals")
    tsub = t.add_subparsers(dest="terminal_command", required=True, metavar="ACTION")
    r = tsub.add_parser("register", help="bind a terminal to a hall and window; prints its key ONCE")
    r.add_argument("--terminal-id", required=True)
    r.add_argument("--hall", required=True)
    r.add_argument("--window", required=True)
    r.add_argument("--channel", default="pad", choices=[c.value for c in Channel],
                   help="kiosk: the gateway serves its touch page at /kiosk/<terminal-id>/")
    r.add_argument("--rotate", action="store_true", help="issue a new key for a registered terminal")
    r.add_argument("--note", default="")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(func=cmd_register)
    ls = tsub.add_parser("list", help="registered terminals (never their keys)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    rv = tsub.add_parser("revoke", help="refuse a terminal from now on (every gateway, within a second)")
    rv.add_argument("terminal_id")
    rv.add_argument("--note", default="")
    rv.set_defaults(func=cmd_revoke)

    from apps.terminal_client.cli import register as register_client

    register_client(sub)


def _settings() -> Settings:
    from haocha.settings import load

    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # its INFO chatter is not for operators
    return load()


def cmd_gateway(args) -> int:
    from apps.gateway.server import serve

    s = _settings()
    overrides = {k: v for k, v in (("gateway_host", args.host), ("gateway_port", args.port)) if v is not None}
    if overrides:
        s = s.model_copy(update=overrides)
    asyncio.run(serve(s))
    return 0


def cmd_register(args) -> int:
    from apps.gateway.registry import register_terminal

    record, key = asyncio.run(register_terminal(_settings(), args.terminal_id, args.hall, args.window,
                                                channel=args.channel, rotate=args.rotate, note=args.note))
    if args.json:
        print(json.dumps({**record.public(), "key": key}, ensure_ascii=False))
        return 0
    print(f"terminal {record.terminal_id} registered: hall {record.hall_id}, window {record.window_id}, "
          f"channel {record.channel}")
    print("key (shown once; store it on the terminal now, it cannot be shown again):")
    print(key)
    return 0


def cmd_list(args) -> int:
    from apps.gateway.registry import read_registry

    records = sorted(asyncio.run(read_registry(_settings())).values(), key=lambda r: r.terminal_id)
    if args.json:
        print(json.dumps([r.public() for r in records], ensure_ascii=False))
        return 0
    print(f"{'terminal':<24} {'hall':<10} {'window':<12} {'channel':<8} {'status':<8} registered / revoked")
    for r in records:
        print(f"{r.terminal_id:<24} {r.hall_id:<10} {r.window_id:<12} {r.channel:<8} {r.status:<8} "
              f"{r.registered_at}{' / ' + r.revoked_at if r.revoked_at else ''}")
    return 0


def cmd_revoke(args) -> int:
    from apps.gateway.registry import revoke_terminal

    record = asyncio.run(revoke_terminal(_settings(), args.terminal_id, note=args.note))
    print(f"terminal {record.terminal_id} revoked at {record.revoked_at}")
    return 0
