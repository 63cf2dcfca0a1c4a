"""The subcommand most console commands have: a verb on one thing named by its id."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def verb_on_id(actions, verb: str, help: str, func: Callable[[argparse.Namespace], int], dest: str,
               **defaults) -> argparse.ArgumentParser:
    p = actions.add_parser(verb, help=help)
    p.add_argument(dest, metavar="ID")
    p.set_defaults(func=func, **defaults)
    return p
