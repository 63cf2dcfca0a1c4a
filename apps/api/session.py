"""Console sign-in: `POST/GET/DELETE /api/v1/session` and `POST /api/v1/session/password`.

Sessions live in the worker's memory (haocha/auth/sessions.py): a worker restart signs everyone
out, nothing else is lost.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from apps.api.auth_gate import COOKIE, CSRF_HEADER, SESSION, client_address, refusal
from apps.api.commands import BadRequest
from apps.api.http import AUTH, body_of, caller, error, json_response
from haocha.auth.bearer import AuthRefused
from haocha.auth.sessions import Session
from schemas.tickets import Actor


def _answer(request: web.Request, actor: Actor, session: Session) -> dict:
    """The console greets the person by name (from the users file), so it is answered beside the actor."""
    user = request.app[AUTH].users.get(actor.id)
    return {"actor": actor.model_dump(), "name": user.name if user else None, "csrf_token": session.csrf_token,
            "expires_at": session.expires_at.isoformat()}


def _fields(body: object, *names: str, optional: tuple[str, ...] = ()) -> dict[str, str]:
    if not isinstance(body, dict):
        raise BadRequest(422, "the body is a JSON object", code="invalid")
    out = {}
    for name in (*names, *optional):
        value = body.get(name)
        if value is None and name in optional:
            continue
        if not isinstance(value, str) or not value:
            raise BadRequest(422, f"`{name}` is a non-empty string", code="invalid")
        out[name] = value
    return out


async def sign_in(request: web.Request) -> web.Response:
    f = _fields(await body_of(request), "user_id", "password")
    try:
        sid, session, actor = await request.app[AUTH].sign_in(f["user_id"], f["password"], client_address(request))
    except AuthRefused as exc:
        return refusal(exc)
    resp = json_response(_answer(request, actor, session))
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", secure=request.secure, path="/")
    return resp


async def current(request: web.Request) -> web.Response:
    actor = caller(request)
    got = request.get(SESSION)
    if got is None:
        return error(401, "no console session (a bearer token is not a session)", code="unauthenticated")
    return json_response(_answer(request, actor, got[1]))


async def sign_out(request: web.Request) -> web.Response:
    auth, sid = request.app[AUTH], request.cookies.get(COOKIE)
    try:
        session, _ = auth.session(sid) if sid else (None, None)
    except AuthRefused:
        session = None  # already over: nothing to protect
    if session is not None and not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(),
                                                       session.csrf_token.encode()):
        return error(403, f"signing out needs the {CSRF_HEADER} header of this session", code="csrf")
    auth.sign_out(sid)
    resp = web.Response(status=204)
    resp.del_cookie(COOKIE, path="/")
    return resp


async def set_password(request: web.Request) -> web.Response:
    """With a set-password link's token, or with the user id and the old password."""
    body = await body_of(request)
    f = _fields(body, "new_password", optional=("token", "user_id", "old_password"))
    auth, address = request.app[AUTH], client_address(request)
    try:
        if "token" in f:
            await auth.set_password_by_link(f["token"], f["new_password"], address)
        elif "user_id" in f and "old_password" in f:
            await auth.change_password(f["user_id"], f["old_password"], f["new_password"], address)
        else:
            raise BadRequest(422, "send `token` (a set-password link) or `user_id` and `old_password`", code="invalid")
    except AuthRefused as exc:
        return refusal(exc)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/session", sign_in)
    app.router.add_get("/api/v1/session", current)
    app.router.add_delete("/api/v1/session", sign_out)
    app.router.add_post("/api/v1/session/password", set_password)
