"""A ticket the worker holds with its whole history is shown without a store read
(apps/api/app.py, show_ticket): its events, built from the log's envelopes (apps/api/views.py,
event_row), must be what the store's `ticket_events` answers for the same envelopes, down to the
JSON a client gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest

from apps.api.views import event_row, event_view
from schemas.tickets import Actor, TicketAssigned, TicketEventEnvelope, TicketOpened
from sinks import tickets_read
from sinks.clickhouse import ClickHouseStore

pytestmark = pytest.mark.integration

TZ = "Asia/Shanghai"
UTC8 = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('chdb')}", "haocha_history", TZ)
    s.migrate()
    yield s
    s.close()


def envelopes(tid: str) -> list[bytes]:
    opened = TicketOpened(review_id="R-H1", case_no=None, hall_id="H-CY", window_id="H-CY-W01", department_id="D-ZSJ",
                          rating=1, reasons=("态度差",), comment="请回电 13812345678，谢谢", real_name=True,
                          phone="13800001234", happened_at=datetime(2021, 5, 6, 10, 0, 0, 123456, tzinfo=UTC8),
                          contact_due=datetime(2021, 5, 7, 10, 0, tzinfo=UTC8),
                          resolve_due=datetime(2021, 5, 13, 10, 0, tzinfo=UTC8))
    at = datetime(2021, 5, 6, 2, 0, 1, 987654, tzinfo=timezone.utc)
    envs = [
        TicketEventEnvelope(event_id=f"{tid}:1", type="TicketOpened", ticket_id=tid, version=1, occurred_at=at,
                            recorded_at=at.astimezone(UTC8), actor=Actor(id="haocha", role="system"),
                            command_id="C-1", event=opened),
        TicketEventEnvelope(event_id=f"{tid}:2", type="TicketAssigned", ticket_id=tid, version=2,
                            occurred_at=at + timedelta(minutes=5),
                            recorded_at=at + timedelta(minutes=5, microseconds=1),
                            actor=Actor(id="o-chen", role="supervisor"), command_id="C-2",
                            event=TicketAssigned(officer_id="o-li")),
    ]
    return [e.model_dump_json().encode() for e in envs]


def test_the_held_history_is_what_the_store_answers(store):
    raw = envelopes("TK-H1")
    store.write_ticket_events(raw)
    from_store = tickets_read.ticket_events(store, "TK-H1")
    held = [event_row(r, ZoneInfo(TZ)) for r in raw]
    assert held == from_store
    assert orjson.dumps([event_view(e) for e in held]) == orjson.dumps([event_view(e) for e in from_store])
    assert "13800001234" not in orjson.dumps(held).decode()
