"""管理: users, terminals, the routing directory and the deadline settings, for the console.

Users are the same users file `haocha user` writes; terminals go through the gateway's registry
(the terminals topic), so the CLI and the console are two doors to one record.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from apps.api.commands import BadRequest
from apps.api.http import AUTH, body_of, caller, json_response
from apps.commands.user import known_department, link
from haocha.auth.users import ROLES, USER_ID
from haocha.domain.deadlines import DeadlinePolicy
from haocha.domain.directory import Directory
from haocha.settings import Settings
from schemas.tickets import Actor

TERMINAL_KINDS = ("pad", "kiosk", "qr", "app", "hotline")
_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class AdminContext:
    settings: Settings
    directory: Callable[[], Directory]  # the routing table in force
    use_directory: Callable[[Directory], None]  # put a saved table in force in this worker
    policy: DeadlinePolicy
    terminals: "TerminalDoor | None" = None


@dataclass
class TerminalDoor:
    """The registry's functions, bound to the settings by the composition root."""

    list: Callable[[], Awaitable[list[dict]]]
    register: Callable[[str, str, str, str], Awaitable[tuple[dict, str]]]  # id, kind, hall, window -> (record, key)
    revoke: Callable[[str], Awaitable[dict]]
    pairing_code: Callable[[str], Awaitable[dict]] | None = None  # id -> {"code", "expires_at"}


ADMIN = web.AppKey("admin", AdminContext)


def _admin(request: web.Request) -> Actor:
    actor = caller(request)
    if actor.role != "admin":
        raise BadRequest(403, "only an admin may manage users, terminals and the directory")
    return actor


def _object(body: object) -> dict:
    if not isinstance(body, dict):
        raise BadRequest(422, "the body is a JSON object")
    return body


def _str(body: dict, name: str, required: bool = True) -> str | None:
    v = body.get(name)
    if not required and (v is None or v == ""):  # a form's empty field
        return None
    if not isinstance(v, str) or not v.strip():
        raise BadRequest(422, f"`{name}` is a non-empty string")
    return v.strip()


# -- users ------------------------------------------------------------------------------------


async def list_users(request: web.Request) -> web.Response:
    _admin(request)
    users = request.app[AUTH].users
    return json_response({"users": [u.public() for u in users.all()]})


def _check_user_fields(ad: AdminContext, role: str | None, department: str | None, is_officer: bool) -> None:
    if role is not None and role not in ROLES:
        raise BadRequest(422, f"`role` is one of {', '.join(ROLES)}")
    if department is not None and not known_department(ad.directory(), department):
        raise BadRequest(422, f"no department {department} in the directory")
    if is_officer and not department:
        raise BadRequest(422, "an officer belongs to a department (`department_id`)")


async def create_user(request: web.Request) -> web.Response:
    _admin(request)
    ad, auth, body = request.app[ADMIN], request.app[AUTH], _object(await body_of(request))
    user_id, role = _str(body, "id"), _str(body, "role")
    department, name, password = _str(body, "department_id", False), _str(body, "name", False), body.get("password")
    if not USER_ID.fullmatch(user_id):
        raise BadRequest(422, "`id` is 1-64 of A-Z a-z 0-9 . _ -")
    _check_user_fields(ad, role, department, role == "officer")
    if auth.users.get(user_id) is not None:
        raise BadRequest(409, f"user {user_id} exists", code="conflict")
    digest = None
    if password is not None:
        if not isinstance(password, str) or not 8 <= len(password) <= 256:
            raise BadRequest(422, "a password has 8 to 256 characters")
        digest = await auth.checker.hash(password)
    # A person made in the console signs in with a password; tokens are for the CLI and machines.
    await asyncio.to_thread(auth.users.add, user_id, role, department, name=name, password_hash=digest,
                            with_token=False)
    answer: dict[str, Any] = {"user": auth.users.get(user_id).public()}
    if digest is None:
        token, expires = await asyncio.to_thread(auth.users.issue_link, user_id, ad.settings.set_password_link_hours)
        answer.update(set_password_link=link(ad.settings, token), expires_at=expires.isoformat())
    return json_response(answer, 201)


