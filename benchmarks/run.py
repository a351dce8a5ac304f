"""Every benchmark, end to end (`make bench`): results in benchmarks/results/, a figure, the README table.

python benchmarks/run.py            # the full run, about 10 minutes on 2 cores
python benchmarks/run.py --quick    # tiny inputs, to check the benchmark code itself (the test suite does)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ask_latency
import baseline
import cold_start
import concurrency
import ingest
import report
import scaling
from _common import CACHE, RESULTS, indexed


def main(
    quick: bool = False, corpus: Path | None = None, out: Path | None = None, only: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run the benchmarks (``only``: just these; the others' latest results are read back for the table)."""
    out = out or RESULTS
    started = time.perf_counter()
    results: dict[str, Any] = {}

    def step(name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        if only and name not in only:
            previous = out / f"{name}.json"
            if previous.exists():
                results[name] = json.loads(previous.read_text("utf-8"))
            return
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        results[name] = fn(*args, **kwargs)
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    step("ingest", ingest.main, corpus, repeats=1 if quick else 3, out=out)
    needs_index = not only or bool({"cold_start", "ask_latency", "baseline", "concurrency"} & set(only))
    with indexed(corpus) if needs_index else contextlib.nullcontext(Path()) as data:
        step("cold_start", cold_start.main, data, corpus, repeats=1 if quick else 5, out=out)
        step(
            "ask_latency",
            ask_latency.main,
            data,
            corpus,
            rounds=1 if quick else 3,
            limit=3 if quick else None,
            out=out,
        )
        step("baseline", baseline.main, data, corpus, limit=3 if quick else None, out=out)
        step(
            "concurrency",
            concurrency.main,
            data,
            (1, 2) if quick else concurrency.LEVELS,
            1 if quick else 6,
            out=out,
        )
    step(
        "scaling",
        scaling.main,
        (200, 400) if quick else scaling.SIZES,
        3 if quick else 100,
        out / "cache" if quick else CACHE,
        out=out,
    )
    markdown = report.table(results)
    (out / "summary.md").write_text(markdown + "\n", "utf-8")
    report.plot(results, out / "benchmarks.png")
    if out == RESULTS and not quick:
        report.update_readme(markdown)
    print(f"[bench] all done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs: checks the code, not the speed")
    parser.add_argument("--corpus", type=Path, help="a folder of documents instead of the shipped corpus")
    parser.add_argument("--out", type=Path, help=f"where results go (default {RESULTS})")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated benchmarks to run, e.g. ask_latency,scaling (default: all; 'none' only redraws "
        "the table and figure from the latest results)",
    )
    args = parser.parse_args()
    only = tuple(name for name in args.only.split(",") if name)
    print(report.table(main(args.quick, args.corpus, args.out, only)))
    print(json.dumps({"results": str(args.out or RESULTS)}))
