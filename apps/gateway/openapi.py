"""The OpenAPI document, served at /v1/openapi.json. The review schema is the wire model itself
(schemas.review.ReviewSubmitted), so the document cannot drift from what the gateway validates."""

from __future__ import annotations

from functools import lru_cache

from apps.gateway.errors import STATUS
from haocha.settings import Settings
from schemas.review import REASON_TAGS, ReviewSubmitted

API_VERSION = "1.0.0"
_REF = "#/components/schemas/{model}"

_SIGNED_HEADERS = [
    ("X-Haocha-Terminal", "registered terminal id", {"type": "string", "maxLength": 64}),
    ("X-Haocha-Timestamp", "Unix seconds at signing; within ±skew of the gateway clock", {"type": "string"}),
    ("X-Haocha-Nonce", "8-128 characters [A-Za-z0-9._~-], never reused", {"type": "string"}),
    ("X-Haocha-Signature", "hex HMAC over the canonical string (docs/gateway.md)", {"type": "string"}),
]


def _error_responses(*codes: int) -> dict:
    out = {}
    for status in codes:
        names = sorted(c for c, s in STATUS.items() if s == status)
        out[str(status)] = {
            "description": "refused: " + ", ".join(names),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


_AUTH_ERRORS = (401, 403, 429, 503)


def _signed(op: dict) -> dict:
    params = [{"name": n, "in": "header", "required": True, "description": d, "schema": s}
              for n, d, s in _SIGNED_HEADERS]
    params.append({"name": "X-Haocha-Alg", "in": "header", "required": False,
                   "schema": {"type": "string", "enum": ["hmac-sha256", "sm3-hmac"], "default": "hmac-sha256"}})
    op["parameters"] = params + op.get("parameters", [])
    op["security"] = [{"HaochaSignature": []}]
    return op


@lru_cache(maxsize=4)
def document(settings: Settings) -> dict:
    review = ReviewSubmitted.model_json_schema(ref_template=_REF)
    defs = review.pop("$defs", {})
    answer = {
        "type": "object",
        "required": ["status", "review_id", "received_at", "happened_at", "resend"],
        "properties": {
            "status": {"type": "string", "enum": ["accepted"]},
            "review_id": {"type": "string"},
            "received_at": {"type": "string", "format": "date-time"},
            "happened_at": {"type": "string", "format": "date-time"},
            "resend": {"type": "boolean", "description": "true: this review id was already accepted; the original answer"},
            "hint": {"anyOf": [{"$ref": "#/components/schemas/Verdict"}, {"type": "null"}],
                     "description": "what the stream will decide, when the gateway can already tell"},
            "classification": {"anyOf": [{"$ref": "#/components/schemas/Verdict"}, {"type": "null"}],
                               "description": "the stream's verdict, once known"},
        },
    }
    schemas = {
        **defs,
        "ReviewSubmitted": review,
        "Verdict": {"type": "object", "properties": {
            "classification": {"type": "string", "enum": ["counted", "duplicate_case", "repeat_press", "follow_up",
                                                          "follow_up_rejected"]},
            "note": {"type": "string"}}},
        "Accepted": answer,
        "Batch": {"type": "object", "required": ["reviews"], "additionalProperties": False, "properties": {
            "reviews": {"type": "array", "maxItems": settings.gateway_max_batch,
                        "items": {"$ref": "#/components/schemas/ReviewSubmitted"}}}},
        "BatchResult": {"type": "object", "properties": {
            "accepted": {"type": "integer"}, "resent": {"type": "integer"}, "rejected": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object", "properties": {
                "index": {"type": "integer"}, "review_id": {"type": ["string", "null"]},
                "status": {"type": "string", "enum": ["accepted", "resend", "rejected"]},
                "http_status": {"type": "integer"}, "error": {"type": "string"}, "detail": {"type": "string"}}}}}},
        "Error": {"type": "object", "required": ["error", "detail"], "properties": {
            "error": {"type": "string", "enum": sorted(STATUS)},
            "detail": {"type": "string"},
            "server_time": {"type": "integer", "description": "with stale_timestamp: the gateway clock"}}},
        "KioskReview": {"type": "object", "required": ["rating"], "properties": {
            "review_id": {"type": "string"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "reasons": {"type": "array", "items": {"type": "string", "enum": list(REASON_TAGS)}},
            "phone": {"type": ["string", "null"]}}},
        "KioskPairing": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string", "pattern": "^[0-9]{8}$", "description": "the one-time code an admin issued"}}},
    }
    json_body = lambda ref: {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Haocha terminal gateway",
            "version": API_VERSION,
            "description": "Hall terminals post 好差评 reviews here. Every /v1 request except this document is "
                           "signed (docs/gateway.md). Errors are JSON {error, detail}; error is a stable code.",
        },
        "paths": {
            "/v1/reviews": {"post": _signed({
                "operationId": "postReview", "summary": "one review",
                "requestBody": json_body("#/components/schemas/ReviewSubmitted"),
                "responses": {
                    "202": {"description": "accepted and durably logged (or a resend: the original answer)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    **_error_responses(400, 409, 413, 422, *_AUTH_ERRORS)}})},
            "/v1/reviews/batch": {"post": _signed({
                "operationId": "postReviews", "summary": "a batch of reviews, answered one by one",
                "requestBody": json_body("#/components/schemas/Batch"),
                "responses": {
                    "200": {"description": "per-review results",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}}}},
                    **_error_responses(400, 413, 422, *_AUTH_ERRORS)}})},
            "/v1/reviews/{review_id}": {"get": _signed({
                "operationId": "getReview", "summary": "the answer for a review this terminal sent, with the verdict",
                "parameters": [{"name": "review_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "known",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    **_error_responses(404, *_AUTH_ERRORS)}})},
            "/v1/terminal": {"get": _signed({
                "operationId": "whoami", "summary": "the calling terminal's binding and the gateway clock",
                "responses": {"200": {"description": "binding"}, **_error_responses(*_AUTH_ERRORS)}})},
            "/kiosk/{terminal_id}/reviews": {"post": {
                "operationId": "postKioskReview",
                "summary": "the kiosk page's post, from its paired browser (cookie haocha_kiosk); signed on the "
                           "server side, timed by the gateway's clock",
                "parameters": [{"name": "terminal_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": json_body("#/components/schemas/KioskReview"),
                "responses": {
                    "202": {"description": "accepted",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    **_error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)}}},
            "/kiosk/{terminal_id}/pair": {"post": {
                "operationId": "pairKiosk",
                "summary": "the kiosk page takes its one-time pairing code; the answer sets the device cookie",
                "parameters": [{"name": "terminal_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": json_body("#/components/schemas/KioskPairing"),
                "responses": {"200": {"description": "paired; Set-Cookie haocha_kiosk (HttpOnly)"},
                              **_error_responses(401, 403, 404, 413, 429)}}},
            "/healthz": {"get": {"operationId": "health", "summary": "liveness and counters",
                                 "responses": {"200": {"description": "serving"}, "503": {"description": "not ready"}}}},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"HaochaSignature": {
                "type": "apiKey", "in": "header", "name": "X-Haocha-Signature",
                "description": "HMAC-SHA256 (or SM3-HMAC) of METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(H(body)) "
                               "with the terminal key; see docs/gateway.md"}},
        },
    }
