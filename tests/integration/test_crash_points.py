"""Crash at every await point of every agent's batch, then prove that every read model is a fold of
the log (issue 9): the tickets table is the fold of the ticket events (every ticket, at the same
version and status), review rows are the distinct counted reviews, one dead letter per bad input,
alerts once. `haocha check` (GET /api/v1/admin/check) compares the store with the log after every
recovery; the oracle (what the simulator generated, labelled) says what the log itself must hold.

The points are the ones the worker declares (`haocha check --list-crash-points`), never a list
kept here: an agent that declares new points is covered as soon as the composition root builds it.

`make test` runs every point once, on two deployments side by side (half the points each), with
one worker start per point: a point is armed while the worker runs (HAOCHA_CRASH_AT_FILE), a small
input sent, the worker kills itself at the point and is restarted unarmed, catches up and is
checked. The soak variant (`make soak`) gives each point a deployment of its own, started with
HAOCHA_CRASH_AT=<point> and restarted without it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from apps.commands.check import crash_points
from apps.simulate.pipeline import pipeline_lag
from apps.simulate.traffic import Submission
from haocha.settings import Settings
from tests.integration.test_pipeline import oracle, send, traffic

pytestmark = pytest.mark.integration

FAST = dict(sink_flush_seconds=0.2, review_flush_seconds=0.02, ticket_flush_seconds=0.02, progress_seconds=0)
LANES = 2


def spike(seed: int, like: dict) -> list[Submission]:
    """Four bad reviews of one window within minutes, at an hour no other chunk uses: every chunk
    raises an alert of its own."""
    at = datetime.fromisoformat(like["happened_at"]).replace(minute=0, second=0) + timedelta(hours=seed)
    subs = []
    for n in range(4):
        rid = f"RSPIKE{seed:03d}-{n}"
        review = dict(like, review_id=rid, case_no=f"CSPIKE{seed:03d}{n}", rating=1, reasons=["态度差"],
                      happened_at=(at + timedelta(minutes=n)).isoformat(),
                      received_at=(at + timedelta(minutes=n, seconds=5)).isoformat())
        subs.append(Submission(key=review["hall_id"].encode(), value=orjson.dumps(review), kind="review",
                               review_id=rid))
    return subs


def _own_ids(sub: Submission, seed: int) -> Submission:
    """The simulator numbers reviews from 1 on each run: each chunk's ids get a suffix of their own
    (a resend keeps its original's id), so chunks never collide."""
    try:
        doc = orjson.loads(sub.value)
    except orjson.JSONDecodeError:
        return sub
    if not isinstance(doc, dict) or "review_id" not in doc:
        return sub
    for name in ("review_id", "case_no", "follow_up_of"):
        if doc.get(name):
            doc[name] = f"{doc[name]}-k{seed}"
    return Submission(key=sub.key, value=orjson.dumps(doc), kind=sub.kind,
                      review_id=doc["review_id"] if sub.review_id else None)


def chunk(settings, seed: int) -> list[Submission]:
    """A small oracle-labelled input that reaches every agent: reviews (some bad: tickets), resends,
    second reviews of a case, malformed bytes (dead letters) and a spike (an alert)."""
    subs = [_own_ids(x, seed) for x in traffic(settings, 40, seed=1000 + seed, bad_share=0.3, malformed_share=0.1,
                                                 resend_share=0.05, duplicate_case_share=0.05, repeat_press_share=0.05)]
    first = next(orjson.loads(x.value) for x in subs if x.kind == "review")
    return subs + spike(seed, first)


class Lane:
    """One deployment that crashes at each of its points in turn.

    `live` arming (make test): one worker start per point. The worker runs with
    HAOCHA_CRASH_AT_FILE; a point is armed by writing it there, input is sent, the worker kills
    itself at the point, the file is emptied and the worker restarted, unarmed, to recover, catch
    up and be checked. `env` arming (soak): the procedure as the issue states it, a start with
    HAOCHA_CRASH_AT=<point> and a restart without it."""

    def __init__(self, make_settings, start_worker, points: list[str], arming: str = "live"):
        self.s = make_settings(**FAST)
        self.points, self.arming = points, arming
        self.armed = Path(self.s.data_dir).parent / f"crash-at-{self.s.app_id}"
        self.armed.write_text("")
        self.sent: list[Submission] = []
        self.start_worker = start_worker
        self.worker = None
        self.reached: list[str] = []
        self.checks = 0

    def start(self, env: dict[str, str]) -> None:
        if self.worker is None:
            self.worker = self.start_worker(self.s, env)
        else:
            self.worker.env.pop("HAOCHA_CRASH_AT", None)
            self.worker.env.update(env)
            self.worker.start()
        self.ready()

    def ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.worker.proc.poll() is None, f"the worker died while starting\n{self.worker.logs()[-3000:]}"
            try:
                if httpx.get(f"{self.worker.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"worker not healthy within {timeout:.0f}s\n{self.worker.logs()[-3000:]}")

    def caught_up(self, timeout: float = 90.0) -> None:
        deadline, streak = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            assert self.worker.proc.poll() is None, f"the worker died\n{self.worker.logs()[-3000:]}"
            lag = asyncio.run(pipeline_lag(self.s))
            streak = streak + 1 if sum(lag.values()) == 0 else 0
            if streak >= 2:
                return
            time.sleep(0.3)
        raise TimeoutError(f"no catch-up within {timeout:.0f}s: {lag}\n{self.worker.logs()[-3000:]}")

    def check(self, after: str) -> None:
        """The store against the log (the worker's check), the log against the oracle."""
        resp = httpx.get(f"{self.worker.url}/api/v1/admin/check", headers=self.worker.admin_headers, timeout=120)
        assert resp.status_code == 200, resp.text
        got, want = resp.json(), oracle(self.sent)
        models = got["models"]
        assert got["ok"], f"after a crash at {after}, read models differ from the log:\n" + "\n".join(
            f"{name}: {line}" for name, c in models.items() for line in c["shown"])
        counts = {name: c["store"] for name, c in models.items()}
        assert counts["reviews"] == len(want["review_ids"]), f"{after}: review rows != distinct reviews"
        assert counts["tickets"] == len(want["tickets"]), f"{after}: tickets != counted bad reviews"
        assert counts["dead_letters"] == want["malformed"], f"{after}: dead letters != bad inputs"
        assert counts["alerts"] >= 1, f"{after}: no alert raised"
        self.checks += 1

    def crash_at(self, point: str) -> None:
        new = chunk(self.s, seed=len(self.reached))
        self.sent += new
        if self.arming == "live":
            self.armed.write_text(point)
        send(self.s, new)
        try:
            code = self.worker.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"crash point {point} was never reached\n{self.worker.logs()[-3000:]}") from None
        assert code == -signal.SIGKILL, f"{point}: exit {code}\n{self.worker.logs()[-3000:]}"
        assert f"crash point {point} reached" in self.worker.logs()
        self.reached.append(point)
        self.armed.write_text("")

    def run(self) -> None:
        if self.arming == "live":
            self.start({"HAOCHA_CRASH_AT_FILE": str(self.armed)})
        for point in self.points:
            if self.arming == "env":
                self.start({"HAOCHA_CRASH_AT": point})
            self.crash_at(point)
            self.start({})  # unarmed: it recovers
            self.caught_up()
            self.check(after=point)
        self.worker.terminate()


def run_lanes(lanes: list[Lane]) -> None:
    errors: list[BaseException] = []

    def go(lane: Lane) -> None:
        try:
            lane.run()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(lane,)) for lane in lanes]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


def declared_points(tmp_path) -> list[str]:
    return crash_points(Settings(data_dir=tmp_path / "points"))


def test_every_read_model_is_a_fold_of_the_log_after_a_crash_at_any_point(make_settings, start_worker, tmp_path):
    points = declared_points(tmp_path)
    # every path has its points: the review hop (intake, counting rules, alerts), the ticket agent,
    # the ClickHouse writer
    assert {"reviews.after_output", "reviews.after_changelog", "ticket.table_written", "writer.after_insert"} <= set(points)
    lanes = [Lane(make_settings, start_worker, points[i::LANES]) for i in range(LANES)]
    run_lanes(lanes)
    assert sorted(p for lane in lanes for p in lane.reached) == points
    assert sum(lane.checks for lane in lanes) == len(points), "a check after every crash"


@pytest.mark.soak
def test_each_crash_point_on_a_deployment_of_its_own(make_settings, start_worker, tmp_path):
    """The procedure the issue states, point by point: start armed, crash, restart unarmed, check."""
    for point in declared_points(tmp_path):
        lane = Lane(make_settings, start_worker, [point], arming="env")
        lane.run()
        assert lane.reached == [point] and lane.checks == 1
