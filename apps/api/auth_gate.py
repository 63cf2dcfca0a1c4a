"""Who is calling, decided once per request before any handler: a bearer token, or the console's
session cookie with its CSRF token on every state-changing request.

Health and the OpenAPI document never wait on a credential check; a refused credential is
answered here (401, 403 `csrf`, 429 with Retry-After) and never reaches a handler.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from apps.api.http import ACTOR, AUTH, error, json_response
from haocha.auth.bearer import AuthRefused

COOKIE = "haocha_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION = web.RequestKey("session", tuple)  # (cookie value, Session) when the caller came by cookie

_OPEN = frozenset({"/api/v1/health", "/openapi.json", "/api/v1/openapi.json"})
# These carry their own credential (a password, a set-password link) or end the session however it is.
_OWN_CREDENTIAL = frozenset({("POST", "/api/v1/session"), ("POST", "/api/v1/session/password"),
                             ("DELETE", "/api/v1/session")})


def client_address(request: web.Request) -> str:
    return request.remote or ""


def refusal(exc: AuthRefused) -> web.Response:
    if exc.retry_after is None:
        return error(exc.status, str(exc), code=exc.code)
    resp = json_response({"error": str(exc), "code": exc.code, "retry_after": exc.retry_after}, exc.status)
    resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


@web.middleware
async def authenticate(request: web.Request, handler):
    path = request.path
    if path in _OPEN or not path.startswith("/api/") or (request.method, path) in _OWN_CREDENTIAL:
        return await handler(request)
    auth = request.app[AUTH]
    try:
        header = request.headers.get("Authorization")
        if header:  # a machine or the CLI: no cookie, no CSRF
            request[ACTOR] = await auth.bearer(header, client_address(request))
        elif (sid := request.cookies.get(COOKIE)):
            session, actor = auth.session(sid)
            if request.method in UNSAFE and not hmac.compare_digest(
                    request.headers.get(CSRF_HEADER, "").encode(), session.csrf_token.encode()):
                return error(403, f"a {request.method} with the session cookie needs the {CSRF_HEADER} header "
                                  "of this session", code="csrf")
            request[ACTOR], request[SESSION] = actor, (sid, session)
    except AuthRefused as exc:
        return refusal(exc)
    return await handler(request)
