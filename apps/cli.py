"""`haocha` console: one entry point, one subcommand module per concern."""

from __future__ import annotations

import argparse
import logging
import sys

from apps.commands import alerts, demo, health, rebuild, report, schemas, simulate, sink, ticket, topics, user, worker
from apps.commands import check, deadletters
from apps.gateway import cli as gateway_cli

# Each module exposes register(subparsers); a subcommand sets `func(args) -> int`. Listed, not
# discovered: a missing module is an import error, never a silently missing command.
COMMAND_MODULES = (worker, sink, topics, simulate, demo, report, ticket, alerts, user, schemas, rebuild, gateway_cli,
                   health, check, deadletters)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haocha", description="好差评 platform: reviews, rectification tickets, reports")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",  # local time with its offset, like every time the console shows
    )
    if not args.verbose:  # libraries that narrate every request or glyph at INFO
        for noisy in ("httpx", "fontTools", "aiokafka", "matplotlib"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the console shows a clear message, not a traceback
        if args.verbose:
            raise
        print(f"haocha {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
