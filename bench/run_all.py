"""Every benchmark of issue 12 in one command (`make bench`), then a short summary of their figures.

    .run/bench/venv/bin/python bench/run_all.py [--only pipeline,latency,...] [--quick]

Each bench runs as its own process with its default sizes (the issue's), its figures (stdout) shown
as they come and kept in .run/bench/results/<name>.txt; the summary repeats each one's figures,
its exit code and how long it took, with the load average (other work on the machine skews wall
clock figures; the CPU per review and the same-run ratios are the steadier ones). `--quick` runs
small sizes, to check that everything runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / ".run" / "bench" / "results"

# name, script, arguments (the sizes), arguments with --quick
BENCHES = [
    # Ours three times, between the others: the first run is on the bench's new broker.
    ("pipeline", "bench_pipeline.py", ["--runs", "split,quix,split,baseline,hop,split"],
     ["--runs", "split,quix,baseline,hop", "--reviews", "5000", "--baseline-reviews", "2000", "--quix-reviews", "2000"]),
    ("latency", "bench_latency.py", [], ["--seconds", "10", "--warmup", "3"]),
    ("restart", "bench_restart.py", [], ["--tickets", "0", "--reviews", "5000", "--kills", "1"]),
    ("rebuild", "bench_rebuild.py", [], ["--events", "50000"]),
    ("ingest", "bench_ingest.py", [], ["--rows", "20000", "--batches", "10000"]),
    ("report", "bench_report.py", [], ["--rows", "100000", "--runs", "1"]),
    ("gateway", "bench_gateway.py", [], ["--seconds", "3"]),
]


def run(name: str, script: str, args: list[str]) -> tuple[int, float, list[str]]:
    print(f"\n===== {name}: bench/{script} {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / script), *args], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line.rstrip("\n"))
    rc = proc.wait()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rc, time.monotonic() - t0, [ln for ln in lines if ln.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
                    default=[b[0] for b in BENCHES])
    ap.add_argument("--quick", action="store_true", help="small sizes: check that every bench runs")
    args = ap.parse_args()
    os.environ.setdefault("TZ", "UTC")
    unknown = set(args.only) - {b[0] for b in BENCHES}
    if unknown:
        raise SystemExit(f"no bench {', '.join(sorted(unknown))}; there are {', '.join(b[0] for b in BENCHES)}")
    start, done = time.monotonic(), []
    for name, script, full, quick in BENCHES:
        if name in args.only:
            done.append((name, *run(name, script, quick if args.quick else full)))
    print(f"\n===== summary: {len(done)} benches in {(time.monotonic() - start) / 60:.1f} min, "
          f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} cores"
          f"{' (--quick sizes)' if args.quick else ''}")
    for name, rc, seconds, lines in done:
        print(f"--- {name} ({seconds:.0f} s, exit {rc}{': see above' if rc not in (0, 1) else ''})")
        for ln in lines[-14:]:
            print(f"  {ln}")
    print(f"(each bench's figures: {RESULTS.relative_to(REPO)}/<name>.txt)")
    return max((rc for _, rc, _, _ in done), default=0)


if __name__ == "__main__":
    sys.exit(main())
