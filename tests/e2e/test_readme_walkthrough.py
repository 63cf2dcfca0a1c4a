"""README's first hour, run as written: the shell blocks marked `<!-- walkthrough -->` are taken
from README.md (never copied here) and pasted, in order, into one bash session in an empty
directory, as a newcomer would: worker and gateway in the background, a terminal registered, a bad
review sent, its ticket worked to closure by the officer of the window's department, the report read.

The environment is the test's (a broker of its own, free ports, a fresh topic prefix and data dir,
the venv on PATH); the commands are the README's. The setup block (`make install kafka-up`,
activating the venv) is checked for, not run: the test already has both.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from haocha.adapters.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- walkthrough(?P<tag>: *[a-z]+)? -->\s*\n```sh\n(?P<body>.*?)\n```", re.S)
DONE = "__walkthrough_block_done__"


def walkthrough_blocks(text: str) -> list[tuple[str, str]]:
    """(tag, shell text) of every marked block, in document order; tag "" for blocks to run."""
    return [((m["tag"] or "").strip(": "), m["body"]) for m in BLOCK.finditer(text)]


class Session:
    """One bash reading from a pipe, like a terminal a user pastes into; output collected per block."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.paste("set -e -o pipefail")  # a failing command fails the walkthrough, with its output

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # bash exited: `set -e` stopped at a failing command

    def paste(self, block: str, timeout: float = 240.0) -> str:
        self.proc.stdin.write(f"{block}\necho {DONE}\n")
        self.proc.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"block did not finish within {timeout:.0f}s:\n{block}\n--- output:\n"
                                     + "".join(out)) from None
            if line is None:
                raise AssertionError(f"block failed (exit {self.proc.wait()}):\n{block}\n--- output:\n"
                                     + "".join(out))
            if line.strip() == DONE:
                return "".join(out)
            out.append(line)

    def close(self) -> None:
        """The worker and gateway were started with `&` in this session: they share its process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        deadline = time.monotonic() + 60  # and give the backgrounded children time to exit too
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.killpg(self.proc.pid, signal.SIGKILL)


def test_the_blocks_are_there():
    blocks = walkthrough_blocks(README.read_text(encoding="utf-8"))
    setup = [body for tag, body in blocks if tag == "setup"]
    assert setup and "make install kafka-up" in setup[0] and ". .venv/bin/activate" in setup[0]
    runnable = "\n".join(body for tag, body in blocks if not tag)
    for step in ("haocha worker", "haocha gateway", "haocha terminal register", "haocha terminal-client send",
                 "haocha user add", "haocha ticket close", "haocha report monthly"):
        assert step in runnable, step


def test_readme_walkthrough_runs_as_written(tmp_path: Path, kafka_bootstrap: str):
    run = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHA_")}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "HAOCHA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HAOCHA_TOPIC_PREFIX": f"walk{run}",
        "HAOCHA_DATA_DIR": str(tmp_path / "data"),
        "HAOCHA_PARTITIONS": "2",
        "HAOCHA_API_PORT": str(free_port()),
        "HAOCHA_GATEWAY_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    })
    work = tmp_path / "home"
    work.mkdir()
    blocks = [body for tag, body in walkthrough_blocks(README.read_text(encoding="utf-8")) if not tag]
    assert len(blocks) == 4, "start, terminal, officer, report"
    shell = Session(work, env)
    outputs = []
    try:
        for body in blocks:
            outputs.append(shell.paste(body))
            print(f"$ {body}\n{outputs[-1]}")  # shown by pytest when an assertion fails
    finally:
        shell.close()
    start, terminal, officer, report = outputs
    full_logs = {f.name: f.read_text(errors="replace") for f in work.glob("*.log")}
    logs = "\n".join(f"--- {name}\n{text[-3000:]}" for name, text in full_logs.items())

    assert (work / "pad.key").stat().st_mode & 0o777 == 0o600
    assert "pad.key" in terminal and "hck_" not in terminal  # the key went to the file, not the screen
    assert re.search(r"\bclosed\b", officer), officer + logs
    ticket = re.search(r"\bTK-[0-9a-f]{32}\b", officer)
    assert ticket, officer
    assert "13800138000" in officer  # the assigned officer saw the phone number ...
    assert officer.count("13800138000") == 1  # ... once, when asking for it; masked everywhere else
    reports = list((work / "out").glob("*.json"))
    assert len(reports) == 1, report
    monthly = json.loads(reports[0].read_text())
    czj = next(d for d in monthly["departments"] if d["id"] == "D-CZJ")
    assert (czj["bad_count"], czj["closed"], czj["rectification_rate"]) == (1, 1, 1.0), (czj, report, logs)
    assert monthly["totals"]["closed"] == 1
    assert set(full_logs) == {"worker.log", "gateway.log"}
    for name, text in full_logs.items():
        assert "\x1b" not in text, name  # the logs are text: no terminal escapes
