"""`haocha schemas export|check`: the published wire format (JSON Schema) stays generated."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import export


def register(sub) -> None:
    p = sub.add_parser("schemas", help="export or check the JSON Schema files of the wire format")
    p.add_argument("action", choices=["export", "check"])
    p.add_argument("--out", type=Path, default=export.OUT)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.action == "export":
        for path in export.write(args.out):
            print(path)
        return 0
    stale = [name for name, schema in export.schemas().items()
             if not (args.out / f"{name}.schema.json").exists()
             or json.loads((args.out / f"{name}.schema.json").read_text(encoding="utf-8")) != schema]
    if stale:
        print("out of date: " + ", ".join(stale) + " (run `haocha schemas export`)")
        return 1
    print("JSON Schema files match the models")
    return 0
