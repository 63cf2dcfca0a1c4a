"""Evidence files: `POST /api/v1/tickets/{id}/evidence` (multipart field `file`) and
`GET /api/v1/tickets/{id}/evidence/{sha256}`.

Whoever may act on a ticket may add evidence to it; whoever may see the ticket may download what
was uploaded for it, and nothing else (a hash from another ticket is not found).
"""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse
from datetime import datetime

from aiohttp import web

from apps.api.commands import BadRequest
from apps.api.console_context import API, CONSOLE
from apps.api.evidence_store import Evidence, clean_name, type_for
from apps.api.http import caller, json_response
from apps.api.ticket_access import visible_ticket

UPLOADERS = frozenset({"officer", "supervisor", "admin"})


async def upload(request: web.Request) -> web.Response:
    actor = caller(request)
    tid = request.match_info["ticket_id"]
    if actor.role not in UPLOADERS:
        raise BadRequest(403, f"role {actor.role} does not act on tickets")
    await visible_ticket(request, actor, tid)
    cx = request.app[CONSOLE]
    if not request.content_type.startswith("multipart/"):
        raise BadRequest(415, "send the file as multipart/form-data, field `file`", code="unsupported_type")
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and part.name != "file":
        part = await reader.next()
    if part is None or not part.filename:
        raise BadRequest(422, "no multipart field `file` with a file name")
    data = bytearray()
    while chunk := await part.read_chunk(256 * 1024):
        data += chunk
        if len(data) > cx.evidence_max_bytes:  # stop reading at once: no 2 GB upload fills memory
            raise BadRequest(413, f"an evidence file has at most {cx.evidence_max_bytes // (1024 * 1024)} MiB",
                             code="too_large")
    name = clean_name(urllib.parse.unquote(part.filename))  # aiohttp's own client percent-encodes it
    content_type = type_for(name, bytes(data))
    if content_type is None:
        raise BadRequest(415, "evidence is a PDF, JPEG, PNG, DOCX or XLSX file whose name matches its content",
                         code="unsupported_type")
    now: datetime = request.app[API].clock.now()
    meta = Evidence(sha256=hashlib.sha256(data).hexdigest(), name=name, size=len(data), content_type=content_type,
                    uploaded_by=actor.id, uploaded_at=now.isoformat())
    await asyncio.to_thread(cx.evidence.put, tid, bytes(data), meta)
    return json_response(meta.__dict__, 201)


async def download(request: web.Request) -> web.StreamResponse:
    actor = caller(request)
    tid, sha = request.match_info["ticket_id"], request.match_info["sha256"]
    await visible_ticket(request, actor, tid)
    cx = request.app[CONSOLE]
    meta = await asyncio.to_thread(cx.evidence.find, tid, sha)
    if meta is None:
        raise BadRequest(404, f"no evidence {sha} on ticket {tid}")
    quoted = urllib.parse.quote(meta.name)
    return web.FileResponse(cx.evidence.blob(sha), headers={
        "Content-Type": meta.content_type, "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Disposition": f"attachment; filename=\"evidence\"; filename*=UTF-8''{quoted}"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/tickets/{ticket_id}/evidence", upload)
    app.router.add_get("/api/v1/tickets/{ticket_id}/evidence/{sha256}", download)
