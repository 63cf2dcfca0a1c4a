"""The `haocha` console as a user meets it: positional ids, short confirmations (`--json` for the
API's answer), tables with headers, validated choices, non-zero exits on refusal, the token
variable named right, local times with offset. The worker's API is a loopback fake."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from apps import cli
from haocha import settings as settings_mod
from haocha.settings import Settings

TICKET = "TK-0123456789abcdef0123456789abcdef"
ROW = {"ticket_id": TICKET, "status": "opened", "department_id": "D-CZJ", "window_id": "H-CY-W03", "rating": 2,
       "reasons": ["效率低"], "time_left_seconds": 7200, "overdue": False, "next_due": "2021-05-07T01:00:00Z",
       "opened_at": "2021-05-06T01:00:00Z", "officer_id": None}


class FakeApi:
    """Routes (method, path) to (status, body); remembers what was asked."""

    def __init__(self):
        self.routes: dict[tuple[str, str], tuple[int, object]] = {}
        self.seen: list[tuple[str, str, dict, object]] = []

    def answer(self, method: str, path: str, status: int, body: object) -> None:
        self.routes[(method, path)] = (status, body)

    def last_query(self) -> dict:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.seen[-1][1]).query)


@pytest.fixture
def api(monkeypatch):
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.seen.append((self.command, self.path, dict(self.headers), body))
            status, answer = fake.routes.get((self.command, urllib.parse.urlsplit(self.path).path),
                                             (404, {"error": "no route"}))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(settings_mod, "load", lambda: Settings(api_url=f"http://127.0.0.1:{srv.server_port}"))
    monkeypatch.setenv("HAOCHA_API_TOKEN", "li.s3cret")
    yield fake
    srv.shutdown()


def outcome(status: str, version: int = 2, reason: str = "") -> dict:
    return {"command_id": "api:x", "ticket_id": TICKET, "status": status, "version": version, "reason": reason,
            "events": [{"event_id": f"{TICKET}:2", "type": "TicketAssigned", "event": {"officer_id": "li"}}]}


# -- ticket -------------------------------------------------------------------------------------


def test_ticket_verb_prints_one_line_and_json_on_request(api, capsys):
    api.answer("POST", f"/api/v1/tickets/{TICKET}/commands", 200, outcome("accepted"))
    assert cli.main(["ticket", "assign", TICKET, "--officer", "li"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines() == [f"{TICKET}: assigned (TicketAssigned, version 2)"]
    assert cli.main(["ticket", "assign", TICKET, "--officer", "li", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "accepted"


def test_an_officer_claims_a_ticket(api, capsys):
    api.answer("POST", f"/api/v1/tickets/{TICKET}/commands", 200, outcome("accepted"))
    assert cli.main(["ticket", "claim", TICKET]) == 0
    assert api.seen[-1][3]["kind"] == "ClaimTicket"
    assert capsys.readouterr().out.startswith(f"{TICKET}: claimed")


def test_a_refused_command_exits_non_zero_with_the_reason(api, capsys):
    api.answer("POST", f"/api/v1/tickets/{TICKET}/commands", 422,
               outcome("refused", reason="illegal_transition: close after feedback"))
    assert cli.main(["ticket", "close", TICKET]) == 1
    captured = capsys.readouterr()
    assert "refused" in captured.err and "close after feedback" in captured.err


def test_ticket_list_has_headers_rating_reasons_and_local_times(api, capsys):
    api.answer("GET", "/api/v1/tickets", 200, {"tickets": [ROW], "total": 1, "at": "2021-05-06T02:00:00Z"})
    assert cli.main(["ticket", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["ticket", "status", "department", "window"]
    assert "rating" in lines[0] and "reasons" in lines[0] and "due" in lines[0]
    assert TICKET in lines[2] and "效率低" in lines[2] and " 2 " in lines[2]
    assert "2021-05-07T09:00:00+08:00" in lines[2]  # the due time, local with offset
    assert lines[-1] == "1 ticket"


def test_ticket_list_quiet_prints_ids_and_waits_for_a_ticket(api, capsys):
    api.answer("GET", "/api/v1/tickets", 200, {"tickets": [ROW], "total": 1, "at": "x"})
    assert cli.main(["ticket", "list", "-q", "--wait", "5"]) == 0
    assert capsys.readouterr().out == f"{TICKET}\n"
    api.answer("GET", "/api/v1/tickets", 200, {"tickets": [], "total": 0, "at": "x"})
    assert cli.main(["ticket", "list", "-q", "--wait", "0.5"]) == 1
    assert "no ticket" in capsys.readouterr().err


def test_ticket_list_state_is_validated(api, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["ticket", "list", "--state", "bogus"])
    assert exc.value.code == 2 and "feedback_given" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["ticket", "list", "--help"])
    assert "opened" in capsys.readouterr().out


def test_ticket_show_is_readable_and_masks_nothing_new(api, capsys):
    api.answer("GET", f"/api/v1/tickets/{TICKET}", 200, {
        **ROW, "status": "closed", "version": 3, "events": [
            {"version": 1, "type": "TicketOpened", "occurred_at": "2021-05-06T01:00:00Z", "actor_id": "system",
             "actor_role": "system", "event": {"phone": "138****8000"}},
            {"version": 3, "type": "TicketClosed", "occurred_at": "2021-05-06T03:00:00Z", "actor_id": "li",
             "actor_role": "officer", "event": {"resolution": "rectified"}}], "source": "clickhouse"})
    assert cli.main(["ticket", "show", TICKET]) == 0
    out = capsys.readouterr().out
    assert f"{TICKET}  closed" in out and "2021-05-06T11:00:00+08:00" in out and "TicketClosed" in out


def test_no_token_names_the_variable(api, monkeypatch, capsys):
    monkeypatch.delenv("HAOCHA_API_TOKEN")
    with pytest.raises(SystemExit) as exc:
        cli.main(["ticket", "list"])
    assert "HAOCHA_API_TOKEN" in str(exc.value.code) and "HAOCHA_TOKEN " not in str(exc.value.code)


# -- user ---------------------------------------------------------------------------------------


def test_user_verbs_take_positional_ids_and_confirm(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(settings_mod, "load", lambda: Settings(data_dir=tmp_path))
    assert cli.main(["user", "add", "li-officer", "--role", "officer", "--department", "D-CZJ"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("li-officer.") and len(captured.out.splitlines()) == 1  # `$(haocha user add ...)`
    assert "shown once" in captured.err
    assert cli.main(["user", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["user", "role", "department"] and "li-officer" in listed[2]
    assert cli.main(["user", "remove", "li-officer"]) == 0
    assert "removed" in capsys.readouterr().out
    assert cli.main(["user", "remove", "li-officer"]) == 1
    assert "no user li-officer" in capsys.readouterr().err


# -- report and alerts --------------------------------------------------------------------------


def test_report_stats_sends_zoned_times_and_reads_rows(api, capsys):
    api.answer("GET", "/api/v1/stats", 200, {"scope": "department", "granularity": "day", "rows": [
        {"bucket": "2021-05-01T00:00:00+08:00", "id": "D-CZJ", "reviews": 3, "good_rate": 0.5, "bad_count": 1,
         "bad_rate": 0.3, "satisfaction": 80.0, "closed": 1, "rectification_rate": 1.0, "on_time_rate": 1.0,
         "return_visit_rate": 1.0}]})
    assert cli.main(["report", "stats", "--scope", "department", "--from", "2021-05-01", "--to", "2021-06-01"]) == 0
    q = api.last_query()
    assert q["from"] == ["2021-05-01T00:00:00+08:00"] and q["to"] == ["2021-06-01T00:00:00+08:00"]
    assert "D-CZJ" in capsys.readouterr().out


def test_report_heatmap_reads_cells(api, capsys):
    api.answer("GET", "/api/v1/stats/heatmap", 200, {"cells": [{"weekday": 1, "hour": 9, "satisfaction": 87.5}]})
    assert cli.main(["report", "heatmap", "--from", "2021-05-01", "--to", "2021-05-08T00:00+08:00"]) == 0
    assert api.last_query()["to"] == ["2021-05-08T00:00:00+08:00"]
    out = capsys.readouterr().out
    assert "周一" in out and "88" in out


def test_report_stats_defaults_to_this_month(api, capsys):
    api.answer("GET", "/api/v1/stats", 200, {"scope": "department", "granularity": "day", "rows": []})
    assert cli.main(["report", "stats"]) == 0
    q = api.last_query()
    assert q["from"][0].endswith("-01T00:00:00+08:00") and q["to"][0].endswith("+08:00")


def test_alerts_list_and_ack(api, capsys):
    api.answer("GET", "/api/v1/alerts", 200, {"alerts": [
        {"alert_id": "A-1", "hall_id": "H-CY", "window_id": "H-CY-W05", "department_id": "D-SJJ",
         "window_start": "2021-05-12T02:00:00Z", "window_end": "2021-05-12T02:15:00Z", "reviews": 5, "bad": 4,
         "detected_at": "2021-05-12T02:09:00Z", "acknowledged_by": None, "acknowledged_at": None}]})
    assert cli.main(["alerts", "list", "--open"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "alert" in lines[0] and "window" in lines[0]
    assert "A-1" in lines[2] and "4/5" in lines[2] and "2021-05-12T10:00:00+08:00" in lines[2]
    assert api.last_query()["open"] == ["true"]
    api.answer("POST", "/api/v1/alerts/A-1/ack", 202, {"alert_id": "A-1", "by": "li",
                                                        "acknowledged_at": "2021-05-12T02:30:00Z"})
    assert cli.main(["alerts", "ack", "A-1", "--note", "看过了"]) == 0
    assert capsys.readouterr().out.strip() == "alert A-1 acknowledged by li at 2021-05-12T10:30:00+08:00"
    assert api.seen[-1][3] == {"note": "看过了"}
    api.answer("POST", "/api/v1/alerts/A-2/ack", 404, {"error": "no alert A-2"})
    assert cli.main(["alerts", "ack", "A-2"]) == 1
    assert "no alert A-2" in capsys.readouterr().err


def test_alerts_limit_is_an_integer(api, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["alerts", "list", "--limit", "abc"])
    assert exc.value.code == 2


# -- health -------------------------------------------------------------------------------------


def test_health_waits_and_names_what_does_not_answer(monkeypatch, capsys):
    from haocha.adapters.net import free_port

    monkeypatch.setattr(settings_mod, "load", lambda: Settings(api_port=free_port(), gateway_port=free_port()))
    assert cli.main(["health", "--wait", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "worker" in err and "gateway" in err and "not answering" in err