async def patch_user(request: web.Request) -> web.Response:
    actor = _admin(request)
    ad, auth, body = request.app[ADMIN], request.app[AUTH], _object(await body_of(request))
    user_id = request.match_info["user_id"]
    old = auth.users.get(user_id)
    if old is None:
        raise BadRequest(404, f"no user {user_id}")
    changes: dict[str, Any] = {}
    if "role" in body:
        changes["role"] = _str(body, "role")
    if "department_id" in body:
        changes["department_id"] = _str(body, "department_id", False)
    if "name" in body:
        changes["name"] = _str(body, "name", False)
    if "disabled" in body:
        if not isinstance(body["disabled"], bool):
            raise BadRequest(422, "`disabled` is true or false")
        if body["disabled"] and user_id == actor.id:
            raise BadRequest(422, "an admin cannot disable their own account")
        changes["disabled"] = body["disabled"]
    role = changes.get("role", old.role)
    _check_user_fields(ad, changes.get("role"), changes.get("department_id"),
                       role == "officer" and not changes.get("department_id", old.department_id))
    user = await asyncio.to_thread(auth.users.update, user_id, **changes)
    if changes.get("disabled") or "role" in changes or "department_id" in changes:
        auth.sessions.end_all_of(user_id)  # they sign in again, as what they are now
    return json_response({"user": user.public()})


async def reset_password(request: web.Request) -> web.Response:
    _admin(request)
    ad, auth = request.app[ADMIN], request.app[AUTH]
    user_id = request.match_info["user_id"]
    issued = await asyncio.to_thread(auth.users.issue_link, user_id, ad.settings.set_password_link_hours)
    if issued is None:
        raise BadRequest(404, f"no user {user_id}")
    token, expires = issued
    return json_response({"set_password_link": link(ad.settings, token), "expires_at": expires.isoformat()})


# -- terminals --------------------------------------------------------------------------------


def _door(request: web.Request) -> TerminalDoor:
    door = request.app[ADMIN].terminals
    if door is None:
        raise BadRequest(503, "this worker manages no terminals", code="unavailable")
    return door


async def list_terminals(request: web.Request) -> web.Response:
    _admin(request)
    return json_response({"terminals": await _door(request).list()})


async def create_terminal(request: web.Request) -> web.Response:
    _admin(request)
    body = _object(await body_of(request))
    tid, kind, hall, window = (_str(body, k) for k in ("terminal_id", "kind", "hall_id", "window_id"))
    if not _ID.fullmatch(tid):
        raise BadRequest(422, "`terminal_id` is 1-64 of A-Z a-z 0-9 . _ : -")
    if kind not in TERMINAL_KINDS:
        raise BadRequest(422, f"`kind` is one of {', '.join(TERMINAL_KINDS)}")
    try:
        record, key = await _door(request).register(tid, kind, hall, window)
    except ValueError as exc:
        raise BadRequest(422, str(exc)) from None
    return json_response({"terminal": record, "key": key}, 201)


async def revoke_terminal(request: web.Request) -> web.Response:
    _admin(request)
    try:
        record = await _door(request).revoke(request.match_info["terminal_id"])
    except ValueError as exc:
        raise BadRequest(404, str(exc)) from None
    return json_response({"terminal": record})


async def pairing_code(request: web.Request) -> web.Response:
    _admin(request)
    door = _door(request)
    if door.pairing_code is None:
        raise BadRequest(503, "kiosk pairing is not available in this version of the gateway", code="unavailable")
    try:
        return json_response(await door.pairing_code(request.match_info["terminal_id"]))
    except ValueError as exc:
        raise BadRequest(422, str(exc)) from None


# -- directory and deadlines ------------------------------------------------------------------


def directory_view(d: Directory) -> dict:
    return {"halls": [{"id": k, "name": v} for k, v in d.halls.items()],
            "departments": [{"id": k, "name": v} for k, v in d.departments.items()],
            "windows": [{"id": w.window_id, "name": w.name, "hall_id": w.hall_id, "department_id": w.department_id}
                        for w in d.windows.values()]}


