"""Query parameters, parsed in one place: a value that is not what its parameter takes answers 422
JSON naming the parameter (code "invalid"), never a 500 from a bare int() deep in a handler."""

from __future__ import annotations

from datetime import datetime

from apps.api.commands import BadRequest, parse_at

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def boolean(q, name: str) -> bool | None:
    """true/1/yes, false/0/no; None when absent or empty."""
    raw = (q.get(name) or "").lower()
    if not raw:
        return None
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise BadRequest(422, f"`{name}` is true or false")


def integer(q, name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    if not raw.lstrip("-").isascii() or not raw.lstrip("-").isdigit():
        raise BadRequest(422, f"`{name}` is an integer")
    value = int(raw)
    if not lo <= value <= hi:
        raise BadRequest(422, f"`{name}` is between {lo} and {hi}")
    return value


def time(q, name: str, default: datetime | None = None) -> datetime:
    """An ISO time with its offset; `default` when absent, else the parameter is required."""
    raw = q.get(name)
    if not raw:
        if default is None:
            raise BadRequest(422, f"`{name}` is required")
        return default
    try:
        return parse_at(raw)
    except BadRequest:
        raise BadRequest(422, f"`{name}` is an ISO time with an offset, e.g. 2021-05-06T09:00:00+08:00") from None


def required(q, name: str) -> str:
    value = q.get(name)
    if not value:
        raise BadRequest(422, f"`{name}` is required")
    return value


def choice(q, name: str, allowed, default: str | None = None) -> str | None:
    value = q.get(name) or default
    if value is not None and value not in allowed:
        raise BadRequest(422, f"`{name}` is one of {', '.join(sorted(allowed))}")
    return value
