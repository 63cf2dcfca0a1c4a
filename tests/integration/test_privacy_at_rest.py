"""No mobile number at rest in clear (issue 10 item 4): reviews whose comments carry one and bad
input whose raw bytes carry one go through the real worker; afterwards no 11-digit mobile number
is in any ClickHouse table, in the dead-letter topic, or in the report files. The one exception,
the ticket's own phone field, lives in the worker's ticket state and the ticket events, never in
those places in clear."""

from __future__ import annotations

import asyncio
import re
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from apps.bootstrap import build_deps
from apps.report.export import write_files
from apps.report.monthly import build_monthly_report
from apps.simulate.traffic import Submission
from haocha.adapters.kafka import read_all
from haocha.adapters.sealing import DEAD_LETTERS, Sealer
from schemas.topics import DEAD_LETTERS as DEAD_LETTER_TOPIC
from sinks.clickhouse import ClickHouseStore
from tests.integration.test_pipeline import caught_up, send, traffic

pytestmark = pytest.mark.integration
# Not after a decimal point: a spreadsheet's serial times have 11-digit fractions (44344.18439814815).
MOBILE = re.compile(rb"(?<![0-9.])1[3-9][0-9]{9}(?![0-9])")


def with_phones(subs: list[Submission]) -> tuple[list[Submission], list[bytes]]:
    """Every fifth review says its caller's number in the comment; bad input carries numbers too."""
    out, bad = [], []
    for i, sub in enumerate(subs):
        if sub.kind in ("review", "late") and i % 5 == 0:
            doc = orjson.loads(sub.value)
            doc["comment"] = f"请回电 1390000{i:04d}, 谢谢"
            sub = Submission(key=sub.key, value=orjson.dumps(doc), kind=sub.kind, review_id=sub.review_id)
        out.append(sub)
    first = orjson.loads(next(s.value for s in subs if s.kind == "review"))
    bad = [
        b'{"comment": "call 13712345678", not json',
        orjson.dumps(dict(first, review_id="R-PHONE-9", rating=9, comment="tel 13612345678")),
        b"\xff\xfe13512345678\x00",
    ]
    return out + [Submission(key=b"garbage", value=b, kind="malformed") for b in bad], bad


def test_no_mobile_number_in_tables_dead_letters_or_report_files(make_settings, start_worker, tmp_path):
    s = make_settings()
    subs, bad = with_phones(traffic(s, 300, seed=41, malformed_share=0, bad_share=0.2))
    assert any(MOBILE.search(x.value) for x in subs if x.kind == "review")
    w = start_worker(s).wait_ready()
    send(s, subs)
    caught_up(s)
    letters = asyncio.run(read_all(s, s.topic(DEAD_LETTER_TOPIC.name)))
    w.terminate()

    assert len(letters) == len(bad)
    for m in letters:
        assert not MOBILE.search(m.value), m.value
    sealer = Sealer(s.secret_key.get_secret_value(), DEAD_LETTERS)
    opened = {sealer.open(orjson.loads(m.value)["sealed"], s.topic("reviews.submitted").encode()) for m in letters}
    assert opened == set(bad), "the raw bytes are kept, sealed"

    store = ClickHouseStore(s.dsn, s.clickhouse_database, s.timezone)
    try:
        tables = [r[0] for r in store.query("SELECT name FROM system.tables WHERE database = '{db}'")]
        assert {"reviews", "ticket_events", "tickets", "dead_letters"} <= set(tables)
        for table in tables:
            rows = store.query(f"SELECT * FROM {{db}}.`{table}`")
            found = [r for r in rows if MOBILE.search(repr(r).encode())]
            assert not found, f"{table}: {found[:3]}"
        comments = store.query("SELECT comment FROM {db}.reviews WHERE comment LIKE '%请回电%'")
        assert comments and all("****" in c[0] for c in comments)
        deps = build_deps(s)
        rep = build_monthly_report(store, "2021-05", datetime(2021, 6, 3, 9, 30, tzinfo=ZoneInfo(s.timezone)),
                                   deps.directory, deps.calendar)
    finally:
        store.close()
    for path in write_files(rep, ["json", "csv", "xlsx", "html"], tmp_path / "report"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                blobs = [z.read(n) for n in z.namelist()]
        else:
            blobs = [path.read_bytes()]
        assert not any(MOBILE.search(b) for b in blobs), path.name
