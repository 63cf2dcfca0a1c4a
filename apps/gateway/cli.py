"""Console commands of the gateway: `haocha gateway`, `haocha terminal register|list|revoke|pair|unpair`,
and (delegated) `haocha terminal-client`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from apps.commands.api import local_time
from apps.commands.subcommand import verb_on_id
from haocha.settings import Settings
from schemas.review import Channel


def register(sub) -> None:
    g = sub.add_parser("gateway", help="serve the terminal HTTP gateway (its own process; scale out freely)")
    g.add_argument("--host", help="default HAOCHA_GATEWAY_HOST")
    g.add_argument("--port", type=int, help="default HAOCHA_GATEWAY_PORT")
    g.set_defaults(func=cmd_gateway)

    t = sub.add_parser("terminal", help="register, list and revoke hall terminals")
    tsub = t.add_subparsers(dest="terminal_command", required=True, metavar="ACTION")
    r = verb_on_id(tsub, "register", "bind a terminal to a hall and window; its key is shown ONCE", cmd_register,
                   "terminal_id")
    r.add_argument("--hall", required=True)
    r.add_argument("--window", required=True)
    r.add_argument("--channel", default="pad", choices=[c.value for c in Channel],
                   help="kiosk: the gateway serves its touch page at /kiosk/<terminal-id>/")
    r.add_argument("--rotate", action="store_true", help="issue a new key for a registered terminal")
    r.add_argument("--note", default="")
    r.add_argument("--key-out", type=Path, metavar="FILE",
                   help="write the key to FILE (mode 0600, never overwritten) instead of showing it")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    ls = tsub.add_parser("list", help="registered terminals (never their keys)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    rv = verb_on_id(tsub, "revoke", "refuse a terminal from now on (every gateway, within a second)", cmd_revoke,
                    "terminal_id")
    rv.add_argument("--note", default="")
    verb_on_id(tsub, "pair", "a one-time code that pairs a kiosk's browser with this terminal", cmd_pair, "terminal_id")
    verb_on_id(tsub, "unpair", "the kiosk's paired browser may post no more (the terminal stays)", cmd_unpair,
               "terminal_id")

    from apps.terminal_client.cli import register as register_client

    register_client(sub)


def _settings() -> Settings:
    from haocha.settings import load

    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # its INFO chatter is not for operators
    return load()


def cmd_gateway(args) -> int:
    from apps.bootstrap import build_gateway
    from apps.gateway.server import serve

    s = _settings()
    overrides = {k: v for k, v in (("gateway_host", args.host), ("gateway_port", args.port)) if v is not None}
    if overrides:
        s = s.model_copy(update=overrides)
    asyncio.run(serve(build_gateway(s)))
    return 0


def cmd_register(args) -> int:
    from apps.gateway.registry import register_terminal

    if args.key_out is not None and args.key_out.exists():  # before a key is issued: nothing to lose
        print(f"haocha terminal register: {args.key_out} exists; remove it or choose another --key-out",
              file=sys.stderr)
        return 1
    settings = _settings()
    record, key = asyncio.run(register_terminal(settings, args.terminal_id, args.hall, args.window,
                                                channel=args.channel, rotate=args.rotate, note=args.note))
    if args.key_out is not None:
        # O_EXCL and 0600 from the first byte: the key is never readable by others, not even briefly.
        fd = os.open(args.key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
    done = (f"terminal {record.terminal_id} registered at {local_time(record.registered_at, settings.timezone)}: "
            f"hall {record.hall_id}, window {record.window_id}, channel {record.channel}")
    if args.json:
        print(json.dumps({**record.public(), **({"key_file": str(args.key_out)} if args.key_out else {"key": key})},
                         ensure_ascii=False))
    elif args.key_out is not None:
        print(f"{done}\nkey written to {args.key_out} (mode 0600); it is not shown again: install it on the terminal")
    else:
        print(f"{done}\nkey below, shown once: save it now (it cannot be shown again), e.g. with --key-out FILE",
              file=sys.stderr)
        print(key)  # alone on stdout, so `> pad.key` keeps exactly the key
    return 0


def cmd_list(args) -> int:
    from apps.gateway.registry import read_registry

    settings = _settings()
    records = sorted(asyncio.run(read_registry(settings)).values(), key=lambda r: r.terminal_id)
    if args.json:
        print(json.dumps([r.public() for r in records], ensure_ascii=False))
        return 0
    tz = settings.timezone
    print(f"{'terminal':<24} {'hall':<10} {'window':<12} {'channel':<8} {'status':<8} registered / revoked")
    for r in records:
        print(f"{r.terminal_id:<24} {r.hall_id:<10} {r.window_id:<12} {r.channel:<8} {r.status:<8} "
              f"{local_time(r.registered_at, tz)}{' / ' + local_time(r.revoked_at, tz) if r.revoked_at else ''}")
    return 0


def cmd_revoke(args) -> int:
    from apps.gateway.registry import revoke_terminal

    settings = _settings()
    record = asyncio.run(revoke_terminal(settings, args.terminal_id, note=args.note))
    print(f"terminal {record.terminal_id} revoked at {local_time(record.revoked_at, settings.timezone)}")
    return 0


def cmd_pair(args) -> int:
    from apps.gateway.pairing import issue_pairing_code

    settings = _settings()
    try:
        record, code = asyncio.run(issue_pairing_code(settings, args.terminal_id))
    except ValueError as exc:
        print(f"haocha terminal pair: {exc}", file=sys.stderr)
        return 1
    print(f"pairing code for kiosk {record.terminal_id}: {code[:4]} {code[4:]}\n"
          f"valid until {local_time(record.pairing_expires_at, settings.timezone)}, once: open "
          f"http://<gateway>:{settings.gateway_port}/kiosk/{record.terminal_id}/ on the kiosk and type it there")
    return 0


def cmd_unpair(args) -> int:
    from apps.gateway.pairing import unpair_device

    settings = _settings()
    try:
        record = asyncio.run(unpair_device(settings, args.terminal_id))
    except ValueError as exc:
        print(f"haocha terminal unpair: {exc}", file=sys.stderr)
        return 1
    print(f"kiosk {record.terminal_id}: no browser is paired now; `haocha terminal pair {record.terminal_id}` pairs one")
    return 0
