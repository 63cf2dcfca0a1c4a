"""The wire-format doc's example review is accepted as it stands, today (issue 9: it was
dead-lettered as impossible_time because history must carry its `received_at`)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from haocha.domain.directory import Directory
from haocha.domain.intake import parse_submission
from haocha.settings import PACKAGE_DATA
from schemas.review import ReviewSubmitted

DOC = Path(__file__).resolve().parents[3] / "docs" / "wire-format.md"


def test_the_documented_review_is_accepted_today():
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"## A review.*?```json\n(.*?)```", text, re.S).group(1)
    got = parse_submission(example.encode(), source="doc", key=b"H-CY", partition=0, offset=0,
                           received_at=datetime.now(timezone.utc),
                           directory=Directory.load(PACKAGE_DATA / "directory.json"))
    assert isinstance(got, ReviewSubmitted), got
    assert "haocha topics create" in text and "400 days" in text and "haocha deadletters replay" in text
