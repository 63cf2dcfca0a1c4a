"""`python -m apps.terminal_client send|drain|status`: the client without the platform's console
(a pad needs only this package and the standard library)."""

from __future__ import annotations

import argparse
import logging
import sys

from apps.terminal_client.cli import add_actions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.terminal_client",
                                     description="store-and-forward client of a hall terminal")
    add_actions(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
