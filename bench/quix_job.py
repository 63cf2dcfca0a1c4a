"""Haocha's job written idiomatically in Quix Streams (confluent-kafka), for bench_pipeline's `quix`
run: the same reviews in, the same counting rules, ticket decisions, alerts and ClickHouse rows out.

    HAOCHA_...=... python bench/quix_job.py GROUP   (settings from the environment, as `haocha worker`)

One Application with two StreamingDataFrames, as the worker has two stream roles:

- reviews.submitted (keyed by hall): intake (`parse_submission`), then one stateful apply with
  Quix's RocksDB State per hall running the very counting rules (`classify`) and spike windows
  (`observe`) of the worker; branches produce the classified review, the ticket command, alerts
  and dead letters to their topics, and sink reviews, alerts and dead letters into ClickHouse;
- tickets.commands (keyed by ticket): one stateful apply per command (`execute`, the ticket agent's
  pure step) with the ticket's state in State; branches produce the events, the state snapshot and
  the outcome, and sink events and snapshots into ClickHouse.

The ClickHouse sink is a BatchingSink (Quix ships none for ClickHouse) over the same store the
worker's writer uses, so the rows and the bench's count checks are the same. Quix flushes sinks
and commits at each checkpoint (commit_interval, its default 5 s); values travel as our pydantic
models and are dumped by each topic's JSONSerializer, as bytes identical to the worker's. What
differs from the worker is only the engine: per-message processing, state and changelog per key
write, at-least-once by checkpoints.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quixstreams import Application, State, message_context  # noqa: E402
from quixstreams.models.serializers.json import JSONSerializer  # noqa: E402
from quixstreams.sinks import BatchingSink, SinkBatch  # noqa: E402

from apps.bootstrap import build_deps, build_store  # noqa: E402
from haocha.domain.alerts import SpikeRule, observe, windows_of  # noqa: E402
from haocha.domain.intake import dead_letter, parse_submission  # noqa: E402
from haocha.domain.reviews import classify, opens_ticket, reopens_ticket  # noqa: E402
from haocha.domain.tickets import DecisionContext, TicketState, execute  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from schemas import topics as t  # noqa: E402
from schemas.alerts import AlertEnvelope, SpikeDetected  # noqa: E402
from schemas.review import BAD_RATINGS, DeadLetter, ReviewClassified, ReviewSubmitted  # noqa: E402
from schemas.tickets import CommandOutcome, TicketCommandEnvelope  # noqa: E402
from streams.review_hop import open_ticket_command, reopen_ticket_command  # noqa: E402

log = logging.getLogger("quix_job")


class ClickHouseSink(BatchingSink):
    """Rows for one table of the store, written at each checkpoint (the store's writes are
    replay-safe: keys already stored are skipped, so a batch written again adds nothing)."""

    def __init__(self, write: Callable[[list], int]):
        super().__init__()
        self._write = write

    def write(self, batch: SinkBatch) -> None:
        self._write([item.value for item in batch])


class DeadLetterSink(ClickHouseSink):
    """Dead-letter rows are keyed by their source message; Quix produces the letter itself to its
    topic without telling where it landed, so the row's dl_partition/dl_offset are the source's."""

    def write(self, batch: SinkBatch) -> None:
        self._write([(item.value, batch.partition, item.offset) for item in batch])


@dataclass
class Checked:
    raw: bytes
    key: bytes | None
    got: ReviewSubmitted | DeadLetter


@dataclass
class Classified:
    record: ReviewClassified | None = None
    command: TicketCommandEnvelope | None = None
    alerts: list[AlertEnvelope] = field(default_factory=list)
    dead: DeadLetter | None = None


@dataclass
class Decided:
    outcome: CommandOutcome
    snapshot: dict | None


def build(s: Settings, group: str) -> Application:
    deps = build_deps(s)
    store = build_store(s)
    rules, spike, ctx = deps.rules, SpikeRule(), DecisionContext(calendar=deps.calendar, policy=deps.policy)
    submitted_name = s.topic(t.REVIEWS_SUBMITTED.name)
    app = Application(broker_address=s.kafka_bootstrap, consumer_group=group,
                      auto_offset_reset="earliest", state_dir=str(Path(s.data_dir) / "quix-state"),
                      loglevel="WARNING")
    model_json = JSONSerializer(dumps=lambda m: m.model_dump_json())
    submitted = app.topic(submitted_name, value_deserializer="bytes", key_deserializer="bytes")
    classified_t = app.topic(s.topic(t.REVIEWS_CLASSIFIED.name), value_serializer=model_json)
    commands = app.topic(s.topic(t.TICKET_COMMANDS.name), value_deserializer="bytes", value_serializer=model_json)
    alerts_t = app.topic(s.topic(t.ALERTS.name), value_serializer=model_json)
    dead_t = app.topic(s.topic(t.DEAD_LETTERS.name), value_serializer=model_json)
    events_t = app.topic(s.topic(t.TICKET_EVENTS.name), value_serializer=model_json)
    states_t = app.topic(s.topic(t.TICKET_STATE.name), value_serializer="json")
    outcomes_t = app.topic(s.topic(t.TICKET_OUTCOMES.name), value_serializer=model_json)

    # -- reviews -------------------------------------------------------------------------------
    def intake(raw: bytes, key: bytes, _ts: int, _headers) -> Checked:
        ctx_ = message_context()
        got = parse_submission(raw, source=submitted_name, key=key, partition=ctx_.partition, offset=ctx_.offset,
                               received_at=deps.clock.now(), directory=deps.directory, seal=deps.seal)
        return Checked(raw, key, got)

    def count(checked: Checked, state: State) -> Classified:
        review = checked.got
        verdict, updates = classify(review, state, rules)
        if verdict.classification is None:
            ctx_ = message_context()
            return Classified(dead=dead_letter(checked.raw, source=submitted_name, reason="review_id_conflict",
                                               detail=verdict.note, key=checked.key,
                                               partition=ctx_.partition, offset=ctx_.offset,
                                               failed_at=deps.clock.now(), seal=deps.seal))
        for k, v in updates.items():
            state.set(k, v)
        department = deps.directory.department_for(review.hall_id, review.window_id)
        out = Classified()
        if opens_ticket(review, verdict):
            out.command = open_ticket_command(review, department, deps)
        elif reopens_ticket(review, verdict):
            out.command = reopen_ticket_command(review)
        out.record = ReviewClassified(review=review, classification=verdict.classification, counted=verdict.counted,
                                      department_id=department, note=verdict.note,
                                      ticket_id=out.command.ticket_id if out.command else None,
                                      classified_at=deps.clock.now())
        if verdict.counted:
            bad = review.rating in BAD_RATINGS
            for start, end in windows_of(review.happened_at, spike):
                wkey = f"win:{review.window_id}@{start.isoformat()}"
                old = state.get(wkey)
                new, spiked = observe(old, review.review_id, bad, spike)
                if new != old:
                    state.set(wkey, new)
                if spiked:
                    out.alerts.append(AlertEnvelope(event=SpikeDetected(
                        alert_id=wkey[4:], hall_id=review.hall_id, window_id=review.window_id,
                        department_id=department, window_start=start, window_end=end, reviews=new["reviews"],
                        bad=new["bad"], detected_at=deps.clock.now())))
        return out

    sdf = app.dataframe(submitted)
    checked = sdf.apply(intake, metadata=True)
    bad_input = checked.filter(lambda c: isinstance(c.got, DeadLetter)).apply(lambda c: c.got)
    bad_input.to_topic(dead_t)
    bad_input.sink(DeadLetterSink(store.write_dead_letters))
    counted = checked.filter(lambda c: isinstance(c.got, ReviewSubmitted)).apply(count, stateful=True)
    conflicts = counted.filter(lambda c: c.dead is not None).apply(lambda c: c.dead)
    conflicts.to_topic(dead_t)
    conflicts.sink(DeadLetterSink(store.write_dead_letters))
    kept = counted.filter(lambda c: c.record is not None)
    records = kept.apply(lambda c: c.record)
    records.to_topic(classified_t)
    records.sink(ClickHouseSink(store.write_reviews))
    kept.filter(lambda c: c.command is not None).apply(lambda c: c.command) \
        .to_topic(commands, key=lambda cmd: cmd.ticket_id.encode())
    raised = kept.apply(lambda c: c.alerts, expand=True)
    raised.to_topic(alerts_t, key=lambda a: a.event.window_id.encode())
    raised.sink(ClickHouseSink(store.write_alert_events))

    # -- tickets -------------------------------------------------------------------------------
    def decide(raw: bytes, state: State) -> Decided:
        cmd = TicketCommandEnvelope.model_validate_json(raw)
        held = state.get("ticket")
        outcome, new = execute(None if held is None else TicketState.model_validate(held), cmd, ctx,
                               recorded_at=deps.clock.now())
        snapshot = None
        if new is not None and (outcome.events or outcome.status == "duplicate"):
            snapshot = new.model_dump(mode="json")
            state.set("ticket", snapshot)
        return Decided(outcome, snapshot)

    decided = app.dataframe(commands).apply(decide, stateful=True)
    events = decided.apply(lambda d: list(d.outcome.events), expand=True)
    events.to_topic(events_t)
    events.sink(ClickHouseSink(store.write_ticket_events))
    snapshots = decided.filter(lambda d: d.snapshot is not None).apply(lambda d: d.snapshot)
    snapshots.to_topic(states_t)
    snapshots.sink(ClickHouseSink(store.write_ticket_states))
    decided.apply(lambda d: d.outcome).to_topic(outcomes_t, key=lambda o: o.command_id.encode())
    return app


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    build(Settings(), sys.argv[1]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
