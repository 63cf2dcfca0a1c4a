"""`haocha rebuild`: re-derive the ClickHouse history from the Kafka log and compare."""

from __future__ import annotations

import asyncio
import sys

from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("rebuild", help="re-derive the ClickHouse history from the Kafka log")
    p.add_argument("--database", default=None,
                   help="database to rebuild into (default: <database>_rebuild; the live one is untouched)")
    p.add_argument("--compare", action="store_true", help="compare the rebuilt figures with the live database")
    p.set_defaults(func=run)


class Progress:
    """Rows written so far, every topic on one line (the topics are replayed side by side)."""

    def __init__(self):
        self.rows: dict[str, int] = {}

    def __call__(self, topic: str, n: int) -> None:
        self.rows[topic] = n
        print("\r  " + ", ".join(f"{name}: {n:,}" for name, n in self.rows.items()) + " rows", end="",
              file=sys.stderr)


def run(args) -> int:
    from sinks.rebuild import figures, rebuild
    from sinks.clickhouse import ClickHouseStore

    s = settings_mod.load()
    target = args.database or f"{s.clickhouse_database}_rebuild"
    if target == s.clickhouse_database:
        print("refusing to rebuild into the live database; pick another --database", file=sys.stderr)
        return 2
    store = ClickHouseStore(s.dsn, target, s.timezone)
    try:
        store.command(f"DROP DATABASE IF EXISTS {target}")
        store.migrate()
        written = asyncio.run(rebuild(s, store, on_progress=Progress()))
        print(file=sys.stderr)
        for name, n in written.items():
            print(f"{name:>20}: {n:,} rows")
        if not args.compare:
            return 0
        rebuilt = figures(store)
        store.db = s.clickhouse_database
        live = figures(store)
        differ = {k: (live[k], rebuilt[k]) for k in live if live[k] != rebuilt[k]}
        for k in live:
            print(f"{k:>20}: live {live[k]}  rebuilt {rebuilt[k]}  {'DIFFERENT' if k in differ else 'equal'}")
        return 1 if differ else 0
    finally:
        store.close()
