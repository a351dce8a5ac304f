"""Concurrent users through the running app's API (gradio_client), and the app's memory while serving them.

The real app (`python app.py`) serves the shipped corpus on 127.0.0.1. For 1, 4 and 16 simultaneous users, each
user (a thread with its own gradio_client) asks ``per_user`` golden questions back to back. Reported per level:
requests, errors, throughput, p50/p95 latency as a user sees it. The app's peak resident memory (VmHWM) is read
from /proc after start-up and after the heaviest level. Writes benchmarks/results/concurrency.json.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import ROOT, indexed, peak_rss_mb, questions, summary_ms, write_result

sys.path.insert(0, str(ROOT / "tests"))

LEVELS = (1, 4, 16)


def run_level(url: str, users: int, per_user: int, cases: list[dict[str, Any]]) -> dict[str, Any]:
    from gradio_client import Client

    clients = [
        Client(url, verbose=False, download_files=False, analytics_enabled=False) for _ in range(users)
    ]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(users)

    def user(index: int) -> None:
        start.wait()
        for i in range(per_user):
            question = cases[(index * per_user + i) % len(cases)]["question"]
            t0 = time.perf_counter()
            try:
                chat = clients[index].predict(question, [], "All documents", api_name="/ask")[0]
                ok = bool(chat) and chat[-1]["role"] == "assistant" and chat[-1]["content"]
                outcome = None if ok else f"empty answer to {question!r}"
            except Exception as exc:  # every failure counts as an error, whatever its kind
                outcome = f"{exc.__class__.__name__}: {exc}"
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(elapsed)
                if outcome:
                    errors.append(outcome)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for c in clients:
        c.close()
    return {
        "users": users,
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "throughput_rps": round(len(latencies) / wall, 2),
        **summary_ms(latencies),
    }


def main(
    data: Path, levels: tuple[int, ...] = LEVELS, per_user: int = 6, out: Path | None = None
) -> dict[str, Any]:
    from app_process import running_app

    cases = questions()
    with tempfile.TemporaryDirectory(prefix="cmo-bench-users-") as tmp:
        served = Path(tmp) / "data"
        shutil.copytree(data, served)  # the app writes feedback and logs into its data dir
        with running_app(served) as server:
            pid = server.process.pid
            rss_idle = peak_rss_mb(pid)
            run_level(server.url, 1, 1, cases)  # warm-up: the first question loads the encoder and BM25
            rows = [run_level(server.url, users, per_user, cases) for users in levels]
            rss_peak = peak_rss_mb(pid)
            server.check_alive()
    return write_result(
        "concurrency",
        {"levels": rows, "app_rss_after_start_mb": rss_idle, "app_peak_rss_mb": rss_peak},
        out,
    )


if __name__ == "__main__":
    import json

    with indexed() as data:
        print(json.dumps(main(data), indent=2))
