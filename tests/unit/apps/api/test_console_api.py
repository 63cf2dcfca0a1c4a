"""The console's endpoints in-process (no Kafka): the ticket detail's review, allowed commands,
working days and officers; assignment rules over HTTP; evidence limits (size, type by magic bytes)
and who may download; the admin's users and directory with validation; the built front end's
cache headers."""

from __future__ import annotations

import io
import zipfile

import aiohttp
import pytest

from tests.support.console_api import console_client, opened_body

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
async def api(tmp_path):
    client = await console_client(tmp_path)
    yield client
    await client.close()


async def cmd(api, who, body, tid="TK-1"):
    r = await api.post(f"/api/v1/tickets/{tid}/commands", json=body, headers=api.h[who])
    return r.status, await r.json()


async def detail(api, who, tid="TK-1"):
    r = await api.get(f"/api/v1/tickets/{tid}", headers=api.h[who])
    return r.status, await r.json()


async def test_detail_shows_the_review_the_allowed_commands_days_left_and_the_officers(api):
    await cmd(api, "root", opened_body(comment="请回电 13912345678 谢谢"))
    status, d = await detail(api, "li")
    assert status == 200
    assert d["review"]["comment"] == "请回电 139****5678 谢谢" and d["review"]["phone"] == "138****5678"
    assert d["review"]["reasons"] == ["态度差"] and d["review"]["case_no"] == "C-1"
    assert d["allowed"] == ["AssignTicket", "ClaimTicket", "FileAppeal"]
    assert d["working_days_left"]["contact"] == 0.96 and d["working_days_left"]["resolve"] == 4.96
    assert d["officers"] == [{"id": "o-li", "name": "li"}, {"id": "o-wang", "name": "wang"}]
    assert d["evidence"] == [] and d["events"][0]["actor"] == {"id": "a-root", "role": "admin"}
    assert (await detail(api, "chen"))[1]["allowed"] == ["AssignTicket", "FileAppeal"]
    assert (await detail(api, "sun"))[1]["allowed"] == []
    assert (await detail(api, "zhao"))[0] == 403
    assert "13812345678" not in str(d) and "13912345678" not in str(d)


async def test_claim_then_a_colleague_cannot_take_over_and_a_supervisor_can(api):
    await cmd(api, "root", opened_body())
    status, out = await cmd(api, "li", {"kind": "ClaimTicket", "expected_version": 1})
    assert status == 200 and out["events"][0]["event"] == {"type": "TicketAssigned", "officer_id": "o-li",
                                                           "previous_officer_id": None}
    status, out = await cmd(api, "wang", {"kind": "AssignTicket", "officer_id": "o-wang"})
    assert status == 403 and out["code"] == "forbidden" and "needs a supervisor" in out["error"]
    assert (await api.post("/api/v1/tickets/TK-1/phone", headers=api.h["wang"])).status == 403
    # the assignee is checked by the API against the users file, whatever the caller sends
    status, out = await cmd(api, "chen", {"kind": "AssignTicket", "officer_id": "o-ghost",
                                          "assignee": {"id": "o-ghost", "role": "officer", "department_id": "D-ZSJ"}})
    assert status == 422 and out["code"] == "invalid" and "not a known, active user" in out["error"]
    status, out = await cmd(api, "chen", {"kind": "AssignTicket", "officer_id": "o-zhao"})
    assert status == 422 and "officer of D-CZJ, not of D-ZSJ" in out["error"]
    api.users.update("o-wang", disabled=True)
    assert (await cmd(api, "chen", {"kind": "AssignTicket", "officer_id": "o-wang"}))[0] == 422
    api.users.update("o-wang", disabled=False)
    status, out = await cmd(api, "chen", {"kind": "AssignTicket", "officer_id": "o-wang"})
    assert status == 200 and out["events"][0]["event"]["previous_officer_id"] == "o-li"
    assert (await api.post("/api/v1/tickets/TK-1/phone", headers=api.h["li"])).status == 403
    assert (await api.post("/api/v1/tickets/TK-1/phone", headers=api.h["wang"])).status == 200
    status, out = await cmd(api, "li", {"kind": "ClaimTicket", "expected_version": 1})
    assert status == 409 and out["code"] == "conflict"


