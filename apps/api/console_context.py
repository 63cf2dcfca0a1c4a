"""What the console's endpoints need beyond the ticket API's own context, built by the
composition root and installed by `apps.api.console_routes.install` into the worker's app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from apps.api.admin import AdminContext
from apps.api.evidence_store import EvidenceStore
from apps.api.events_stream import TicketHub
from haocha.domain.tickets import DecisionContext


@dataclass
class ConsoleContext:
    evidence: EvidenceStore
    decision: DecisionContext  # to ask the pure domain which commands a caller may issue now
    admin: AdminContext
    dist: Path  # the built front end
    evidence_max_bytes: int = 10 * 1024 * 1024
    hub: TicketHub | None = None  # None: no event stream (tests without Kafka)


CONSOLE = web.AppKey("console", ConsoleContext)
API = web.AppKey("api", Any)  # the ticket API's ApiContext: reader, local_state, clock

