"""What every API handler shares: JSON answers, one error shape, who is calling, the request body."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from apps.api.commands import BadRequest
from haocha.adapters.command_bus import CommandTimeout
from haocha.auth.bearer import Authenticator
from schemas.tickets import Actor

log = logging.getLogger(__name__)

READERS = frozenset({"officer", "supervisor", "manager", "admin"})

AUTH = web.AppKey("auth", Authenticator)
ACTOR = web.RequestKey("actor", Actor)  # set by apps.api.auth_gate before any handler runs

# The machine code of each error answer (the console words its message by it), by HTTP status
# unless the raiser names a more precise one.
CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "invalid", 409: "conflict",
         413: "too_large", 415: "unsupported_type", 422: "invalid", 429: "rate_limited", 500: "internal",
         503: "unavailable", 504: "timeout"}


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json")


def error(status: int, message: str, detail: object = None, code: str | None = None) -> web.Response:
    body = {"error": message, "code": code or CODES.get(status, "internal")}
    if detail is not None:
        body["detail"] = detail
    resp = json_response(body, status)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="haocha"'
    return resp


@web.middleware
async def errors(request: web.Request, handler):
    try:
        return await handler(request)
    except BadRequest as exc:
        return error(exc.status, str(exc), exc.detail, exc.code)
    except CommandTimeout as exc:
        return error(504, str(exc))
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):  # no route, wrong method, body too big
            return error(exc.status, exc.reason)
        raise
    except Exception as exc:  # a fault of ours: a clear JSON answer, the details in the log
        log.exception("%s %s failed", request.method, request.path)
        return error(500, f"internal error ({type(exc).__name__}); see the worker's log")


def caller(request: web.Request) -> Actor:
    actor = request.get(ACTOR)
    if actor is None:
        raise BadRequest(401, "sign in, or send a bearer token")
    if actor.role not in READERS:
        raise BadRequest(403, f"role {actor.role} has no access to the API")
    return actor


async def body_of(request: web.Request) -> object:
    if not request.can_read_body:
        return {}
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise BadRequest(400, "the body is not JSON") from None
