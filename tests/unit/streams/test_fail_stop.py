"""An agent that fails on a batch must stop the worker before Faust acknowledges the batch."""

import subprocess
import sys

from streams.app import EXIT_AGENT_FAILED

PROGRAM = """
import asyncio
from streams.app import fail_stop

async def agent():
    for batch in ([1], [2]):
        with fail_stop("demo"):
            if batch == [2]:
                raise RuntimeError("ClickHouse is gone")
        print("acked", batch, flush=True)  # what Faust would do after the body

asyncio.run(agent())
print("unreachable", flush=True)
"""


def test_a_failing_batch_exits_the_process_without_acknowledging_it():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_AGENT_FAILED
    assert done.stdout.split("\n")[0] == "acked [1]"
    assert "acked [2]" not in done.stdout and "unreachable" not in done.stdout
    assert "agent demo failed on a batch" in done.stderr and "ClickHouse is gone" in done.stderr
