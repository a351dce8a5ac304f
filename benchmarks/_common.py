"""What every benchmark shares: where results go, the machine they were measured on, percentiles, memory."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: Inputs computed once and reused by later runs (sentence vectors of the synthetic corpus); not in git.
CACHE = ROOT / "benchmarks" / ".cache"
GOLDEN = ROOT / "evals" / "golden.jsonl"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cpu = f"{model}, " if model else ""
    return (
        f"{cpu}{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "n": len(values),
    }


def questions(limit: int | None = None) -> list[dict[str, Any]]:
    """The golden questions (with their history), the same ones the eval suite asks."""
    cases = [json.loads(line) for line in GOLDEN.read_text("utf-8").splitlines() if line.strip()]
    return cases[:limit] if limit else cases


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process so far. Read from /proc (VmHWM) rather than getrusage, whose
    ru_maxrss a child started by a big parent inherits across exec."""
    peak = peak_rss_mb(os.getpid())
    return peak if peak is not None else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of another running process, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def dir_size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024 / 1024, 1)


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> dict[str, Any]:
    """Write ``<out>/<name>.json`` (``benchmarks/results`` by default) and return the result."""
    folder = out or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return result


def ingest_with_cli(data: Path, corpus: Path | None = None) -> None:
    """Build the index the way a user does, `cmo-assistant ingest` (which also exports the model for questions)."""
    env = {**os.environ, "CMO_ASSISTANT_DATA_DIR": str(data)}
    if corpus is not None:
        env["CMO_ASSISTANT_CORPUS_DIR"] = str(corpus)
    subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", "--quiet"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def indexed(corpus: Path | None = None) -> Iterator[Path]:
    """A temporary data dir holding the index of ``corpus`` (the shipped corpus by default)."""
    with tempfile.TemporaryDirectory(prefix="cmo-bench-") as tmp:
        data = Path(tmp) / "data"
        ingest_with_cli(data, corpus)
        yield data


def settings_for(data: Path, corpus: Path | None = None, **overrides: Any) -> Any:
    from assistant import Settings

    if corpus is not None:
        overrides["corpus_dir"] = corpus
    return Settings.from_env(data_dir=data, **overrides)