def upload(api, who, name, data, tid="TK-1"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return api.post(f"/api/v1/tickets/{tid}/evidence", data=form, headers=api.h[who])


def office_file(kind: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buf.getvalue()


async def test_evidence_is_typed_by_its_bytes_limited_in_size_and_stored_once(api, tmp_path):
    await cmd(api, "root", opened_body())
    r = await upload(api, "li", "整改记录.pdf", PDF)
    assert r.status == 201
    meta = await r.json()
    assert meta["content_type"] == "application/pdf" and meta["size"] == len(PDF) and meta["uploaded_by"] == "o-li"
    assert (await upload(api, "li", "again.pdf", PDF)).status == 201
    blobs = [p for p in (tmp_path / "data" / "evidence").rglob(meta["sha256"])]
    assert len(blobs) == 1 and blobs[0].parent.name == meta["sha256"][:2]
    for name, data in (("photo.png", PNG), ("minutes.docx", office_file("docx")), ("sheet.xlsx", office_file("xlsx"))):
        assert (await upload(api, "li", name, data)).status == 201, name
    for name, data in (("evil.pdf", b"MZ\x90\x00 not a pdf"), ("photo.png", PDF), ("x.exe", PDF),
                       ("sheet.xlsx", office_file("docx")), ("noext", PDF)):
        r = await upload(api, "li", name, data)
        assert r.status == 415 and (await r.json())["code"] == "unsupported_type", name
    r = await upload(api, "li", "big.pdf", PDF + b"0" * (64 * 1024))
    assert r.status == 413 and (await r.json())["code"] == "too_large"
    d = (await detail(api, "li"))[1]
    assert [e["name"] for e in d["evidence"]] == ["整改记录.pdf", "again.pdf", "photo.png", "minutes.docx", "sheet.xlsx"]


async def test_evidence_only_for_those_who_may_see_the_ticket(api):
    await cmd(api, "root", opened_body())
    await cmd(api, "root", opened_body("TK-2", "D-CZJ"), tid="TK-2")
    sha = (await (await upload(api, "li", "a.pdf", PDF)).json())["sha256"]
    r = await api.get(f"/api/v1/tickets/TK-1/evidence/{sha}", headers=api.h["wang"])
    assert r.status == 200 and await r.read() == PDF and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert (await api.get(f"/api/v1/tickets/TK-1/evidence/{sha}", headers=api.h["sun"])).status == 200
    assert (await api.get(f"/api/v1/tickets/TK-1/evidence/{sha}", headers=api.h["zhao"])).status == 403
    # the hash is not a key to every file: only what was uploaded for this ticket
    assert (await api.get(f"/api/v1/tickets/TK-2/evidence/{sha}", headers=api.h["zhao"])).status == 404
    assert (await api.get(f"/api/v1/tickets/TK-1/evidence/../../users", headers=api.h["li"])).status == 404
    assert (await upload(api, "zhao", "a.pdf", PDF)).status == 403
    assert (await upload(api, "sun", "a.pdf", PDF)).status == 403
    assert (await upload(api, "li", "a.pdf", PDF, tid="TK-none")).status == 404


async def test_admin_users_roles_and_links(api):
    assert (await api.get("/api/v1/admin/users", headers=api.h["chen"])).status == 403
    r = await api.post("/api/v1/admin/users", json={"id": "o-new", "role": "officer", "department_id": "D-NOPE"},
                       headers=api.h["root"])
    assert r.status == 422 and "no department D-NOPE" in (await r.json())["error"]
    r = await api.post("/api/v1/admin/users", json={"id": "o-new", "role": "officer", "department_id": "D-ZSJ"},
                       headers=api.h["root"])
    body = await r.json()
    assert r.status == 201 and body["user"]["has_password"] is False
    assert body["set_password_link"].startswith("http://127.0.0.1:8080/console/#/set-password?token=o-new.")
    assert (await api.post("/api/v1/admin/users", json={"id": "o-new", "role": "manager"},
                           headers=api.h["root"])).status == 409
    token = body["set_password_link"].split("token=")[1]
    assert (await api.post("/api/v1/session/password", json={"token": token, "new_password": "chosen-pw-1"})).status == 204
    assert (await api.post("/api/v1/session", json={"user_id": "o-new", "password": "chosen-pw-1"})).status == 200
    r = await api.patch("/api/v1/admin/users/o-new", json={"disabled": True}, headers=api.h["root"])
    assert r.status == 200 and (await r.json())["user"]["disabled"] is True
    assert (await api.get("/api/v1/session")).status == 401  # the disabled user's session ended
    listed = (await (await api.get("/api/v1/admin/users", headers=api.h["root"])).json())["users"]
    assert {"o-new", "o-li"} <= {u["id"] for u in listed} and all("password_hash" not in u for u in listed)
    r = await api.post("/api/v1/admin/users/o-li/reset-password", headers=api.h["root"])
    assert r.status == 200 and "set_password_link" in await r.json()


async def test_directory_is_validated_and_saved(api, tmp_path):
    d = await (await api.get("/api/v1/directory", headers=api.h["li"])).json()
    assert {"halls", "departments", "windows"} <= set(d) and d["windows"][0].keys() >= {"id", "hall_id", "department_id"}
    bad = {**d, "windows": [*d["windows"], {"id": "W-X", "name": "", "hall_id": "H-NONE", "department_id": "D-NONE"}],
           "departments": [x for x in d["departments"] if x["id"] != "D-ZSJ"]}
    r = await api.put("/api/v1/admin/directory", json=bad, headers=api.h["root"])
    problems = (await r.json())["detail"]
    assert r.status == 422 and (await r.json())["code"] == "invalid"
    assert any("no hall 'H-NONE'" in p for p in problems) and any("o-li" in p and "D-ZSJ" in p for p in problems)
    assert any("W-X" in p and "name" in p for p in problems)
    good = {**d, "halls": [*d["halls"], {"id": "H-NEW", "name": "新大厅"}]}
    assert (await api.put("/api/v1/admin/directory", json=good, headers=api.h["chen"])).status == 403
    r = await api.put("/api/v1/admin/directory", json=good, headers=api.h["root"])
    assert r.status == 200 and api.directory[0].halls["H-NEW"] == "新大厅"
    assert (tmp_path / "data" / "directory.json").exists()
    assert api.directory[0].items["D-ZSJ"]  # service items kept
    r = await api.get("/api/v1/settings/deadlines", headers=api.h["sun"])
    assert await r.json() == {"contact_working_days": 1, "resolve_working_days": 5, "warn_percents": [50, 80],
                              "timezone": "Asia/Shanghai"}


async def test_the_built_console_is_served_with_cache_headers(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>好差评</title>", encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    api = await console_client(tmp_path, dist)
    try:
        r = await api.get("/", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/console/"
        r = await api.get("/console/")
        assert r.status == 200 and r.headers["Cache-Control"] == "no-cache" and "好差评" in await r.text()
        r = await api.get("/console/assets/index-abc123.js")
        assert r.status == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "javascript" in r.headers["Content-Type"]
        assert (await api.get("/console/assets/nope.js")).status == 404
        assert (await api.get("/console/queue")).status == 200  # a page of the app by its URL
        assert (await api.get("/console/%2e%2e/%2e%2e/etc/passwd")).status == 404
    finally:
        await api.close()


async def test_every_api_error_is_json_with_a_code(api):
    for method, path, status, code in (("GET", "/api/v1/nope", 404, "not_found"),
                                       ("DELETE", "/api/v1/tickets", 405, "invalid"),
                                       ("GET", "/api/v1/tickets", 401, "unauthenticated")):
        r = await api.request(method, path)
        body = await r.json()
        assert r.status == status and body["code"] == code and body["error"], (path, body)
    r = await api.post("/api/v1/tickets/TK-1/commands", data=b"x" * (2 << 20), headers=api.h["li"])
    assert r.status == 413 and (await r.json())["code"] == "too_large"
