"""The worker's log is for people and log shippers: plain text (no terminal escapes), a progress
line now and then, times with their offset."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import faust

from apps import cli
from apps.commands.worker import faust_worker
from streams.progress import Counts


def test_the_faust_worker_writes_no_cursor_escapes(capsys):
    app = faust.App("log-test", broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False)
    worker = faust_worker(app, "info")  # its output is pytest's capture: not a terminal
    worker._on_startup_end_spinner()  # what Faust runs when the worker has started
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err


def test_progress_line_says_what_flows():
    before = Counts(reviews_in=100, classified=90, tickets=7, dead_letters=1, lag=0)
    now = Counts(reviews_in=1204, classified=1198, tickets=97, dead_letters=2, lag=12)
    assert now.line(before) == ("progress: 1,204 reviews in (+1,104), 1,198 classified, 97 bad reviews counted "
                                "-> tickets (+90), 2 dead letters, lag 12")
    assert Counts().line(Counts()).endswith("lag unknown")


def test_progress_counts_what_the_review_hop_did(monkeypatch, tmp_path):
    import asyncio

    import orjson

    from apps.bootstrap import build_deps
    from haocha.settings import Settings
    from streams import progress
    from streams.partition_state import StagedView
    from streams.review_hop import ReviewHop

    monkeypatch.setattr(logging.getLogger("haocha.progress"), "level", logging.INFO)
    s = Settings(topic_prefix="p", partitions=1, data_dir=tmp_path)
    deps = build_deps(s)
    hop = ReviewHop(deps, {s.topic(n): 1 for n in ("reviews.submitted", "reviews.classified", "tickets.commands",
                                                    "alerts", "deadletter", "reviews.state")}, tmp_path, None)
    out = SimpleNamespace(send=lambda *a, **k: 0)
    review = lambda rid, rating, case: orjson.dumps({  # noqa: E731
        "review_id": rid, "case_no": case, "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01",
        "rating": rating, "happened_at": "2021-05-06T10:00:00+08:00", "received_at": "2021-05-06T10:00:03+08:00",
        "terminal_id": "T1"})
    state = StagedView({})
    for i, raw in enumerate([review("a", 1, "C1"), review("b", 5, "C2"), review("c", 2, "C1"), b"{garbage"]):
        hop.counts.reviews_in += 1
        hop._one(SimpleNamespace(key=b"H-CY", value=raw, offset=i), 0, state, out, deps.clock.now(), b'"x"')
    timers = []
    app = SimpleNamespace(timer=lambda interval, name: (lambda fn: timers.append((interval, fn)) or fn))
    sa = SimpleNamespace(app=app, deps=SimpleNamespace(settings=s),
                         hops=SimpleNamespace(progress=lambda: hop.counts))
    progress.register(sa)
    assert [t[0] for t in timers] == [30]
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("haocha.progress").addHandler(handler)
    try:
        asyncio.run(timers[0][1]())
    finally:
        logging.getLogger("haocha.progress").removeHandler(handler)
    # a bad review counted (a ticket), a good one, a second review of case C1 (not counted), garbage
    assert records[0].getMessage().startswith("progress: 4 reviews in (+4), 3 classified, 1 bad reviews counted "
                                              "-> tickets (+1), 1 dead letters")


def test_console_log_times_carry_their_offset(capsys, monkeypatch):
    import re

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(cli, "build_parser", lambda: _parser_logging_once())
    cli.main(["log-once"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO t: hello", capsys.readouterr().err)


def _parser_logging_once():
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("log-once").set_defaults(func=lambda args: logging.getLogger("t").info("hello"))
    return p


def test_spike_alerts_are_logged_in_the_configured_time_zone():
    from datetime import UTC, datetime, timedelta

    from streams.review_hop import spike_line

    start = datetime(2021, 5, 12, 2, 0, tzinfo=UTC)
    line = spike_line("H-CY-W05", 4, 5, start, start + timedelta(minutes=15), "Asia/Shanghai")
    assert line == "bad-review spike at H-CY-W05: 4 of 5 bad in 2021-05-12T10:00:00+08:00 – 10:15:00"
