"""A whole deployment on this machine as child processes (the demo): one worker that runs everything,
or the embedded topology with several workers (docs/deploy.md): N workers in one consumer group,
each with its own data dir (RocksDB state) and port, and one writer (`haocha sink`) that owns the
embedded store and serves the HTTP API and console on the deployment's port."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from apps.simulate.worker_process import WorkerProcess
from haocha.adapters.net import free_port
from haocha.settings import Settings

# How often the demo's workers log their progress line: often enough for a short month to show each
# worker's share.
PROGRESS_SECONDS = 5.0


@dataclass
class LocalDeployment:
    api: WorkerProcess  # the process serving the API and console (the worker, or the writer)
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def processes(self) -> list[WorkerProcess]:
        return self.workers if self.api in self.workers else [self.api, *self.workers]

    def start(self) -> "LocalDeployment":
        for p in self.processes:
            p.start()
        return self

    def wait_ready(self) -> "LocalDeployment":
        for p in self.processes:
            p.wait_ready()
        return self

    def stop(self) -> list[int]:
        # Workers first: the writer then writes what they emitted last before it stops.
        return [p.stop() for p in [*self.workers, *([] if self.api in self.workers else [self.api])]]

    def describe(self) -> str:
        if self.api in self.workers:
            return f"1 worker (writer and API in it) at {self.api.url}, log {self.api.log_path}"
        logs = ", ".join(str(w.log_path) for w in self.workers)
        return (f"{len(self.workers)} workers (logs {logs}) + 1 writer serving the API and console at "
                f"{self.api.url}, log {self.api.log_path}")

    def shares(self) -> list[str]:
        """Each worker's review partitions and its last progress line, from its log."""
        out = []
        for i, w in enumerate(self.workers, 1):
            log = w.log_path.read_text(encoding="utf-8", errors="replace") if w.log_path.exists() else ""
            held = [ln for ln in log.splitlines() if "reviews: partitions" in ln]
            parts = sorted({int(p) for p in re.findall(r", (\d+)\)", held[-1])}) if held else []
            progress = [ln.split("progress: ", 1)[1] for ln in log.splitlines() if "progress: " in ln]
            out.append(f"worker {i}: review partitions {parts}; {progress[-1] if progress else 'no progress line yet'}")
        return out


def local_deployment(s: Settings, workers: int, run_dir: Path, extra_env: dict[str, str]) -> LocalDeployment:
    """`s` is the deployment's settings; the API is served at `s.worker_url` in either shape."""
    if workers <= 1:
        worker = WorkerProcess(s.model_copy(update={"progress_seconds": PROGRESS_SECONDS}),
                               run_dir / "worker.log", extra_env)
        return LocalDeployment(api=worker, workers=[worker])
    writer = WorkerProcess(s.model_copy(update={"sink_in_worker": False}), run_dir / "sink.log", extra_env, role="sink")
    members = [WorkerProcess(s.model_copy(update={"data_dir": run_dir / f"worker-{i}", "api_port": free_port(),
                                                  "api_url": "", "sink_in_worker": False,
                                                  "progress_seconds": PROGRESS_SECONDS}),
                             run_dir / f"worker-{i}.log", extra_env)
               for i in range(1, workers + 1)]
    return LocalDeployment(api=writer, workers=members)
