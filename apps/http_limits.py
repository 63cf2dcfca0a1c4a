"""Slow and malformed clients, bounded the same way on both HTTP servers (the gateway and the
worker's API): `HttpGuard.of(settings, name)`, then `guard.app(app)` and `guard.site(...)`.

- Header timeout: aiohttp closes a connection whose request head is not complete
  `keepalive_timeout` after it connected (or after the previous answer), so that is the knob; an
  idle keep-alive connection goes after the same time.
- Body timeout: a middleware closes the connection when a handler still waits for the body that
  long after the head; a body that no handler reads is drained for at most as long
  (`lingering_time`) and the connection is then closed.
- Malformed framing (Content-Length, Transfer-Encoding, the request line): answered as JSON 400
  instead of aiohttp's text, with one log line instead of a traceback, and at most one such line
  a second per server (the next one says how many were left out): a flood neither fills the disk
  nor hides the other lines.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from haocha.settings import Settings


class ThrottledLog:
    """At most one line per `every` seconds; the next line written says how many were dropped."""

    def __init__(self, logger: logging.Logger, every: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.every = every
        self.clock = clock
        self.suppressed = 0
        self._last = float("-inf")

    def warning(self, msg: str, *args: object) -> bool:
        now = self.clock()
        if now - self._last < self.every:
            self.suppressed += 1
            return False
        if self.suppressed:
            msg, args = msg + " (%d similar lines suppressed)", (*args, self.suppressed)
        self.suppressed, self._last = 0, now
        self.logger.warning(msg, *args)
        return True


@dataclass
class HttpGuard:
    name: str  # "gateway" or "api", in the log lines
    header_seconds: float
    body_seconds: float
    log: ThrottledLog = field(default_factory=lambda: ThrottledLog(logging.getLogger("apps.http")))

    @classmethod
    def of(cls, settings: Settings, name: str) -> "HttpGuard":
        return cls(name, settings.http_header_timeout_seconds, settings.http_body_timeout_seconds)

    def app(self, app: web.Application) -> web.Application:
        """The application with the body deadline as its innermost middleware (so the handler's
        failed read is answered here, not logged by the app's error middleware as a bug)."""
        app.middlewares.append(self._body_deadline)
        return app

    def site(self, runner: web.AppRunner, host: str, port: int, **kw) -> "GuardedSite":
        return GuardedSite(runner, host, port, guard=self, **kw)

    @web.middleware
    async def _body_deadline(self, request: web.Request, handler):
        if request.content.is_eof():
            return await handler(request)
        loop = asyncio.get_running_loop()
        cut = asyncio.Event()

        def check() -> None:
            if not request.content.is_eof() and request.transport is not None:
                cut.set()
                self.log.warning("%s: %s %s from %s: body not complete after %g s, connection closed",
                                 self.name, request.method, request.path[:200], request.remote, self.body_seconds)
                request.transport.close()

        timer = loop.call_later(self.body_seconds, check)
        try:
            return await handler(request)
        except Exception:
            if not cut.is_set():
                raise
            # The handler's read failed because the connection was cut: nobody reads this answer,
            # it ends the handler quietly instead of as a bug in the app's error middleware.
            return _json(408, "request_timeout", f"the request body was not complete within {self.body_seconds:g} s")
        finally:
            timer.cancel()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are handled by `GuardedHandler` (aiohttp's handler with the
    timeouts above and JSON answers to malformed requests)."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *, guard: HttpGuard,
                 reuse_address: bool | None = None):
        super().__init__(runner)
        self._host, self._port, self._reuse_address, self._guard = host, port, reuse_address, guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server, g = self._runner.server, self._guard

        def handler() -> GuardedHandler:
            return GuardedHandler(server, guard=g, loop=loop, access_log=None, keepalive_timeout=g.header_seconds,
                                  lingering_time=g.body_seconds)

        self._server = await loop.create_server(handler, self._host, self._port, backlog=self._backlog,
                                                reuse_address=self._reuse_address)


class GuardedHandler(web.RequestHandler):
    def __init__(self, manager, *, guard: HttpGuard, **kw):
        super().__init__(manager, **kw)
        self._guard = guard

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status != 400:  # a handler's own failure: aiohttp's answer and its traceback in the log
            return super().handle_error(request, status, exc, message)
        why = _one_line(getattr(exc, "message", None) or message or exc or "malformed request")
        self._guard.log.warning("%s: malformed request from %s refused: %s", self._guard.name, request.remote, why)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer was already started; the connection is closed")
        resp = _json(400, "bad_request", f"malformed HTTP request: {why}")
        resp.force_close()
        return resp


def _json(status: int, code: str, detail: str) -> web.Response:
    # Both servers' error shapes: the gateway's {error: code, detail}, the API's {error, code}.
    return web.Response(status=status, body=orjson.dumps({"error": code, "code": code, "detail": detail}),
                        content_type="application/json")


def _one_line(what: object) -> str:
    return " ".join(str(what).split())[:300]
