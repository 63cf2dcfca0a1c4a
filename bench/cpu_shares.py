"""Who had the machine's CPU during a bench: the processes it names, the broker by kind of thread,
and the rest, from /proc (Linux), as shares of one core.

On two cores a latency figure is as much about what else ran as about the worker: a broker that
was just started spends minutes compiling itself (HotSpot's JIT threads), and that CPU is taken
from the worker's loop. Printing it next to the figure says which run was the machine's, not the
code's.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")

# HotSpot names its threads, Kafka its own (a thread's name is cut to 15 characters in /proc).
_JVM_KINDS = (
    ("JIT compiler", ("C1 CompilerThre", "C2 CompilerThre")),
    ("requests", ("data-plane-kafk",)),  # the network threads and the request handlers
    ("GC", ("GC Thread", "G1 ", "VM Thread")),
)


def _stat_cpu(path: Path) -> float:
    """User + system seconds from a /proc stat file (a process's or a thread's)."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); NaN when it is gone."""
    try:
        return _stat_cpu(Path(f"/proc/{pid}/stat"))
    except (OSError, IndexError, ValueError):
        return float("nan")


def thread_kinds(pid: int) -> dict[str, float]:
    """A JVM's CPU seconds by kind of thread (`_JVM_KINDS`, else "other")."""
    out: dict[str, float] = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            cpu = _stat_cpu(Path(f"/proc/{pid}/task/{tid}/stat"))
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            continue
        kind = next((k for k, prefixes in _JVM_KINDS if comm.startswith(prefixes)), "other")
        out[kind] = out.get(kind, 0.0) + cpu
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)  # idle + iowait
    busy = sum(parts[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / _TICK, idle / _TICK


def broker_pid(port: int | str) -> int | None:
    """The pid of the Kafka broker on this machine listening on `port`, if one runs here."""
    listen = re.compile(rf"PLAINTEXT://[^,\s]*:{port}\b")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            args = (d / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if "kafka.Kafka" not in args[:-1]:
                continue
            props = Path(args[args.index("kafka.Kafka") + 1])  # kafka.Kafka's one argument
            if listen.search(props.read_text()):
                return int(d.name)
        except (OSError, IndexError):
            continue
    return None


@dataclass
class Snapshot:
    at: float
    procs: dict[str, float]
    broker: dict[str, float]
    busy: float
    idle: float


@dataclass
class CpuShares:
    """`start()` and `stop()` around the measured part; `line()` says who used what of it."""

    pids: dict[str, int]  # name -> pid of the processes to name (this one included, if wanted)
    broker: int | None = None
    _a: Snapshot | None = field(default=None, repr=False)
    _b: Snapshot | None = field(default=None, repr=False)

    def _snap(self) -> Snapshot:
        busy, idle = machine_busy()
        return Snapshot(time.monotonic(), {n: process_cpu(p) for n, p in self.pids.items()},
                        thread_kinds(self.broker) if self.broker else {}, busy, idle)

    def start(self) -> None:
        self._a = self._snap()

    def stop(self) -> None:
        self._b = self._snap()

    def line(self) -> str:
        a, b = self._a, self._b
        if a is None or b is None:
            return "CPU: not measured (the run ended before its measured part)"
        pct = lambda x: 100.0 * x / max(b.at - a.at, 1e-9)  # noqa: E731  (seconds -> % of one core)
        procs = {n: pct(b.procs[n] - a.procs[n]) for n in self.pids}
        parts = [f"{n} {v:.0f} %" for n, v in procs.items()]
        named = sum(procs.values())
        if self.broker:
            kinds = {k: pct(v - a.broker.get(k, 0.0)) for k, v in b.broker.items()}
            named += sum(kinds.values())
            by_kind = ", ".join(f"{k} {v:.0f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
            parts.append(f"broker {sum(kinds.values()):.0f} % ({by_kind})")
        else:
            parts.append("broker not on this machine")
        busy, idle = pct(b.busy - a.busy), pct(b.idle - a.idle)
        parts.append(f"the rest {max(0.0, busy - named):.0f} %")
        return (f"CPU, % of one core over the measured part ({os.cpu_count()} cores, {busy:.0f} % busy, "
                f"{idle:.0f} % idle): " + ", ".join(parts))
