"""What the console's API commands share: the worker's URL and token, one request helper, and
times shown as local ISO with offset (settings.timezone)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

TOKEN_VARIABLE = "HAOCHA_API_TOKEN"


class Unreachable(RuntimeError):
    """Nothing answers at the worker's URL."""


def token(explicit: str | None = None, required: bool = True) -> str | None:
    value = explicit or os.environ.get(TOKEN_VARIABLE)
    if not value and required:
        raise SystemExit(f"haocha: no API token: set {TOKEN_VARIABLE} (printed by `haocha user add`) or pass --token")
    return value


def request(settings, method: str, path: str, body: dict | None = None, *, bearer: str | None = None,
            timeout: float = 60.0) -> tuple[int, object]:
    """(HTTP status, JSON answer) from the worker's API; Unreachable when nothing answers."""
    url = settings.worker_url.rstrip("/") + path
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, _json(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise Unreachable(f"the worker's API at {url} is not reachable: {getattr(exc, 'reason', exc)}") from None


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {"error": raw[:300].decode("utf-8", "replace")}


def refusal(answer: object) -> str:
    """The API's reason for a non-2xx answer, in one line."""
    if isinstance(answer, dict):
        for key in ("reason", "error"):
            if answer.get(key):
                detail = answer.get("detail")
                return f"{answer[key]}" + (f" ({detail})" if isinstance(detail, str) and detail else "")
    return json.dumps(answer, ensure_ascii=False)[:300]


def local_time(value: object, tz: str) -> str:
    """An API time (ISO string, any offset or naive UTC) as local ISO with offset; '' for none."""
    if value in (None, ""):
        return ""
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    return t.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def print_json(answer: object) -> None:
    print(json.dumps(answer, ensure_ascii=False, indent=2, default=str))
