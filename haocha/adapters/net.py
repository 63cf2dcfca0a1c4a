"""Loopback helpers for tools and tests: is something listening, and a free port."""

from __future__ import annotations

import socket


def reachable(address: str, timeout: float = 2.0) -> bool:
    """True when a TCP connection to HOST:PORT succeeds."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
