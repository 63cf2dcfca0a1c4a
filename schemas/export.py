"""JSON Schema files for terminal vendors and consumers, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from schemas.review import DeadLetter, ReviewClassified, ReviewSubmitted
from schemas.tickets import CommandOutcome, TicketCommandEnvelope, TicketEventEnvelope

OUT = Path(__file__).parent / "json"
MODELS = {
    "review-submitted.v1": ReviewSubmitted,
    "review-classified.v1": ReviewClassified,
    "dead-letter.v1": DeadLetter,
    "ticket-event.v1": TicketEventEnvelope,
    "ticket-command.v1": TicketCommandEnvelope,
    "command-outcome.v1": CommandOutcome,
}


def schemas() -> dict[str, dict]:
    out = {}
    for name, model in MODELS.items():
        schema = TypeAdapter(model).json_schema(mode="validation")
        schema["$id"] = f"https://haocha.example/schemas/{name}.schema.json"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[name] = schema
    return out


def write(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in schemas().items():
        p = out / f"{name}.schema.json"
        p.write_text(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(p)
    return paths