def directory_problems(body: object, officers: dict[str, list[str]]) -> tuple[list[str], dict | None]:
    """Everything wrong with a proposed directory (all at once, for one form), or the file's JSON.
    `officers`: department id -> its officers, who must not lose their department."""
    if not isinstance(body, dict):
        return ["the body is an object with halls, departments and windows"], None
    problems: list[str] = []
    seen: dict[str, dict[str, dict]] = {}
    for part in ("halls", "departments", "windows"):
        rows = body.get(part)
        if not isinstance(rows, list):
            problems.append(f"`{part}` is a list")
            rows = []
        seen[part] = {}
        for i, row in enumerate(rows):
            where = f"{part}[{i}]"
            if not isinstance(row, dict):
                problems.append(f"{where} is an object")
                continue
            rid, name = row.get("id"), row.get("name")
            if not isinstance(rid, str) or not _ID.fullmatch(rid) or rid.startswith("supervisor"):
                problems.append(f"{where}.id {rid!r} is 1-64 of A-Z a-z 0-9 . _ : - (not supervisor…)")
                continue
            if not isinstance(name, str) or not name.strip() or len(name) > 100:
                problems.append(f"{where}.name of {rid} is a non-empty text of at most 100 characters")
            if rid in seen[part]:
                problems.append(f"{where}.id {rid} appears twice")
            seen[part][rid] = row
    for wid, w in seen["windows"].items():
        if w.get("hall_id") not in seen["halls"]:
            problems.append(f"window {wid}: no hall {w.get('hall_id')!r}")
        if w.get("department_id") not in seen["departments"]:
            problems.append(f"window {wid}: no department {w.get('department_id')!r}")
    for dept, names in sorted(officers.items()):
        if dept not in seen["departments"] and not dept.startswith("supervisor:"):
            problems.append(f"department {dept} still has officers ({', '.join(sorted(names))}): move them first")
    if problems:
        return problems, None
    return [], {
        "departments": [{"department_id": k, "name": v["name"]} for k, v in seen["departments"].items()],
        "halls": [{"hall_id": k, "name": v["name"]} for k, v in seen["halls"].items()],
        "windows": [{"window_id": k, "hall_id": v["hall_id"], "department_id": v["department_id"], "name": v["name"]}
                    for k, v in seen["windows"].items()],
    }


async def get_directory(request: web.Request) -> web.Response:
    caller(request)
    return json_response(directory_view(request.app[ADMIN].directory()))


async def put_directory(request: web.Request) -> web.Response:
    _admin(request)
    ad, auth = request.app[ADMIN], request.app[AUTH]
    officers: dict[str, list[str]] = {}
    for u in auth.users.all():
        if u.role == "officer" and u.department_id:
            officers.setdefault(u.department_id, []).append(u.id)
    problems, raw = directory_problems(await body_of(request), officers)
    if problems:
        raise BadRequest(422, "the directory has problems", problems, code="invalid")
    old = ad.directory()
    for d in raw["departments"]:  # the console edits names; a department's service items stay
        d["items"] = [{"code": c, "name": n} for c, n in old.items.get(d["department_id"], [])]
    target = ad.settings.data_dir / "directory.json"
    await asyncio.to_thread(_write_json, target, raw)
    new = Directory.load(target)
    ad.use_directory(new)
    return json_response(directory_view(new))


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".directory-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


async def deadlines(request: web.Request) -> web.Response:
    caller(request)
    ad = request.app[ADMIN]
    p = ad.policy
    return json_response({"contact_working_days": p.contact_working_days, "resolve_working_days": p.resolve_working_days,
                          "warn_percents": list(p.warn_percents), "timezone": ad.settings.timezone})


def add_routes(app: web.Application, ad: AdminContext) -> None:
    app[ADMIN] = ad
    r = app.router
    r.add_get("/api/v1/admin/users", list_users)
    r.add_post("/api/v1/admin/users", create_user)
    r.add_patch("/api/v1/admin/users/{user_id}", patch_user)
    r.add_post("/api/v1/admin/users/{user_id}/reset-password", reset_password)
    r.add_get("/api/v1/admin/terminals", list_terminals)
    r.add_post("/api/v1/admin/terminals", create_terminal)
    r.add_post("/api/v1/admin/terminals/{terminal_id}/revoke", revoke_terminal)
    r.add_post("/api/v1/admin/terminals/{terminal_id}/pairing-code", pairing_code)
    r.add_get("/api/v1/directory", get_directory)
    r.add_put("/api/v1/admin/directory", put_directory)
    r.add_get("/api/v1/settings/deadlines", deadlines)
