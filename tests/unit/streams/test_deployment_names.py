"""Two deployments on one broker (HAOCHA_TOPIC_PREFIX differs) share nothing: not the topics, not
the consumer groups, not the log the ticket table is restored from."""

from __future__ import annotations

from apps.bootstrap import build_stream_app
from haocha.settings import Settings


def kafka_names(s: Settings) -> set[str]:
    sa = build_stream_app(s, with_store=False)
    return {sa.tickets.snapshots} | {f"group:{g}" for g in (s.app_id, s.review_group, s.writer_group)}


def test_the_app_id_follows_the_topic_prefix(monkeypatch):
    assert Settings().app_id == "haocha"  # the default deployment keeps its names (and its state)
    monkeypatch.setenv("HAOCHA_TOPIC_PREFIX", "hall2")
    assert Settings().app_id == "hall2"
    monkeypatch.setenv("HAOCHA_APP_ID", "custom")
    assert Settings().app_id == "custom"
    assert Settings(topic_prefix="x", app_id="y").app_id == "y"


def test_two_prefixes_share_no_changelog_and_no_group(tmp_path):
    a = kafka_names(Settings(topic_prefix="east", data_dir=tmp_path / "a"))
    b = kafka_names(Settings(topic_prefix="west", data_dir=tmp_path / "b"))
    assert not a & b
    assert all(n.startswith(("east", "group:east")) for n in a), a
