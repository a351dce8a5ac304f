"""The benchmark code runs end to end on a tiny corpus and writes every result, the table and the figure.

Speed is not asserted here (benchmarks report figures; they are not timed tests): this checks that `make bench`
works and that what it writes holds what the README table is built from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

EXPECTED = ("ingest", "cold_start", "ask_latency", "baseline", "concurrency", "scaling")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    corpus = root / "corpus" / "policies"
    corpus.mkdir(parents=True)
    (corpus / "parking.md").write_text(
        "# Parking\n\nThe chief medical officer parks in lot seven next to the clinic entrance. "
        "Visitors park in lot two.\n",
        encoding="utf-8",
    )
    (corpus / "leave.md").write_text(
        "# Parental Leave\n\nEmployees are eligible for parental leave after ninety days of service.\n",
        encoding="utf-8",
    )
    readme_before = (PROJECT_ROOT / "README.md").read_text("utf-8")
    out = root / "results"
    run = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--corpus", str(root / "corpus"), "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    assert (PROJECT_ROOT / "README.md").read_text("utf-8") == readme_before, (
        "a quick run leaves the README alone"
    )
    return out


def result(out: Path, name: str) -> dict:
    data = json.loads((out / f"{name}.json").read_text("utf-8"))
    assert "cores" in data["machine"], "every result names the machine it was measured on"
    return data


def test_every_benchmark_writes_its_result(quick_run: Path) -> None:
    for name in EXPECTED:
        assert (quick_run / f"{name}.json").is_file(), name


def test_cold_start_and_warm_latency_are_measured_against_their_floors(quick_run: Path) -> None:
    cold = result(quick_run, "cold_start")
    assert 0 < cold["python_s"] < cold["ask_s"]
    ask = result(quick_run, "ask_latency")
    app = ask["app"]
    assert app["query_encoder"] == "onnxruntime", "the app's configuration embeds questions without torch"
    assert ask["torch_model"]["query_encoder"] == "sentence-transformers"
    assert app["questions"] == 3
    assert app["total_p50_ms"] >= app["embed_p50_ms"] > 0
    assert app["p50_over_floor"] == pytest.approx(app["total_p50_ms"] / app["floor_p50_ms"], rel=0.05)


def test_ingest_counts_the_chunks_of_the_corpus(quick_run: Path) -> None:
    ingest = result(quick_run, "ingest")
    assert ingest["chunks"] == 2
    assert ingest["summary"].startswith("2 added")
    assert ingest["noop_reingest_s"] > 0
    assert ingest["sentence_vectors"] >= 2 and ingest["chunks_per_s_model_loaded"] > 0


def test_scaling_reports_every_size_and_mode(quick_run: Path) -> None:
    scaling = result(quick_run, "scaling")
    assert [row["chunks"] for row in scaling["sizes"]] == [200, 400]
    for row in scaling["sizes"]:
        assert set(row["latency"]) == {"dense", "bm25", "hybrid"}
        assert all(v["n"] == 3 and v["p50_ms"] > 0 for v in row["latency"].values())
        assert row["index_mb"] > 0 and row["open_rebuild_s"] >= 0 and row["saved_index_mb"] > 0
        assert 0 < row["open_saved_s"] < 60
        assert 0 < row["serve_peak_rss_mb"] < 2000 and 0 < row["build_peak_rss_mb"] < 2000


def test_concurrent_users_get_answers_without_errors(quick_run: Path) -> None:
    users = result(quick_run, "concurrency")
    assert [(level["users"], level["requests"], level["errors"]) for level in users["levels"]] == [
        (1, 1, 0),
        (2, 2, 0),
    ]
    assert users["app_peak_rss_mb"] >= users["app_rss_after_start_mb"] > 0


def test_baseline_is_scored_with_the_same_metrics(quick_run: Path) -> None:
    base = result(quick_run, "baseline")
    assert base["cases"] == 3
    ours, theirs = base["metrics"]["assistant_hybrid"], base["metrics"]["langchain_similarity_search"]
    assert set(ours) == set(theirs) and {"hit@5", "mrr", "faithfulness"} <= set(ours)
    assert set(base["retrieval_latency"]) == {"baseline", "hybrid", "floor"}


def test_table_and_figure_are_written(quick_run: Path) -> None:
    table = (quick_run / "summary.md").read_text("utf-8")
    assert table.startswith("| What | Measured | Target |")
    assert "Cold start" in table and "simultaneous users" in table and "LangChain" in table
    assert (quick_run / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
