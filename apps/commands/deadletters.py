"""`haocha deadletters list|show|replay`: what could not be taken, straight from the dead-letter
topic (no store needed, so it works while a worker runs).

A letter is named by its place in the dead-letter topic, `PARTITION:OFFSET`. What is shown is the
masked copy of the raw input (phone numbers masked); the raw bytes themselves are sealed under
HAOCHA_SECRET_KEY, and `replay` opens them and publishes them again to the topic they came from,
once the cause is fixed (a directory entry added, a producer corrected).
"""

from __future__ import annotations

import asyncio
import json
import sys

from haocha import settings as settings_mod

SHOWN_DETAIL = 60


def register(sub) -> None:
    p = sub.add_parser("deadletters", help="list, show and replay dead letters (input that could not be taken)",
                       description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("list", help="the dead letters, oldest first (masked)")
    ls.add_argument("--reason", default=None, help="only this reason (not_json, schema, impossible_time, ...)")
    ls.add_argument("--limit", type=int, default=100, help="at most this many, the newest (default 100)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    show = verbs.add_parser("show", help="one dead letter, masked")
    show.add_argument("id", help="PARTITION:OFFSET, as `list` shows it")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    replay = verbs.add_parser("replay", help="publish dead letters' raw input again to their source topic")
    replay.add_argument("ids", nargs="+", metavar="ID", help="PARTITION:OFFSET, as `list` shows it")
    replay.set_defaults(func=run_replay)


def letters(s) -> list[tuple[str, object]]:
    """(id, DeadLetter) of every readable letter in the topic, in topic order per partition."""
    from schemas.review import DeadLetter
    from schemas.topics import DEAD_LETTERS
    from sinks.rebuild import read_topic

    async def read() -> list:
        out = []
        async for msgs in read_topic(s, DEAD_LETTERS.name):
            for m in msgs:
                try:
                    out.append((f"{m.partition}:{m.offset}", DeadLetter.model_validate_json(m.value)))
                except ValueError:
                    out.append((f"{m.partition}:{m.offset}", None))
        return out

    return asyncio.run(read())


def _by_id(s, wanted: list[str]) -> dict[str, object]:
    for i in wanted:
        p, _, o = i.partition(":")
        if not (p.isdigit() and o.isdigit()):
            raise SystemExit(f"haocha deadletters: {i!r} is no id: PARTITION:OFFSET, e.g. 0:17")
    found = {i: d for i, d in letters(s) if i in wanted}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise SystemExit(f"haocha deadletters: no dead letter {', '.join(missing)}")
    return found


def _view(i: str, d, tz: str) -> dict:
    from apps.commands.api import local_time

    if d is None:
        return {"id": i, "reason": "unreadable", "detail": "not a dead letter (kept in Kafka only)"}
    return {"id": i, "failed_at": local_time(d.failed_at, tz), "reason": d.reason, "source": d.source,
            "source_position": None if d.offset is None else f"{d.partition}:{d.offset}", "key": d.key,
            "detail": d.detail, "raw": d.raw, "raw_encoding": d.raw_encoding, "replayable": d.sealed is not None}


def run_list(args) -> int:
    from apps.report.render_text import format_table

    s = settings_mod.load()
    views = [_view(i, d, s.timezone) for i, d in letters(s)]
    if args.reason:
        views = [v for v in views if v["reason"] == args.reason]
    views = views[-args.limit:] if args.limit > 0 else views
    if args.json:
        print(json.dumps(views, ensure_ascii=False, indent=2))
        return 0
    if not views:
        print("no dead letters")
        return 0
    rows = [[v["id"], v.get("failed_at", ""), v["reason"], v.get("source", ""),
             _short(v["detail"])] for v in views]
    print(format_table(["id", "failed at", "reason", "source", "detail"], rows))
    return 0


def run_show(args) -> int:
    s = settings_mod.load()
    view = _view(args.id, _by_id(s, [args.id])[args.id], s.timezone)
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        for k, v in view.items():
            print(f"{k:>16}: {v}")
    return 0


def run_replay(args) -> int:
    from haocha.adapters.kafka import produce_all
    from haocha.adapters.sealing import DEAD_LETTERS, SealError, Sealer

    s = settings_mod.load()
    sealer = Sealer(s.secret_key.get_secret_value(), DEAD_LETTERS)
    found = _by_id(s, args.ids)
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for i in args.ids:
        d = found[i]
        if d is None or d.sealed is None:
            raise SystemExit(f"haocha deadletters: {i} kept no raw bytes to replay")
        if not d.source.startswith(f"{s.topic_prefix}."):
            raise SystemExit(f"haocha deadletters: {i} came from {d.source}, not from a topic: "
                             "it can only be sent again by its sender")
        try:
            raw = sealer.open(d.sealed, d.source.encode("utf-8"))
        except SealError as exc:
            raise SystemExit(f"haocha deadletters: {i} does not open: {exc}") from None
        by_topic.setdefault(d.source, []).append((d.key.encode() if d.key else None, raw))
    for topic, messages in by_topic.items():
        asyncio.run(produce_all(s, topic, messages))
        print(f"replayed {len(messages)} to {topic}", file=sys.stderr)
    return 0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_DETAIL else text[: SHOWN_DETAIL - 1] + "…"
