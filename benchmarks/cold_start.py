"""Cold start: process start to first answer for `cmo-assistant ask "..."`, as a user types it.

Measured on an index built beforehand (by `cmo-assistant ingest`), each run a fresh process. For comparison:
the bare interpreter, importing the package, and the same `ask` with questions embedded by the torch model
(CMO_ASSISTANT_QUERY_ENCODER=torch), which is what every `ask` cost before the ONNX export. The CPU time of the
`ask` process (user + system) is reported too: on a machine shared with other work it moves much less than the
wall-clock time. Writes benchmarks/results/cold_start.json.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import indexed, write_result

QUESTION = "What does a chief medical officer do at an FQHC?"


def timed_run(args: list[str], env: dict[str, str]) -> float:
    return timed_run_with_cpu(args, env)[0]


def timed_run_with_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one run of ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(data: Path, corpus: Path | None = None, repeats: int = 5, out: Path | None = None) -> dict[str, Any]:
    env = {**os.environ, "CMO_ASSISTANT_DATA_DIR": str(data)}
    if corpus is not None:
        env["CMO_ASSISTANT_CORPUS_DIR"] = str(corpus)
    ask = [sys.executable, "-m", "assistant", "ask", QUESTION]

    def median_of(args: list[str], runs: int, extra: dict[str, str] | None = None) -> float:
        return round(statistics.median(timed_run(args, {**env, **(extra or {})}) for _ in range(runs)), 2)

    asks = [timed_run_with_cpu(ask, env) for _ in range(repeats)]
    result = {
        "ask_s": round(statistics.median(wall for wall, _ in asks), 2),
        "ask_cpu_s": round(statistics.median(cpu for _, cpu in asks), 2),
        "ask_with_torch_model_s": median_of(
            ask, max(1, repeats // 2), {"CMO_ASSISTANT_QUERY_ENCODER": "torch"}
        ),
        "python_s": median_of([sys.executable, "-c", "pass"], repeats),
        "import_package_s": median_of([sys.executable, "-c", "import assistant.cli"], repeats),
        "runs": repeats,
    }
    return write_result("cold_start", result, out)


if __name__ == "__main__":
    import json

    with indexed() as data:
        print(json.dumps(main(data), indent=2))
