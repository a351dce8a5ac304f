"""The REST API under load (``POST /api/v1/ask`` with an API key), next to the Gradio path, and its cold start.

The real app (`python app.py`) serves the shipped corpus on 127.0.0.1 with a users file; one API key is issued
(``users key``, a real bcrypt hash, checked once and then remembered). For 1, 4, 16 and 64 concurrent clients
(asyncio, one connection each) golden questions are asked back to back: 400 requests at 16 clients, at least 50
at each level. Reported per level: requests, errors (anything but a 200 with an answer), throughput, p50/p95
latency as a client sees it. The Gradio path (gradio_client's ``/ask``, as benchmarks/concurrency.py asks) is
measured on an app without sign-in at 1, 4 and 16 users. Cold start: process start to the API's health check
answering, and to the first answer. The server's CPU time per request (from /proc) is reported with the
throughput two cores of its own would give at that cost, since a busy machine lowers the measured figure. With ``--workers 1 2 4`` the API is measured once per ``api_workers`` value.
Writes benchmarks/results/api_load.json.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, indexed, peak_rss_mb, questions, summary_ms, write_result

sys.path.insert(0, str(ROOT / "tests"))

LEVELS = (1, 4, 16, 64)
GRADIO_LEVELS = (1, 4, 16)
TARGET_RPS_AT_16 = 100.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_at(clients: int) -> int:
    return max(50, 25 * clients)


async def run_level(url: str, key: str, clients: int, total: int, cases: list[str]) -> dict[str, Any]:
    """``total`` questions asked by ``clients`` concurrent clients, each waiting for its answer before the next."""
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    headers = {"Authorization": f"Bearer {key}"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < total:
            question = cases[issued % len(cases)]
            issued += 1
            t0 = time.perf_counter()
            try:
                response = await http.post("/api/v1/ask", json={"question": question}, headers=headers)
                ok = response.status_code == 200 and bool(response.json().get("answer"))
                outcome = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
            except Exception as exc:  # every failure counts as an error, whatever its kind
                outcome = f"{exc.__class__.__name__}: {exc}"
            latencies.append((time.perf_counter() - t0) * 1000)
            if outcome:
                errors.append(outcome)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "throughput_rps": round(len(latencies) / wall, 2),
        **summary_ms(latencies),
    }


def cold_start(data: Path, users: Path, key: str, question: str, env: dict[str, str]) -> dict[str, Any]:
    """Seconds from process start to the health check answering 200, and to the first answer."""
    from app_process import AppServer

    server = AppServer(data, users, env)
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            while True:
                server.check_alive()
                try:
                    if http.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            healthy = time.perf_counter() - started
            answer = http.post(
                "/api/v1/ask", json={"question": question}, headers={"Authorization": f"Bearer {key}"}
            )
            answer.raise_for_status()
            first = time.perf_counter() - started
    finally:
        server.stop()
    return {"to_health_s": round(healthy, 2), "to_first_answer_s": round(first, 2)}


def api_levels(
    data: Path, users: Path, key: str, cases: list[str], levels: tuple[int, ...], workers: int
) -> dict[str, Any]:
    from app_process import running_app

    env = {"CMO_ASSISTANT_API_WORKERS": str(workers)}
    with running_app(data, users, env) as server:
        pid = server.process.pid
        asyncio.run(run_level(server.url, key, 2, 20, cases))  # warm-up: the encoder, BM25, the key's check
        rows = []
        for n in levels:
            before = cpu_seconds(pid)
            row = asyncio.run(run_level(server.url, key, n, requests_at(n), cases))
            cpu_ms = (cpu_seconds(pid) - before) * 1000 / row["requests"]
            # What two cores of its own would serve at this CPU cost (the load generator and other processes
            # share this machine's cores, so the measured throughput is lower when the machine is busy).
            rows.append(
                {
                    **row,
                    "server_cpu_ms_per_request": round(cpu_ms, 2),
                    "rps_on_2_free_cores": round(2000 / cpu_ms, 1),
                }
            )
        rss = peak_rss_mb(pid)
        server.check_alive()
    return {"api_workers": workers, "levels": rows, "app_peak_rss_mb": rss}


def gradio_levels(data: Path, levels: tuple[int, ...]) -> list[dict[str, Any]]:
    from app_process import running_app
    from concurrency import run_level as gradio_level

    cases = questions()
    with running_app(data) as server:
        gradio_level(server.url, 1, 1, cases)  # warm-up
        return [gradio_level(server.url, n, 6, cases) for n in levels]


def main(
    data: Path,
    levels: tuple[int, ...] = LEVELS,
    workers: tuple[int, ...] = (1,),
    gradio: tuple[int, ...] = GRADIO_LEVELS,
    out: Path | None = None,
) -> dict[str, Any]:
    from assistant.web.accounts import UsersFile

    cases = [c["question"] for c in questions()]
    with tempfile.TemporaryDirectory(prefix="cmo-bench-api-") as tmp:
        served = Path(tmp) / "data"
        shutil.copytree(data, served)  # the app writes feedback and logs into its data dir
        users = Path(tmp) / "users.json"
        UsersFile(users).add("bench", "a-benchmark-password", None)  # at the app's own bcrypt cost
        key = UsersFile(users).issue_key("bench")
        cold = cold_start(served, users, key, cases[0], {})
        runs = [api_levels(served, users, key, cases, levels, n) for n in workers]
        gradio_rows = gradio_levels(served, gradio) if gradio else []
    at_16 = next((row for row in runs[0]["levels"] if row["clients"] == 16), None)
    return write_result(
        "api_load",
        {
            "cold_start": cold,
            "api": runs,
            "gradio": gradio_rows,
            "target": f">= {TARGET_RPS_AT_16:g} answers/s and 0 errors at 16 clients",
            "target_met": bool(
                at_16 and at_16["errors"] == 0 and at_16["throughput_rps"] >= TARGET_RPS_AT_16
            ),
        },
        out,
    )


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="api_workers values to measure")
    parser.add_argument("--no-gradio", action="store_true", help="skip the Gradio path")
    args = parser.parse_args()
    with indexed() as data:
        result = main(data, workers=tuple(args.workers), gradio=() if args.no_gradio else GRADIO_LEVELS)
        print(json.dumps(result, indent=2))
