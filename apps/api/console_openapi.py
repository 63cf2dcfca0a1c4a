"""The console's endpoints in the OpenAPI document (the console's typed client is checked against it)."""

from __future__ import annotations

_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict:
    return {"$ref": _REF.format(model=name)}


def _json(schema: dict, description: str = "JSON") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(*required: str, **props: dict) -> dict:
    return {"type": "object", "properties": props, **({"required": list(required)} if required else {})}


_S, _B, _I = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
_T = {"type": "string", "format": "date-time"}


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _S}


def _errors(*codes: int) -> dict:
    why = {400: "bad request", 401: "no or expired session or token (code unauthenticated / session_expired)",
           403: "forbidden, or csrf: the X-CSRF-Token header is missing or wrong", 404: "not found",
           409: "conflict", 413: "too_large", 415: "unsupported_type", 422: "invalid",
           429: "locked / rate_limited (Retry-After)", 503: "unavailable"}
    return {str(c): _json(_ref("Error"), why[c]) for c in codes}


SESSION = _obj("actor", "csrf_token", "expires_at", actor=_ref("Actor"), csrf_token=_S, expires_at=_T)
EVIDENCE = _obj("sha256", "name", "size", "content_type", "uploaded_by", "uploaded_at", sha256=_S, name=_S, size=_I,
                content_type=_S, uploaded_by=_S, uploaded_at=_T)
USER = _obj("id", "role", id=_S, role=_S, department_id={"type": ["string", "null"]}, name={"type": ["string", "null"]},
            disabled=_B, has_password=_B, machine=_B, created_at={"type": ["string", "null"]},
            token_expires_at={"type": ["string", "null"]})
TERMINAL = _obj("terminal_id", terminal_id=_S, kind=_S, hall_id=_S, window_id=_S, status=_S, registered_at=_S)
_ROWS = lambda *f: {"type": "array", "items": _obj(*f, **{k: _S for k in f})}  # noqa: E731
DIRECTORY = _obj("halls", "departments", "windows", halls=_ROWS("id", "name"), departments=_ROWS("id", "name"),
                 windows=_ROWS("id", "name", "hall_id", "department_id"))
LINK = _obj("set_password_link", "expires_at", set_password_link=_S, expires_at=_T)
CSRF = [{"name": "X-CSRF-Token", "in": "header", "required": False, "schema": _S,
         "description": "required with the session cookie on every POST/PUT/PATCH/DELETE"}]
_COOKIE_OR_BEARER = [{"bearer": []}, {"session": []}]

TICKET_EXTRAS = _obj(
    review=_obj(rating=_I, reasons={"type": "array", "items": _S}, comment={"type": ["string", "null"]}, window_id=_S,
                hall_id=_S, staff_id={"type": ["string", "null"]}, item_name={"type": ["string", "null"]},
                case_no={"type": ["string", "null"]}, real_name=_B, phone={"type": ["string", "null"]}, happened_at=_T),
    allowed={"type": "array", "items": _S, "description": "commands this caller may issue now (the domain's answer)"},
    working_days_left=_obj(contact={"type": ["number", "null"]}, resolve={"type": ["number", "null"]}),
    evidence={"type": "array", "items": EVIDENCE},
    officers={"type": "array", "items": _obj("id", "name", id=_S, name=_S)},
)


QUEUE_PARAMS = [
    {"name": "month", "in": "query", "required": False, "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
     "description": "reviews of this month (YYYY-MM, local time)"},
    {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100},
     "description": "part of a reason (case-insensitive)"},
    {"name": "escalated", "in": "query", "required": False, "schema": _B,
     "description": "only tickets with a missed deadline (true) or none (false)"},
]
QUEUE_EXTRAS = {"counts": {"type": "object", "additionalProperties": _I,
                           "description": "matching tickets per state (the state filter left out)"},
                "at": _T}


def security_schemes() -> dict:
    return {"session": {"type": "apiKey", "in": "cookie", "name": "haocha_session"}}


