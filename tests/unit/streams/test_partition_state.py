"""A restore applies the review hop's state changes batch by batch: a batch cut short by a crash
(records without their batch-end marker) is not applied, so the batch is processed again from the
state before it, as the first time."""

from types import SimpleNamespace

from streams.partition_state import BATCH_END, complete_batches


def records(*items):
    return [SimpleNamespace(key=k, value=v, offset=i) for i, (k, v) in enumerate(items)]


def test_only_batches_with_their_end_marker_are_applied():
    log = records((b"id:a", b"1"), (b"term:T", b"[a]"), (BATCH_END, b"1"),
                  (b"id:b", b"2"), (b"term:T", b"[a,b]"))  # the second batch was cut short
    puts, next_offset = complete_batches(log)
    assert puts == [(b"id:a", b"1"), (b"term:T", b"[a]")] and next_offset == 3


def test_a_cut_batch_replaced_by_its_replay_is_applied_with_it():
    log = records((b"id:b", b"2"), (BATCH_END, b"1"), (b"term:T", b"[b,c]"),  # cut short ...
                  (b"id:c", b"3"), (b"term:T", b"[b,c]"), (BATCH_END, b"1"))  # ... and processed again
    puts, next_offset = complete_batches(log)
    assert puts[-1] == (b"term:T", b"[b,c]") and next_offset == 6


def test_no_marker_nothing_to_apply():
    assert complete_batches(records((b"id:a", b"1"))) == ([], None)
