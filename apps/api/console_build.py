"""Builds the console's context for the worker: evidence under the data dir, the ticket event
stream on the worker's own topic, the admin's doors to the users file, the gateway's terminal
registry and the routing directory the stream agents route by."""

from __future__ import annotations

from collections.abc import Callable

from apps.api.admin import AdminContext, TerminalDoor
from apps.api.commands import BadRequest
from apps.api.console import console_dir
from apps.api.console_context import ConsoleContext
from apps.api.events_stream import TicketHub
from apps.api.evidence_store import EvidenceStore
from apps.gateway import pairing, registry
from haocha.domain.directory import Directory
from haocha.domain.tickets import DecisionContext, TicketState


def _terminal_view(r: registry.TerminalRecord) -> dict:
    d = r.public()
    d["kind"] = d.pop("channel")
    return d


def terminal_door(settings, directory: Callable[[], Directory], clock) -> TerminalDoor:
    async def listed() -> list[dict]:
        return [_terminal_view(r) for r in sorted((await registry.read_registry(settings)).values(),
                                                  key=lambda r: r.terminal_id)]

    async def register(tid: str, kind: str, hall: str, window: str) -> tuple[dict, str]:
        record, key = await registry.register_terminal(settings, tid, hall, window, channel=kind,
                                                       directory=directory(), note="console", clock=clock)
        return _terminal_view(record), key

    async def revoke(tid: str) -> dict:
        return _terminal_view(await registry.revoke_terminal(settings, tid, note="console", clock=clock))

    async def pairing_code(tid: str) -> dict:  # the same code store as `haocha terminal pair`
        record, code = await pairing.issue_pairing_code(settings, tid, clock=clock)
        return {"code": code, "expires_at": record.pairing_expires_at}

    return TerminalDoor(list=listed, register=register, revoke=revoke, pairing_code=pairing_code)


def build_console(deps, local_state: Callable[[str], TicketState | None], reader, events_topic: str) -> ConsoleContext:
    """`deps`: the worker's Deps (settings, directory, calendar, policy, clock)."""
    s = deps.settings

    async def department_of(tid: str) -> str | None:
        state = local_state(tid)
        if state is not None:
            return state.department_id
        try:
            row = await reader.get(tid)
        except BadRequest:  # a worker without the store (`haocha sink` serves reads): not known here
            return None
        return row["department_id"] if row else None

    def status_of(tid: str) -> str | None:
        state = local_state(tid)
        return state.status.value if state is not None else None

    def use_directory(d: Directory) -> None:
        deps.directory = d  # the review agents read it on every batch: routing follows at once

    admin = AdminContext(settings=s, directory=lambda: deps.directory, use_directory=use_directory,
                         policy=deps.policy, terminals=terminal_door(s, lambda: deps.directory, deps.clock))
    return ConsoleContext(evidence=EvidenceStore(s.data_dir / "evidence"),
                          decision=DecisionContext(calendar=deps.calendar, policy=deps.policy), admin=admin,
                          dist=console_dir(s.console_dir), evidence_max_bytes=s.evidence_max_bytes,
                          hub=TicketHub(s, events_topic, department_of, status_of))
