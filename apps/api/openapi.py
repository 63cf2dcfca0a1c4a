"""The OpenAPI 3.1 document, built from the same pydantic models the worker validates with, so the
document cannot drift from what the API accepts."""

from __future__ import annotations

from functools import cache
from typing import get_args

from pydantic.json_schema import models_json_schema

from apps.api import console_openapi, insights
from schemas import tickets as t

_COMMANDS = [m for m in get_args(get_args(t.TicketCommand)[0])]
_REF = "#/components/schemas/{model}"

_PARAMS = {
    "ticket_id": {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}},
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _json(schema: dict, description: str = "") -> dict:
    return {"description": description or "JSON", "content": {"application/json": {"schema": schema}}}


_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "code": {"type": "string"}, "detail": {}},
          "required": ["error", "code"]}
_TICKET = {
    "type": "object",
    "description": "A row of the `tickets` table plus `next_due` (the earliest running deadline), "
                   "`time_left_seconds` and `overdue` as of `at`.",
    "properties": {k: {} for k in (
        "ticket_id", "version", "status", "department_id", "window_id", "hall_id", "rating", "real_name",
        "happened_at", "opened_at", "contact_due", "resolve_due", "next_due", "officer_id", "time_left_seconds",
        "overdue", "warned", "escalated", "appeal", "resolution", "reasons")},
}
_EVENT = {"type": "object", "description": "A ticket event from `ticket_events`; the payload's phone is masked.",
          "properties": {k: {} for k in ("event_id", "version", "type", "occurred_at", "recorded_at", "actor_id",
                                         "actor_role", "command_id", "event")}}


@cache
def openapi_document() -> dict:
    _, defs = models_json_schema([(m, "validation") for m in (*_COMMANDS, t.Actor)] +
                                 [(t.CommandOutcome, "serialization")], ref_template=_REF)
    schemas = dict(defs.get("$defs", {}))
    extras = {
        "expected_version": {"type": "integer", "description": "conflict (409) unless the ticket is at this version"},
        "command_id": {"type": "string", "description": "idempotency key (default: a new uuid)"},
        "at": {"type": "string", "format": "date-time", "description": "admin only: business time of the command"},
        "act_as": {"$ref": _REF.format(model="Actor"), "description": "admin only: act as this actor"},
    }
    schemas["CommandRequest"] = {
        "description": "One ticket command: `kind` plus the command's fields, and the optional envelope fields.",
        "oneOf": [{"allOf": [{"$ref": _REF.format(model=m.__name__)},
                             {"type": "object", "properties": extras}]} for m in _COMMANDS],
        "discriminator": {"propertyName": "kind"},
    }
    schemas.update(Ticket=_TICKET, TicketEvent=_EVENT, Error=_ERROR)
    ref = lambda name: {"$ref": _REF.format(model=name)}  # noqa: E731
    errors = {str(code): _json(ref("Error"), why) for code, why in (
        (401, "missing or invalid bearer token"), (403, "not allowed for this role or department"))}
    outcome = ref("CommandOutcome")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Haocha 好差评 rectification tickets", "version": "1",
                 "description": "Served by the worker. Commands are applied one at a time per ticket through the "
                                "Kafka log; the answer is the ticket's outcome. Reads come from ClickHouse and "
                                "lag the log by about one second (a ticket's detail reads the worker's own "
                                "table first)."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           **console_openapi.security_schemes()}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/health": {"get": {"summary": "ready to answer", "security": [], "responses": {
                "200": _json({"type": "object"}, "ready"), "503": _json({"type": "object"}, "starting")}}},
            "/openapi.json": {"get": {"summary": "this document", "security": [],
                                      "responses": {"200": _json({"type": "object"})}}},
            "/api/v1/me": {"get": {"summary": "who the token stands for",
                                   "responses": {"200": _json(ref("Actor")), **errors}}},
            "/api/v1/tickets": {"get": {
                "summary": "the ticket queue, sorted by time left (officers: their department only)",
                "parameters": [
                    _query("department", {"type": "string"}, "department id"),
                    _query("window", {"type": "string"}, "window id"),
                    _query("state", {"type": "string"}, "status, e.g. assigned"),
                    _query("overdue", {"type": "boolean"}, "only overdue (true) or not overdue (false)"),
                    _query("at", {"type": "string", "format": "date-time"}, "time left / overdue as of (default now)"),
                    _query("limit", {"type": "integer", "default": 500}, "page size"),
                    _query("offset", {"type": "integer", "default": 0}, "page start"),
                    *console_openapi.QUEUE_PARAMS,
                ],
                "responses": {"200": _json({"type": "object", "properties": {
                    "tickets": {"type": "array", "items": ref("Ticket")}, "total": {"type": "integer"},
                    **console_openapi.QUEUE_EXTRAS}}), **errors}}},
            "/api/v1/tickets/{ticket_id}": {"get": {
                "summary": "a ticket with its event history (phone masked)",
                "parameters": [_PARAMS["ticket_id"],
                               _query("fresh", {"type": "boolean"},
                                      "accepted for older clients: every detail reads the worker's own table first"),
                               _query("at", {"type": "string", "format": "date-time"}, "time left as of")],
                "responses": {"200": _json({"allOf": [ref("Ticket"), {"type": "object", "properties": {
                    "events": {"type": "array", "items": ref("TicketEvent")}}}, console_openapi.TICKET_EXTRAS]}),
                    "404": _json(ref("Error"), "no such ticket"), **errors}}},
            "/api/v1/tickets/{ticket_id}/commands": {"post": {
                "summary": "issue a command; the outcome is answered synchronously",
                "parameters": [_PARAMS["ticket_id"]],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("CommandRequest")}}},
                "responses": {
                    "200": _json(outcome, "accepted or duplicate"), "409": _json(outcome, "conflict"),
                    "422": _json(outcome, "refused: illegal transition or invalid"),
                    "404": _json(outcome, "no such ticket"), "403": _json(outcome, "forbidden"),
                    "401": errors["401"], "504": _json(ref("Error"), "no outcome in time; resend the same command_id")}}},
            "/api/v1/tickets/{ticket_id}/phone": {"post": {
                "summary": "the evaluator's phone number, for the officer handling the ticket; recorded as PhoneViewed",
                "parameters": [_PARAMS["ticket_id"]],
                "responses": {"200": _json({"type": "object", "properties": {"phone": {"type": ["string", "null"]}}}),
                              **errors}}},
            **insights.openapi_paths(),
            **console_openapi.paths(),
            "/api/v1/admin/check": {"get": {
                "summary": "admin: every read model in the store against a fold of the Kafka log (`haocha check`)",
                "responses": {"200": _json({"type": "object", "properties": {
                    "ok": {"type": "boolean"}, "lag": {"type": ["integer", "null"]},
                    "models": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                        "log": {"type": "integer"}, "store": {"type": "integer"}, "differences": {"type": "integer"},
                        "shown": {"type": "array", "items": {"type": "string"}}}}}}}),
                    "503": _json(ref("Error"), "the worker has no store"), **errors}}},
            "/api/v1/admin/sweep": {"post": {
                "summary": "admin: check deadlines of the local open tickets as of `at`",
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}}}},
                "responses": {"200": _json({"type": "object", "properties": {
                    "checked": {"type": "integer"}, "commands": {"type": "integer"}, "events": {"type": "integer"}}}),
                    **errors}}},
        },
    }
