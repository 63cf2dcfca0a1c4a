"""`haocha topics create|list`: the platform's topics, created explicitly."""

from __future__ import annotations

import asyncio

from haocha import settings as settings_mod
from schemas import topics


def register(sub) -> None:
    p = sub.add_parser("topics", help="create or list the Kafka topics")
    p.add_argument("action", choices=["create", "list"])
    p.set_defaults(func=run)


def run(args) -> int:
    s = settings_mod.load()
    if args.action == "create":
        created = asyncio.run(topics.ensure_topics(s))
        print("created: " + (", ".join(created) if created else "nothing (all exist)"))
    else:
        for spec in topics.ALL:
            cfg = ", ".join(f"{k}={v}" for k, v in spec.config().items() if k != "message.timestamp.before.max.ms")
            print(f"{s.topic(spec.name):32} key={spec.keyed_by:32} {cfg}")
    return 0
