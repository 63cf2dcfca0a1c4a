"""The counting rules (一次一评, repeat presses, 追评), and their replay safety: a review classified
again after a crash, with any part of its first classification's guard updates already saved,
gets the same verdict."""

import itertools
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from haocha.domain.reviews import CountingRules, classify, fingerprint, opens_ticket, reopens_ticket, ticket_id_for
from schemas.review import Classification, ReviewSubmitted

T0 = datetime(2021, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def review(rid, *, case=None, terminal="T1", at=0.0, rating=5, follow_up_of=None, comment=None):
    return ReviewSubmitted(review_id=rid, case_no=case, channel="pad", hall_id="H", window_id="W",
                           rating=rating, happened_at=T0 + timedelta(seconds=at), terminal_id=terminal,
                           follow_up_of=follow_up_of, comment=comment)


def run(reviews, rules=CountingRules()):
    guard, out = {}, []
    for r in reviews:
        verdict, updates = classify(r, guard, rules)
        guard.update(updates)
        out.append(verdict)
    return out, guard


def test_one_review_per_case_the_second_is_kept_but_not_counted():
    (a, b), _ = run([review("a", case="C1"), review("b", case="C1", at=600)])
    assert a.classification == Classification.COUNTED
    assert b.classification == Classification.DUPLICATE_CASE and not b.counted and "a" in b.note


def test_repeat_press_within_the_window_without_case_number():
    rules = CountingRules(repeat_window_seconds=5)
    out, _ = run([review("a"), review("b", at=3), review("c", at=20), review("d", terminal="T2", at=21)], rules)
    assert [v.classification for v in out] == [Classification.COUNTED, Classification.REPEAT_PRESS,
                                               Classification.COUNTED, Classification.COUNTED]


def test_presses_with_case_numbers_are_not_repeats():
    out, _ = run([review("a", case="C1"), review("b", case="C2", at=1)])
    assert all(v.counted for v in out)


def test_resend_of_the_same_review_id_is_recognised_and_a_changed_body_refused():
    (first, again, changed), _ = run([review("a", rating=1), review("a", rating=1), review("a", rating=2)])
    assert first.counted and again.counted and again.resend
    assert changed.classification is None and "review_id_conflict" in changed.note


def test_one_follow_up_of_a_counted_bad_review_reopens_it():
    out, _ = run([review("a", case="C1", rating=1), review("f1", case="C1", rating=2, follow_up_of="a", at=9e4),
                  review("f2", case="C1", rating=1, follow_up_of="a", at=9e5)])
    a, f1, f2 = out
    assert opens_ticket(review("a", case="C1", rating=1), a)
    assert f1.classification == Classification.FOLLOW_UP and reopens_ticket(review("f1", rating=2, follow_up_of="a"), f1)
    assert f2.classification == Classification.FOLLOW_UP_REJECTED
    assert ticket_id_for("a") == "TK-a"


def test_follow_up_of_a_good_or_unknown_review_is_rejected():
    out, _ = run([review("g", rating=5), review("f", rating=1, follow_up_of="g"), review("x", follow_up_of="nope")])
    assert out[1].classification == out[2].classification == Classification.FOLLOW_UP_REJECTED


reviews_st = st.lists(
    st.builds(
        lambda i, case, term, at, rating: (f"r{i}", case, term, at, rating),
        st.integers(0, 12), st.sampled_from([None, None, "C1", "C2"]), st.sampled_from(["T1", "T2"]),
        st.floats(0, 30), st.integers(1, 5),
    ),
    min_size=1, max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(reviews_st, st.data())
def test_a_replay_after_a_crash_decides_exactly_the_same(specs, data):
    # The stream sees reviews in order; a crash loses an arbitrary subset of the last review's
    # guard writes (they are separate changelog records); the review is then processed again.
    rs = []
    for rid, case, term, at, rating in specs:
        r = review(rid, case=case, terminal=term, at=at, rating=rating)
        if any(x.review_id == rid and x != r for x in rs):
            continue  # the same id with another body is a conflict, tested above
        rs.append(r)
    guard = {}
    for r in rs:
        verdict, updates = classify(r, guard)
        keys = sorted(updates)
        saved = data.draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([]))
        crashed = dict(guard, **{k: updates[k] for k in saved})
        again, _ = classify(r, crashed)
        assert again.classification == verdict.classification, (r.review_id, saved)
        guard.update(updates)


def test_the_whole_batch_replayed_on_a_fully_saved_guard_decides_the_same():
    rs = [review("a"), review("b", at=2), review("c", case="C"), review("d", case="C", at=5), review("e", at=40)]
    first, guard = run(rs)
    again = [classify(r, guard)[0] for r in rs]
    assert [v.classification for v in first] == [v.classification for v in again]
    assert [v.classification for v in first] == [Classification.COUNTED, Classification.REPEAT_PRESS,
                                                 Classification.COUNTED, Classification.DUPLICATE_CASE,
                                                 Classification.COUNTED]


def test_the_fingerprint_from_the_reviews_own_json_is_the_models():
    # The review hop dumps each review once and takes the fingerprint from those bytes: the same
    # fingerprint, whatever the free text or the indicator names hold.
    tricky = '","received_at":"2021-01-01T00:00:00Z","terminal_id":"X'
    reviews = [
        review("a"), review("b", case="C1", comment=tricky),
        review("c").model_copy(update={"received_at": T0 + timedelta(seconds=3)}),
        review("d").model_copy(update={"indicators": {"received_at": 1, "x": 2}, "received_at": T0}),
        review("e", follow_up_of="a", comment='\\",\\"received_at\\":null'),
    ]
    for r in reviews:
        assert fingerprint(r, r.model_dump_json().encode()) == fingerprint(r)
        assert classify(r, {}, CountingRules(), r.model_dump_json().encode()) == classify(r, {})