def paths() -> dict:
    return {
        "/api/v1/session": {
            "post": {"summary": "sign in with a password; sets the haocha_session cookie (HttpOnly, SameSite=Strict)",
                     "security": [],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _obj("user_id", "password", user_id=_S, password=_S)}}},
                     "responses": {"200": _json(SESSION), **_errors(401, 422, 429)}},
            "get": {"summary": "the current session", "security": [{"session": []}],
                    "responses": {"200": _json(SESSION), **_errors(401)}},
            "delete": {"summary": "sign out", "security": [{"session": []}], "parameters": CSRF,
                       "responses": {"204": {"description": "signed out"}, **_errors(403)}},
        },
        "/api/v1/session/password": {"post": {
            "summary": "set a password with a one-time link's token, or change it with the old one", "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
                "new_password", token=_S, user_id=_S, old_password=_S, new_password=_S)}}},
            "responses": {"204": {"description": "password set"}, **_errors(401, 422, 429)}}},
        "/api/v1/tickets/stream": {"get": {
            "summary": "ticket events as Server-Sent Events (event `ticket`; `: ping` every 15 s)",
            "security": _COOKIE_OR_BEARER,
            "responses": {"200": {"description": "text/event-stream; data: {ticket_id, version, status, "
                                                 "department_id, type}",
                                  "content": {"text/event-stream": {"schema": _S}}}, **_errors(401)}}},
        "/api/v1/tickets/{ticket_id}/evidence": {"post": {
            "summary": "upload an evidence file (pdf, jpg, png, docx, xlsx; at most 10 MiB; type by content)",
            "security": _COOKIE_OR_BEARER, "parameters": [_path("ticket_id"), *CSRF],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _obj(
                "file", file={"type": "string", "format": "binary"})}}},
            "responses": {"201": _json(EVIDENCE), **_errors(401, 403, 404, 413, 415, 422)}}},
        "/api/v1/tickets/{ticket_id}/evidence/{sha256}": {"get": {
            "summary": "download an evidence file of a ticket the caller may see", "security": _COOKIE_OR_BEARER,
            "parameters": [_path("ticket_id"), _path("sha256")],
            "responses": {"200": {"description": "the file (Content-Disposition: attachment)",
                                  "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
                          **_errors(401, 403, 404)}}},
        "/api/v1/admin/users": {
            "get": {"summary": "admin: users (never a hash)", "responses": {"200": _json(_obj(
                "users", users={"type": "array", "items": USER})), **_errors(401, 403)}},
            "post": {"summary": "admin: add a user; without a password the answer carries a set-password link",
                     "parameters": CSRF, "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _obj("id", "role", id=_S, role=_S, department_id=_S, name=_S, password=_S)}}},
                     "responses": {"201": _json(_obj("user", user=USER, set_password_link=_S, expires_at=_T)),
                                   **_errors(401, 403, 409, 422)}}},
        "/api/v1/admin/users/{user_id}": {"patch": {
            "summary": "admin: change role, department, name or disabled", "parameters": [_path("user_id"), *CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
                role=_S, department_id=_S, name=_S, disabled=_B)}}},
            "responses": {"200": _json(_obj("user", user=USER)), **_errors(401, 403, 404, 422)}}},
        "/api/v1/admin/users/{user_id}/reset-password": {"post": {
            "summary": "admin: a one-time set-password link", "parameters": [_path("user_id"), *CSRF],
            "responses": {"200": _json(LINK), **_errors(401, 403, 404)}}},
        "/api/v1/admin/terminals": {
            "get": {"summary": "admin: terminals (never a key)", "responses": {"200": _json(_obj(
                "terminals", terminals={"type": "array", "items": TERMINAL})), **_errors(401, 403, 503)}},
            "post": {"summary": "admin: register a terminal; the key is in this answer only", "parameters": CSRF,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
                         "terminal_id", "kind", "hall_id", "window_id", terminal_id=_S,
                         kind={"enum": ["pad", "kiosk", "qr", "app", "hotline"]}, hall_id=_S, window_id=_S)}}},
                     "responses": {"201": _json(_obj("terminal", "key", terminal=TERMINAL, key=_S)),
                                   **_errors(401, 403, 422, 503)}}},
        "/api/v1/admin/terminals/{terminal_id}/revoke": {"post": {
            "summary": "admin: revoke a terminal", "parameters": [_path("terminal_id"), *CSRF],
            "responses": {"200": _json(_obj("terminal", terminal=TERMINAL)), **_errors(401, 403, 404, 503)}}},
        "/api/v1/admin/terminals/{terminal_id}/pairing-code": {"post": {
            "summary": "admin: a one-time code that pairs a kiosk's browser with this terminal",
            "parameters": [_path("terminal_id"), *CSRF],
            "responses": {"200": _json(_obj("code", "expires_at", code=_S, expires_at=_T)),
                          **_errors(401, 403, 422, 503)}}},
        "/api/v1/directory": {"get": {"summary": "the routing directory: halls, departments, windows",
                                      "responses": {"200": _json(DIRECTORY), **_errors(401)}}},
        "/api/v1/admin/directory": {"put": {
            "summary": "admin: replace the routing directory (validated; `detail` lists every problem)",
            "parameters": CSRF, "requestBody": {"required": True, "content": {"application/json": {"schema": DIRECTORY}}},
            "responses": {"200": _json(DIRECTORY), **_errors(401, 403, 422)}}},
        "/api/v1/settings/deadlines": {"get": {
            "summary": "the deadline settings in force",
            "responses": {"200": _json(_obj("contact_working_days", "resolve_working_days", "warn_percents", "timezone",
                                            contact_working_days={"type": "number"},
                                            resolve_working_days={"type": "number"},
                                            warn_percents={"type": "array", "items": _I}, timezone=_S)),
                          **_errors(401)}}},
    }
