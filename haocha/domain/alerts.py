"""Spikes of bad reviews per service window, over hopping time windows (by when reviews happened).

Pure: `observe` takes the counts of the windows a review falls in and returns the new counts and
the alerts to raise. An alert is raised once per (service window, time window): the counts carry
an `alerted` flag, so a replayed review cannot raise it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class SpikeRule:
    size: timedelta = timedelta(minutes=15)
    step: timedelta = timedelta(minutes=5)
    min_reviews: int = 4
    min_bad_share: float = 0.5
    # No expiry: the windows' counts stay in the hop's state (up to three small records per
    # service window and 5-minute step with reviews), so a late upload from an offline pad still
    # counts in the windows it happened in.


def windows_of(at: datetime, rule: SpikeRule) -> list[tuple[datetime, datetime]]:
    """Every hopping window [start, start+size) that contains `at`, oldest first."""
    step = rule.step.total_seconds()
    ts = at.timestamp()
    last_start = ts - ts % step
    starts = []
    s = last_start
    while s > ts - rule.size.total_seconds():
        starts.append(s)
        s -= step
    return [(datetime.fromtimestamp(x, timezone.utc), datetime.fromtimestamp(x, timezone.utc) + rule.size)
            for x in reversed(starts)]


def observe(counts: dict | None, review_id: str, bad: bool, rule: SpikeRule) -> tuple[dict, bool]:
    """Add one counted review to a window's counts; return (new counts, raise an alert now?).

    Review ids seen are remembered per window (a window holds few reviews) so a replay adds nothing.
    """
    if counts is not None and review_id in counts["ids"]:
        return counts, False  # the very counts given: nothing to save
    # Built whole (not copied and then changed): a counted review updates three windows. The keys
    # keep their order, so the saved JSON is the same.
    if counts is None:
        reviews, n_bad, ids, alerted = 1, int(bad), [review_id], False
    else:
        reviews, n_bad, ids, alerted = counts["reviews"] + 1, counts["bad"] + bad, [*counts["ids"], review_id], counts["alerted"]
    spike = not alerted and reviews >= rule.min_reviews and n_bad >= rule.min_bad_share * reviews
    return {"reviews": reviews, "bad": n_bad, "ids": ids, "alerted": alerted or spike}, spike
