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


def test_progress_counts_the_classified_batches(monkeypatch):
    from streams import progress

    monkeypatch.setattr(logging.getLogger("haocha.progress"), "level", logging.INFO)
    hooks, timers = [], []
    app = SimpleNamespace(timer=lambda interval, name: (lambda fn: timers.append((interval, fn)) or fn))
    topic = lambda name: SimpleNamespace(get_topic_name=lambda: name)  # noqa: E731
    sa = SimpleNamespace(on_classified=hooks, app=app, submitted=topic("p.reviews.submitted"),
                         dead_letters=topic("p.deadletter"),
                         deps=SimpleNamespace(settings=SimpleNamespace(progress_seconds=30, topic_prefix="p")))
    progress.register(sa)
    assert [t[0] for t in timers] == [30]
    docs = [{"counted": True, "review": {"rating": 1}}, {"counted": True, "review": {"rating": 5}},
            {"counted": False, "review": {"rating": 2}}]
    import asyncio

    asyncio.run(hooks[0]([], docs))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("haocha.progress").addHandler(handler)
    try:
        app.monitor = SimpleNamespace(messages_received_by_topic={"p.reviews.submitted": 3, "p.deadletter": 0},
                                      tp_read_offsets={})
        app.consumer = SimpleNamespace(assignment=lambda: set(), highwater=lambda tp: 0)
        asyncio.run(timers[0][1]())
    finally:
        logging.getLogger("haocha.progress").removeHandler(handler)
    assert records[0].getMessage().startswith("progress: 3 reviews in (+3), 3 classified, 1 bad reviews counted")


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

    from streams.alerts import spike_line

    start = datetime(2021, 5, 12, 2, 0, tzinfo=UTC)
    line = spike_line("H-CY-W05", 4, 5, start, start + timedelta(minutes=15), "Asia/Shanghai")
    assert line == "bad-review spike at H-CY-W05: 4 of 5 bad in 2021-05-12T10:00:00+08:00 – 10:15:00"
