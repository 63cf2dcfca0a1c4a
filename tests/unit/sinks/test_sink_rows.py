"""The sink's orjson path gives the very rows the model path gives."""

from datetime import datetime, timezone

import orjson
import pytest

from schemas.review import ReviewClassified, ReviewSubmitted
from sinks.clickhouse import review_row, review_row_from_dict

BASE = {
    "review_id": "R-1", "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01", "rating": 2,
    "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T-1",
}


@pytest.mark.parametrize("extra", [
    {},
    {"case_no": "C-1", "staff_id": "S-1", "item_code": "X1", "item_name": "事项", "reasons": ["效率低"],
     "comment": "等了很久", "evaluator": {"real_name": True, "phone": "13800001234"},
     "received_at": "2021-05-06T02:00:01Z", "follow_up_of": "R-0"},
    {"evaluator": {"phone": "+8613800001234"}, "rating": 5},
    {"evaluator": {"real_name": True}},
])
@pytest.mark.parametrize("ticket_id, note", [(None, ""), ("TK-1", "repeat")])
def test_review_row_from_dict_matches_the_model(extra, ticket_id, note):
    review = ReviewSubmitted.model_validate({**BASE, **extra})
    c = ReviewClassified(review=review, classification="counted", counted=True, department_id="D-1",
                         ticket_id=ticket_id, note=note, classified_at=datetime(2021, 5, 6, 2, 0, 2, tzinfo=timezone.utc))
    assert review_row_from_dict(orjson.loads(c.model_dump_json())) == review_row(c)
