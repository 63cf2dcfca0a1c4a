"""`haocha` console: one entry point, one subcommand module per concern."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module exposes register(subparsers); a subcommand sets `func(args) -> int`.
COMMAND_MODULES = (
    "haocha.commands.worker",
    "haocha.commands.topics",
    "haocha.commands.simulate",
    "haocha.commands.demo",
    "haocha.commands.report",
    "haocha.commands.ticket",
    "haocha.commands.user",
    "haocha.commands.schemas",
    "haocha.commands.rebuild",
    "haocha.gateway.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haocha", description="好差评 platform: reviews, rectification tickets, reports")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # a concern not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
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
