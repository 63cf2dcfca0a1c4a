"""The kill soak (issue 12, item 3): reviews flow while the worker, the ClickHouse writer and the
broker are SIGKILLed at random moments, one per round, each restarted at once; then nothing is
lost and nothing doubled.

The deployment is the test's own: a broker on a port pair and data dir of its own
(tests/support/own_broker.py, never the shared test broker), one worker
(HAOCHA_SINK_IN_WORKER=false) and one `haocha sink`. A producer of its own plays the terminals
(tests/support/feed.py): it keeps sending through broker outages and sends again what was not
acknowledged. After the last round every consumer group catches up, the processes stop, and:

- every review sent is in ClickHouse exactly once (by id), counted as the oracle says (the
  simulator's labels, test_pipeline.oracle, never the platform's code);
- tickets are the oracle's: none lost, no ticket id twice, one TicketOpened per ticket, in
  ClickHouse and in the log (no second decision under another event id);
- every table's count is exact: reviews, ticket events, tickets, dead letters (one per malformed
  message in the log, a resent one included), the rollups' sums;
- `haocha check` finds every read model equal to the fold of the log.

Randomness is seeded and the seed printed: HAOCHA_SOAK_SEED=<seed> replays the same targets,
moments and input. `make test` runs a small variant (10,000 reviews, one kill each of the worker,
the writer and the broker); `make soak` the full one (200,000 reviews, 20 rounds).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from apps.simulate.pipeline import groups
from apps.simulate.traffic import Submission
from haocha.adapters.kafka import admin, consumer, ensure_topics, partitions, read_all
from haocha.adapters.net import free_port
from haocha.settings import Settings
from schemas.topics import REVIEWS_SUBMITTED, TICKET_EVENTS
from tests.integration.test_pipeline import oracle, stored, traffic
from tests.support.feed import Feed
from tests.support.own_broker import OwnBroker
from tests.support.sink_process import SinkProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TARGETS = ("worker", "writer", "broker")
RECOVERY_TIMEOUT = 420.0  # a broker restart after a SIGKILL takes 20-100 s on a busy 2-core box


@dataclass
class Round:
    n: int
    target: str
    at: float  # seconds since the feed started
    acked: int  # submissions acknowledged when it was killed
    classified: int = 0  # of them, committed by the review hop just before
    ready: float = 0.0  # kill -> the restarted process answers (the broker: kafka.sh up returned)
    flowing: float = 0.0  # kill -> every consumer group it runs has committed again (or has no lag)

    def line(self) -> str:
        return (f"round {self.n:>2}: SIGKILL {self.target:<6} at {self.at:6.1f}s ({self.acked:,} sent, "
                f"{self.classified:,} through the review hop): "
                f"ready after {self.ready:5.1f}s, flowing after {self.flowing:5.1f}s")


async def positions(settings: Settings) -> dict[str, tuple[int, int]]:
    """Consumer group -> (offsets committed, lag) over the topics it reads."""
    client, reader = admin(settings), consumer(settings)
    await client.start()
    await reader.start()
    try:
        out = {}
        for group, topics in groups(settings).items():
            tps = [TopicPartition(t, p) for t in topics for p in await partitions(reader, t)]
            ends = await reader.end_offsets(tps)
            committed = await client.list_consumer_group_offsets(group, partitions=tps)
            done = {tp: max(0, m.offset) if (m := committed.get(tp)) is not None else 0 for tp in tps}
            out[group] = (sum(done.values()), sum(max(0, ends[tp] - done[tp]) for tp in tps))
        return out
    finally:
        await reader.stop()
        await client.close()


def without_chance_repeats(subs: list[Submission], window: float) -> list[Submission]:
    """The input less the walk-in reviews that, by chance, another walk-in press on the same
    terminal came within the repeat window of (with their copies and their own repeat presses).

    The simulator labels each such review a first review, while the counting rules (一次一评)
    rightly call the later press a repeat: the labels would no longer be the oracle (seed
    190408195 generates two reviews on T-H-CY-W04-pad one second apart). Leaving them out keeps
    the oracle the simulator's labels, never the platform's rules."""
    docs = {x.review_id: orjson.loads(x.value) for x in subs if x.kind != "malformed" and x.review_id}

    def group(rid: str) -> str:
        """A repeat press belongs with the review it repeats (the simulator numbers it next)."""
        if docs[rid]["case_no"] is None and kinds.get(rid) == "repeat_press":
            prefix, serial = rid.rsplit("-", 1)
            return f"{prefix}-{int(serial) - 1:0{len(serial)}d}"
        return rid

    kinds = {x.review_id: x.kind for x in subs if x.kind in ("review", "late", "repeat_press")}
    presses: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for rid in kinds:
        doc = docs[rid]
        if doc["case_no"] is None:
            presses[doc["terminal_id"]].append((datetime.fromisoformat(doc["happened_at"]).timestamp(), group(rid)))
    crowded: set[str] = set()
    for seen in presses.values():
        seen.sort()
        for (t1, g1), (t2, g2) in zip(seen, seen[1:]):
            if g1 != g2 and t2 - t1 <= window + 1:
                crowded |= {g1, g2}
    return [x for x in subs if x.kind == "malformed" or not x.review_id or group(x.review_id) not in crowded]


class Soak:
    def __init__(self, tmp_path, broker: OwnBroker, start_worker, say, reviews: int, rounds: int, seed: int):
        self.broker, self.say, self.rounds_wanted, self.seed = broker, say, rounds, seed
        self.rng = random.Random(seed)
        run = uuid.uuid4().hex[:8]
        self.s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"soak{run}", app_id=f"haocha-soak{run}",
                          data_dir=tmp_path / "writer" / "data", partitions=4, api_port=free_port(),
                          deadline_sweep_seconds=0, progress_seconds=0)
        self.worker_settings = self.s.model_copy(update={
            "data_dir": tmp_path / "worker" / "data", "api_port": free_port(), "sink_in_worker": False})
        generated = traffic(self.s, reviews, seed=seed, bad_share=0.08, malformed_share=0.002, resend_share=0.01,
                            duplicate_case_share=0.005, repeat_press_share=0.005)
        self.subs = without_chance_repeats(generated, self.s.repeat_window_seconds)
        self.left_out = len(generated) - len(self.subs)
        self.want = oracle(self.subs)
        self.start_worker, self.tmp_path = start_worker, tmp_path
        self.rounds: list[Round] = []
        self.feed: Feed | None = None
        self.exits: list[tuple[str, int, str]] = []  # (role, exit code, its last error line)
        self.restarted: dict[str, float] = {}
        self.writer: SinkProcess | None = None

    # -- the deployment --------------------------------------------------------------------------

    def start(self) -> None:
        self.broker.up()
        asyncio.run(ensure_topics(self.s))
        self.writer = SinkProcess(self.s, self.tmp_path / "sink.log").start()
        self.worker = self.start_worker(self.worker_settings)
        self.writer_ready()
        self.worker.wait_ready()

    def writer_ready(self, timeout: float = RECOVERY_TIMEOUT) -> None:
        """The writer answers on its API (it serves it, owning the embedded store)."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.writer.proc.poll() is None, f"the writer died while starting\n{self.writer.logs()[-4000:]}"
            try:
                if httpx.get(f"{self.s.worker_url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the writer did not answer within {timeout:.0f}s\n{self.writer.logs()[-4000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        assert self.worker.terminate() == 0, f"the worker did not stop cleanly\n{self.worker.logs()[-3000:]}"
        assert self.writer.stop() == 0, f"the writer did not stop cleanly\n{self.writer.logs()[-3000:]}"

    def close(self) -> None:
        """What a failed run left running (the worker is the start_worker fixture's)."""
        if self.feed is not None:
            self.feed.halt()
        if self.writer is not None:
            self.writer.stop(sig=9)

    def supervise(self) -> None:
        """What the deployment's supervisor does (restart: unless-stopped): a role that stopped
        itself is started again. The worker and the writer are crash-only: a hop that fails on a
        batch (a broker away for longer than a producer waits) exits with EXIT_AGENT_FAILED. Each
        exit is recorded and printed; the verdict stays the counts."""
        for role, proc in (("worker", self.worker), ("writer", self.writer)):
            code = proc.proc.poll()
            if code is None or time.monotonic() - self.restarted.get(role, 0.0) < 2.0:
                continue
            why = last_error(proc.logs())
            self.exits.append((role, code, why[-200:]))
            self.say(f"          {role} exited by itself with {code} ({why[-160:]}); restarted")
            assert len(self.exits) <= 3 * self.rounds_wanted, f"seed {self.seed}: a crash loop: {self.exits[-5:]}"
            self.restarted[role] = time.monotonic()
            proc.start()
        assert self.feed.error is None, f"the feed failed: {self.feed.error!r}"

    def positions(self) -> dict[str, tuple[int, int]] | None:
        try:
            return asyncio.run(asyncio.wait_for(positions(self.s), 20))
        except (KafkaError, OSError, asyncio.TimeoutError):
            return None  # the broker is away

    # -- a round ---------------------------------------------------------------------------------

    def kill_and_restart(self, rnd: Round) -> None:
        before = None
        while before is None:
            before = self.positions()
        rnd.classified = before[self.s.review_group][0]
        t0 = time.monotonic()
        if rnd.target == "worker":
            self.killed("worker", self.worker.kill())
            self.worker.start().wait_ready(RECOVERY_TIMEOUT)
        elif rnd.target == "writer":
            self.killed("writer", self.writer.stop(sig=9))
            self.writer.start()
            self.writer_ready()
        else:
            self.broker.kill()
            self.broker.up()
        rnd.ready = time.monotonic() - t0
        # the groups the killed process runs (all of them for the broker)
        mine = {"worker": [self.s.review_group, self.s.app_id], "writer": [self.s.writer_group]}.get(
            rnd.target, list(before))
        while True:
            self.supervise()
            now = self.positions()
            if now is not None and all(now[g][0] > before[g][0] or now[g][1] == 0 for g in mine):
                break
            assert time.monotonic() - t0 < RECOVERY_TIMEOUT, (
                f"{rnd.target}: no progress {RECOVERY_TIMEOUT:.0f}s after the kill (seed {self.seed}): {now}\n"
                f"{self.logs(rnd.target)}")
            time.sleep(0.3)
        rnd.flowing = time.monotonic() - t0

    def killed(self, role: str, code: int) -> None:
        if code != -9:  # it had stopped itself just before
            self.exits.append((role, code, "found stopped when it was to be killed"))

    def logs(self, target: str) -> str:
        return {"worker": self.worker.logs, "writer": self.writer.logs, "broker": self.broker.log_tail}[target]()[-4000:]

    def plan(self) -> list[tuple[str, int]]:
        """(target, submissions acknowledged before it is killed) per round: every target at least
        once, the moments spread at random over the feed."""
        first = list(TARGETS)
        self.rng.shuffle(first)
        targets = (first + [self.rng.choice(TARGETS) for _ in range(self.rounds_wanted - len(first))])[:self.rounds_wanted]
        n = len(self.subs)
        marks = sorted(self.rng.randrange(n // 50, n - n // 20) for _ in targets)
        return list(zip(targets, marks))

    def run(self, rate: float) -> None:
        started = time.monotonic()
        self.start()
        self.say(f"soak: seed {self.seed} (HAOCHA_SOAK_SEED={self.seed} replays it), {len(self.subs):,} messages "
                 f"({self.left_out} left out: presses that repeat another by chance) "
                 f"({len(self.want['review_ids']):,} reviews, {len(self.want['tickets']):,} tickets expected), "
                 f"{self.rounds_wanted} rounds, broker {self.broker.bootstrap}, deployment up in "
                 f"{time.monotonic() - started:.1f}s")
        plan = self.plan()
        self.feed = Feed(self.s, self.subs, rate=rate)
        # The feed may run ahead of the round in hand up to the next round's mark, no further: it
        # sends through every kill, and the last rounds still find reviews flowing.
        self.feed.limit = plan[0][1]
        self.feed.start()
        for n, (target, mark) in enumerate(plan, 1):
            self.feed.limit = plan[n][1] if n < len(plan) else len(self.subs)
            while self.feed.acked < mark and self.feed.is_alive():
                self.supervise()
                time.sleep(0.05)
            time.sleep(self.rng.uniform(0.0, 1.0))  # a moment of its own, not a chunk boundary
            rnd = Round(n, target, time.monotonic() - self.feed.started_at, self.feed.acked)
            self.kill_and_restart(rnd)
            self.rounds.append(rnd)
            self.say(rnd.line())
        self.feed.join(RECOVERY_TIMEOUT)
        assert not self.feed.is_alive() and self.feed.error is None, f"the feed did not finish: {self.feed.error!r}"
        t0 = time.monotonic()
        self.caught_up()
        self.say(f"soak: fed in {self.feed.finished_at - self.feed.started_at:.1f}s ({self.feed.resent} chunks sent "
                 f"again), caught up {time.monotonic() - t0:.1f}s after the last message; "
                 f"{len(self.exits)} exits by a role itself: {Counter((r, c) for r, c, _ in self.exits)}")
        self.stop()
        self.say(f"soak: {time.monotonic() - started:.1f}s in all")

    def caught_up(self, timeout: float = 600.0) -> None:
        deadline, streak = time.monotonic() + timeout, 0
        while streak < 2:
            self.supervise()
            now = self.positions()
            streak = streak + 1 if now is not None and not any(lag for _, lag in now.values()) else 0
            assert time.monotonic() < deadline, f"no catch-up within {timeout:.0f}s (seed {self.seed}): {now}"
            time.sleep(0.5)

    # -- the verdict -----------------------------------------------------------------------------

    def verify(self) -> dict:
        seed, want = self.seed, self.want
        log = self.read_log()
        assert log["order_kept"], (
            f"seed {seed}: the feed reordered the input (a later message of a partition reached the log before an "
            f"earlier one): the oracle does not hold for this run; {log['order_kept_detail']}")
        got = stored(self.s)
        extra = self.store_figures()
        lost = want["review_ids"] - got["review_ids"]
        unknown = got["review_ids"] - want["review_ids"]
        assert not lost, f"seed {seed}: {len(lost)} reviews lost, e.g. {sorted(lost)[:10]}"
        assert not unknown, f"seed {seed}: {len(unknown)} unknown review ids in ClickHouse, e.g. {sorted(unknown)[:10]}"
        assert not extra["doubled_reviews"], f"seed {seed}: reviews stored twice: {extra['doubled_reviews'][:10]}"
        assert got["review_rows"] == len(want["review_ids"])
        assert got["counted"] == want["counted"], f"seed {seed}: counted {got['counted']} != {want['counted']}"
        for kind, n in want["not_counted"].items():
            assert got["by_class"].get(kind, 0) == n, f"seed {seed}: {kind}: {got['by_class'].get(kind, 0)} != {n}"
        opened = Counter(got["opened"])
        assert not [t for t, c in opened.items() if c > 1], f"seed {seed}: TicketOpened stored twice"
        missing = sorted(set(want["tickets"]) - set(opened))
        surplus = sorted(set(opened) - set(want["tickets"]))
        assert not missing, f"seed {seed}: {len(missing)} tickets lost, e.g. {missing[:10]}"
        assert not surplus, f"seed {seed}: {len(surplus)} tickets not in the oracle, e.g. {surplus[:10]}"
        assert got["tickets"] == len(want["tickets"])
        assert got["event_rows"] == got["distinct_events"] == len(want["tickets"]), (
            f"seed {seed}: ticket events {got['event_rows']} rows, {got['distinct_events']} distinct, "
            f"{len(want['tickets'])} tickets")
        decided_twice = {t: ids for t, ids in log["opened_event_ids"].items() if len(ids) > 1}
        assert not decided_twice, f"seed {seed}: tickets opened twice in the log: {list(decided_twice.items())[:5]}"
        assert sorted(log["opened_event_ids"]) == want["tickets"], f"seed {seed}: the log's tickets != the oracle's"
        assert got["dead_letters"] == log["malformed_copies"], (
            f"seed {seed}: {got['dead_letters']} dead letters, {log['malformed_copies']} malformed messages in the log")
        answer = self.haocha_check()
        models = answer["models"]
        assert answer["ok"], f"seed {seed}: haocha check: read models differ from the log:\n" + "\n".join(
            f"{name}: {line}" for name, c in models.items() for line in c["shown"])
        assert models["reviews"]["store"] == len(want["review_ids"])
        assert models["tickets"]["store"] == models["ticket_events"]["store"] == len(want["tickets"])
        assert models["dead_letters"]["store"] == log["malformed_copies"]
        # Last, since `haocha check` does not cover them: the rollups the report reads.
        rollups = {g: rb for g, rb in extra["rollups"].items() if rb != (want["counted"], len(want["tickets"]))}
        assert len(extra["rollups"]) == 4, f"seed {seed}: rollup granularities: {sorted(extra['rollups'])}"
        assert not rollups, (f"seed {seed}: rollups (reviews, bad) per granularity {rollups}, want "
                             f"{want['counted']} counted / {len(want['tickets'])} bad")
        return {"reviews": got["review_rows"], "counted": got["counted"], "tickets": got["tickets"],
                "ticket_events": got["event_rows"], "dead_letters": got["dead_letters"],
                "alerts": models["alerts"]["store"], "submitted_in_log": log["submitted"]}

    def read_log(self) -> dict:
        """What the log holds: the malformed copies received, each ticket's TicketOpened event ids,
        and whether each partition's first copies kept the generated order."""
        malformed = {s.value for s in self.subs if s.kind == "malformed"}
        submitted = asyncio.run(read_all(self.s, self.s.topic(REVIEWS_SUBMITTED.name), timeout=300))
        want_order: dict[bytes, list[bytes]] = defaultdict(list)
        seen: set[bytes] = set()
        for s in self.subs:
            if s.value not in seen:
                seen.add(s.value)
                want_order[s.key].append(s.value)
        got_order: dict[bytes, list[bytes]] = defaultdict(list)
        seen.clear()
        for m in sorted(submitted, key=lambda m: (m.partition, m.offset)):
            if m.value not in seen:
                seen.add(m.value)
                got_order[m.key].append(m.value)
        bad_keys = [k for k in want_order if want_order[k] != got_order.get(k)]
        opened: dict[str, set[str]] = defaultdict(set)
        for m in asyncio.run(read_all(self.s, self.s.topic(TICKET_EVENTS.name), timeout=300)):
            env = orjson.loads(m.value)
            if env["type"] == "TicketOpened":
                opened[env["ticket_id"]].add(env["event_id"])
        return {"submitted": len(submitted), "malformed_copies": sum(m.value in malformed for m in submitted),
                "order_kept": not bad_keys, "order_kept_detail": f"keys out of order: {bad_keys[:5]}",
                "opened_event_ids": opened}

    def store_figures(self) -> dict:
        from sinks.clickhouse import ClickHouseStore

        store = ClickHouseStore(self.s.dsn, self.s.clickhouse_database)
        try:
            q = store.query
            return {
                "doubled_reviews": q("SELECT review_id, count() c FROM {db}.reviews GROUP BY review_id HAVING c > 1"),
                "rollups": {g: (r, b) for g, r, b in q(
                    "SELECT granularity, sum(reviews), sum(bad) FROM {db}.review_rollups GROUP BY granularity")},
            }
        finally:
            store.close()

    def haocha_check(self) -> dict:
        """`haocha check --json` as an operator runs it (no worker answers: it opens the store)."""
        env = {**os.environ, **self.s.as_env()}
        done = subprocess.run([sys.executable, "-m", "apps.cli", "check", "--json"], env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode in (0, 1), f"haocha check failed ({done.returncode}):\n{done.stderr[-3000:]}"
        return json.loads(done.stdout)


def last_error(log: str) -> str:
    """A traceback's last line (the exception), else the last CRITICAL line."""
    lines = log.splitlines()
    return next((ln for ln in reversed(lines) if re.match(r"[\w.]+(Error|Exception)\b", ln)),
                next((ln for ln in reversed(lines) if "CRITICAL" in ln), ""))


@pytest.fixture
def own_broker():
    broker = OwnBroker("soak")
    yield broker
    broker.down(wipe=True)


@pytest.fixture
def say(capsys):
    """Progress lines straight to the terminal, also while pytest captures output."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(line, file=sys.stderr, flush=True)

    return write


def soak_seed() -> int:
    return int(os.environ.get("HAOCHA_SOAK_SEED") or secrets.randbelow(10**9))


def run_soak(tmp_path, own_broker, start_worker, say, reviews: int, rounds: int, rate: float) -> Soak:
    soak = Soak(tmp_path, own_broker, start_worker, say, reviews=reviews, rounds=rounds, seed=soak_seed())
    try:
        soak.run(rate=rate)
    finally:
        soak.close()
    assert len(soak.rounds) == rounds and {r.target for r in soak.rounds} == set(TARGETS)
    figures = soak.verify()
    say(f"soak: exact after {rounds} kills (seed {soak.seed}): " + ", ".join(f"{k} {v:,}" for k, v in figures.items()))
    return soak


@pytest.mark.timeout(900)
def test_one_kill_each_of_worker_writer_and_broker_loses_and_doubles_nothing(tmp_path, own_broker, start_worker, say):
    """The small variant for `make test`: 10,000 reviews, three rounds."""
    run_soak(tmp_path, own_broker, start_worker, say, reviews=10_000, rounds=3, rate=1000)


@pytest.mark.soak
@pytest.mark.timeout(5400)
def test_twenty_random_kills_while_200k_reviews_flow_lose_and_double_nothing(tmp_path, own_broker, start_worker, say):
    run_soak(tmp_path, own_broker, start_worker, say, reviews=200_000, rounds=20, rate=1500)
