"""The built web console, served by the worker at /console/ (nothing from a CDN: hall networks are
often offline). Vite names every asset by its content hash, so assets are cached for a year;
index.html names the current assets and is revalidated on every load."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

from apps.api.http import error

CHECKOUT_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
_SECURITY = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
             "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                        "frame-ancestors 'none'"}


def console_dir(configured: Path | None) -> Path:
    return Path(configured) if configured else CHECKOUT_DIST


def add_routes(app: web.Application, root: Path) -> None:
    root = root.resolve()

    async def index(request: web.Request) -> web.StreamResponse:
        page = root / "index.html"
        if not page.is_file():
            return error(404, f"the console is not built ({page} is missing): run `make install`", code="not_found")
        return web.FileResponse(page, headers={"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8",
                                               **_SECURITY})

    async def asset(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            if "." not in rel.rsplit("/", 1)[-1]:
                return await index(request)  # a page of the single-page app, opened by its URL
            return error(404, f"no file {rel} in the console", code="not_found")
        hashed = rel.startswith("assets/")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE if hashed else "no-cache",
                                               "Content-Type": ctype, "X-Content-Type-Options": "nosniff"})

    async def to_console(request: web.Request) -> web.Response:
        raise web.HTTPFound("/console/")

    app.router.add_get("/", to_console)
    app.router.add_get("/console", to_console)
    app.router.add_get("/console/", index)
    app.router.add_get("/console/{path:.+}", asset)
