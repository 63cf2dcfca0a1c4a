"""HTTP routes of the gateway (aiohttp). Thin: read the body within the limit, hand it to the
Gateway, turn every refusal into JSON {error, detail} with its status. No path here returns a 500
for anything a client sends."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
from aiohttp import web

from apps.gateway.errors import GatewayError
from apps.gateway.openapi import document
from apps.gateway.pairing import COOKIE, COOKIE_DAYS
from apps.gateway.service import PATH_BATCH, PATH_SINGLE, Gateway, Incoming, Reply

log = logging.getLogger("apps.gateway")

STATIC = Path(__file__).parent / "kiosk" / "static"
GATEWAY_KEY = web.AppKey("gateway", Gateway)
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def _reply(r: Reply) -> web.Response:
    return _json(r.status, r.body, r.headers)


@web.middleware
async def errors_as_json(request: web.Request, handler):
    try:
        return await handler(request)
    except GatewayError as err:
        return _json(err.status, err.body(), err.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request")
        return _json(exc.status, {"error": code, "detail": exc.reason or code}, _keep_allow(exc))
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug, not the client's fault: logged with the trace, answered without it
        log.exception("internal error on %s %s", request.method, request.path)
        return _json(500, {"error": "internal", "detail": "internal error; the request was not taken"})


def _keep_allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def _remote(request: web.Request) -> str:
    gw = request.app[GATEWAY_KEY]
    if gw.settings.gateway_trust_forwarded_for:
        fwd = request.headers.get("X-Forwarded-For", "")
        if fwd:
            return fwd.split(",")[0].strip()[:64]
    return request.remote or "?"


async def _incoming(request: web.Request) -> Incoming:
    """The raw request, the body read up to the limit (never more: an oversized body is refused
    before it is buffered)."""
    gw = request.app[GATEWAY_KEY]
    limit = gw.settings.gateway_max_body_bytes
    req = Incoming(request.method, request.raw_path, request.headers, b"", _remote(request))
    if request.content_length is not None and request.content_length > limit:
        req.body = await request.content.read(4096)
        raise await gw.too_large(req, request.content_length)
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            req.body = b"".join(chunks)
            raise await gw.too_large(req, None)
    req.body = b"".join(chunks)
    return req


async def post_review(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY_KEY]
    return _reply(await gw.post_single(await _incoming(request)))


async def post_batch(request: web.Request) -> web.Response:
    return _reply(await request.app[GATEWAY_KEY].post_batch(await _incoming(request)))


async def get_review(request: web.Request) -> web.Response:
    return _reply(await request.app[GATEWAY_KEY].get_status(await _incoming(request), request.match_info["review_id"]))


async def whoami(request: web.Request) -> web.Response:
    return _reply(request.app[GATEWAY_KEY].whoami(await _incoming(request)))


async def openapi(request: web.Request) -> web.Response:
    return _json(200, document(request.app[GATEWAY_KEY].settings))


async def healthz(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY_KEY]
    ready = gw.registry.ready.is_set()
    return _json(200 if ready else 503, {"ready": ready, **gw.stats()})


# --- kiosk ------------------------------------------------------------------------------------------


async def kiosk_redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"/kiosk/{request.match_info['terminal_id']}/")


async def kiosk_page(request: web.Request) -> web.Response:
    """Always the page (it holds nothing): whatever is wrong, it says so in Chinese, never as JSON."""
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def _device(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE)


def _with_device(resp: web.Response, request: web.Request, token: str) -> web.Response:
    gw = request.app[GATEWAY_KEY]
    secure = request.secure or (gw.settings.gateway_trust_forwarded_for
                                and request.headers.get("X-Forwarded-Proto", "").lower() == "https")
    resp.set_cookie(COOKIE, token, path=f"/kiosk/{request.match_info['terminal_id']}/", max_age=COOKIE_DAYS * 86400,
                    httponly=True, samesite="Strict", secure=secure)
    return resp


async def kiosk_config(request: web.Request) -> web.Response:
    token = _device(request)
    cfg = request.app[GATEWAY_KEY].kiosk_config(request.match_info["terminal_id"], _remote(request), token)
    return _with_device(_json(200, cfg), request, token)  # renewed: a kiosk in use stays paired


async def kiosk_pair(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY_KEY]
    tid = request.match_info["terminal_id"]
    req = await _incoming(request)
    token = await gw.kiosk_pair(tid, req.body, req.remote)
    return _with_device(_json(200, {"paired": True, "terminal_id": tid}), request, token)


async def kiosk_post(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY_KEY]
    req = await _incoming(request)
    return _reply(await gw.kiosk_post(request.match_info["terminal_id"], req.body, req.remote, _device(request)))


def create_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=gateway.settings.gateway_max_body_bytes)
    app[GATEWAY_KEY] = gateway
    r = app.router
    r.add_post(PATH_SINGLE, post_review)
    r.add_post(PATH_BATCH, post_batch)
    r.add_get("/v1/reviews/{review_id}", get_review)
    r.add_get("/v1/terminal", whoami)
    r.add_get("/v1/openapi.json", openapi)
    r.add_get("/healthz", healthz)
    r.add_get("/kiosk/{terminal_id}", kiosk_redirect)
    r.add_get("/kiosk/{terminal_id}/", kiosk_page)
    r.add_get("/kiosk/{terminal_id}/config", kiosk_config)
    r.add_post("/kiosk/{terminal_id}/pair", kiosk_pair)
    r.add_post("/kiosk/{terminal_id}/reviews", kiosk_post)
    r.add_static("/kiosk-static/", STATIC)
    return app
