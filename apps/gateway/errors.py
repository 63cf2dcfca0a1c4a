"""Refusals: one machine-readable code each, one HTTP status each. Never a 500 for bad input."""

from __future__ import annotations

# code -> HTTP status. Terminal firmware switches on the code, people read the detail.
STATUS: dict[str, int] = {
    # authentication (401: fix the request; 403: the terminal may not do this)
    "auth_missing": 401,
    "auth_malformed": 401,
    "unsupported_alg": 401,
    "unknown_terminal": 401,
    "bad_signature": 401,
    "stale_timestamp": 401,
    "nonce_reused": 401,
    "terminal_revoked": 403,
    "window_mismatch": 403,
    "terminal_mismatch": 403,
    "channel_mismatch": 403,
    "kiosk_unpaired": 401,
    "pairing_failed": 401,
    # input
    "empty": 400,
    "not_json": 400,
    "schema": 422,
    "unknown_hall": 422,
    "unknown_window": 422,
    "impossible_time": 422,
    "unknown_reason": 422,
    "reason_required": 422,
    "body_too_large": 413,
    "batch_too_large": 413,
    "review_id_conflict": 409,
    "not_kiosk": 404,
    "kiosk_forbidden": 403,
    # flow
    "rate_limited": 429,
    "unavailable": 503,
    "not_found": 404,
    "method_not_allowed": 405,
    "bad_request": 400,
}

# Refusals a terminal must not simply retry: the input itself is wrong.
PERMANENT = frozenset({
    "empty", "not_json", "schema", "unknown_hall", "unknown_window", "impossible_time", "body_too_large",
    "batch_too_large", "review_id_conflict", "window_mismatch", "terminal_mismatch", "channel_mismatch",
    "unknown_reason", "reason_required",
})


class GatewayError(Exception):
    def __init__(self, code: str, detail: str, *, headers: dict[str, str] | None = None, extra: dict | None = None):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = STATUS.get(code, 400)
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail, **self.extra}
