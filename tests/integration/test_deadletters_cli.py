"""`haocha deadletters list|show|replay` on the real broker: letters shown masked, replay opens the
sealed raw bytes and publishes them to their source topic with their key; letters that did not
come from a topic (the gateway's) or kept no bytes are refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from haocha.adapters.kafka import produce_all, read_all
from haocha.adapters.sealing import DEAD_LETTERS, Sealer
from haocha.domain.intake import dead_letter
from schemas.topics import DEAD_LETTERS as DEAD_LETTER_TOPIC, REVIEWS_SUBMITTED

pytestmark = pytest.mark.integration
RAW = b'{"review_id": "R-X", "comment": "call 13812345678", oops'


def cli(s, *args) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "apps.cli", "deadletters", *args], capture_output=True, text=True,
                          env={**os.environ, **s.as_env()}, timeout=120)


def test_list_show_and_replay(make_settings):
    s = make_settings()
    seal = Sealer(s.secret_key.get_secret_value(), DEAD_LETTERS).seal
    now = datetime.now(timezone.utc)
    source = s.topic(REVIEWS_SUBMITTED.name)
    letters = [
        dead_letter(RAW, source=source, reason="not_json", detail="not JSON", key=b"H-CY", partition=0, offset=3,
                    failed_at=now, seal=seal),
        dead_letter(b"{}", source="gateway:/v1/reviews", reason="schema", detail="x", failed_at=now, seal=seal),
    ]
    asyncio.run(produce_all(s, s.topic(DEAD_LETTER_TOPIC.name),
                            [(b"k", d.model_dump_json().encode()) for d in letters]))

    listed = cli(s, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    views = json.loads(listed.stdout)
    assert [v["reason"] for v in views] == ["not_json", "schema"] and "13812345678" not in listed.stdout
    assert "138****5678" in views[0]["raw"]
    table = cli(s, "list", "--reason", "not_json")
    assert table.returncode == 0 and "not_json" in table.stdout and "schema" not in table.stdout
    shown = cli(s, "show", views[0]["id"])
    assert shown.returncode == 0 and "138****5678" in shown.stdout and "13812345678" not in shown.stdout

    assert cli(s, "replay", views[1]["id"]).returncode != 0, "the gateway's letters are re-sent by their sender"
    assert cli(s, "show", "9:999").returncode != 0
    done = cli(s, "replay", views[0]["id"])
    assert done.returncode == 0, done.stderr
    again = asyncio.run(read_all(s, source))
    assert [(m.key, m.value) for m in again] == [(b"H-CY", RAW)]
