"""`haocha health [--wait SECONDS]`: do the worker's API and the terminals' gateway answer?

For scripts and walkthroughs that start both in the background and must wait until they serve."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request

from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("health", help="whether the worker's API and the gateway answer (exit 1 if not)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait up to SECONDS for both")
    p.set_defaults(func=run)


def endpoints(settings) -> dict[str, str]:
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "::", "") else settings.gateway_host
    return {"worker": f"{settings.worker_url.rstrip('/')}/api/v1/health",
            "gateway": f"http://{host}:{settings.gateway_port}/healthz"}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def run(args) -> int:
    pending = endpoints(settings_mod.load())
    deadline = time.monotonic() + args.wait
    while True:
        for name, url in list(pending.items()):
            if _answers(url):
                print(f"{name}: ok ({url})")
                del pending[name]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    for name, url in pending.items():
        print(f"{name}: not answering at {url}" + (f" after {args.wait:g} s" if args.wait else ""), file=sys.stderr)
    return 1 if pending else 0
