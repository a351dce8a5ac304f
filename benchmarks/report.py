"""Turn the benchmark results into a Markdown table (also written into the README) and one figure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from _common import ROOT, machine

README = ROOT / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def _row(what: str, measured: str, target: str = "") -> str:
    return f"| {what} | {measured} | {target} |"


def table(results: dict[str, Any]) -> str:
    """The headline figures, each next to its target where the project has one."""
    rows = ["| What | Measured | Target |", "|---|---|---|"]
    cold = results.get("cold_start")
    if cold:
        rows.append(
            _row(
                "Cold start: `cmo-assistant ask` process start to answer",
                f"{cold['ask_s']:.2f} s, {cold['ask_cpu_s']:.2f} s of CPU (with the torch model: "
                f"{cold['ask_with_torch_model_s']:.2f} s; "
                f"bare interpreter {cold['python_s']:.2f} s)",
                "<= 1.5 s",
            )
        )
    ask = results.get("ask_latency")
    if ask:
        app = ask["app"]
        rows.append(
            _row(
                f"Warm ask, {app['questions']} questions (p50 / p95)",
                f"{app['total_p50_ms']:.1f} / {app['total_p95_ms']:.1f} ms = embed {app['embed_p50_ms']:.1f} + "
                f"retrieve {app['retrieve_p50_ms']:.1f} + compose {app['compose_p50_ms']:.1f} ms (p50s)",
            )
        )
        rows.append(
            _row(
                "Warm ask p50 / bare onnxruntime question embedding p50 (same run)",
                f"{app['p50_over_floor']:.2f}x ({app['floor_p50_ms']:.1f} ms, {app['floor_threads']}; "
                f"with the torch model: {ask['torch_model']['p50_over_floor']:.2f}x its own "
                f"{ask['torch_model']['floor_p50_ms']:.1f} ms)",
                "<= 1.5x",
            )
        )
    ingest = results.get("ingest")
    if ingest:
        rows.append(
            _row(
                "Full ingest of the shipped corpus",
                f"{ingest['chunks']} chunks in {ingest['full_ingest_s']:.1f} s = {ingest['chunks_per_s']:.1f} "
                "chunks/s from the CLI (start-up, model load and ONNX export included); the ingest work alone "
                f"{ingest['rebuild_model_loaded_s']:.1f} s = {ingest['chunks_per_s_model_loaded']:.1f} chunks/s "
                f"({ingest['chunks']} passage + {ingest['sentence_vectors']} sentence vectors)",
            )
        )
        rows.append(
            _row(
                "No-op re-ingest",
                f"{ingest['noop_reingest_s']:.2f} s (CLI start-up alone {ingest['startup_s']:.2f} s)",
                "< 1 s beyond start-up",
            )
        )
    scaling = results.get("scaling")
    if scaling:
        for row in scaling["sizes"]:
            lat = row["latency"]
            rows.append(
                _row(
                    f"Retrieval at {row['chunks']:,} chunks, p50 dense / BM25 / hybrid",
                    f"{lat['dense']['p50_ms']:.1f} / {lat['bm25']['p50_ms']:.1f} / {lat['hybrid']['p50_ms']:.1f} "
                    f"ms; index {row['index_mb']:.0f} MB built in {row['chroma_build_s']:.0f} s; opening it: "
                    f"{row['open_saved_s']:.2f} s from the saved corpus index ({row['saved_index_mb']:.0f} MB), "
                    f"{row['open_rebuild_s']:.1f} s rebuilding it from Chroma; peak RSS serving "
                    f"{row['serve_peak_rss_mb']:.0f} MB, "
                    f"building {row['build_peak_rss_mb']:.0f} MB",
                    "hybrid <= 100 ms, opening <= 3 s at 100k" if row["chunks"] >= 100_000 else "",
                )
            )
    users = results.get("concurrency")
    if users:
        for level in users["levels"]:
            rows.append(
                _row(
                    f"{level['users']} simultaneous user{'s' if level['users'] > 1 else ''} through the app's API",
                    f"{level['requests']} requests, {level['errors']} errors, {level['throughput_rps']:.1f} req/s, "
                    f"p50 {level['p50_ms']:.0f} ms, p95 {level['p95_ms']:.0f} ms",
                    "0 errors at 16" if level["users"] == 16 else "",
                )
            )
        rows.append(
            _row(
                "Peak RSS of the app serving the shipped corpus",
                f"{users['app_peak_rss_mb']:.0f} MB (after start-up {users['app_rss_after_start_mb']:.0f} MB)",
                "<= 1.5 GB",
            )
        )
    base = results.get("baseline")
    if base:
        ours, theirs = base["metrics"]["assistant_hybrid"], base["metrics"]["langchain_similarity_search"]
        lat = base["retrieval_latency"]
        rows.append(
            _row(
                "Plain LangChain `Chroma.similarity_search` (k=5) vs the assistant's retrieval",
                f"hit@5 {_share(theirs['hit@5'])} vs {_share(ours['hit@5'])}; MRR {_share(theirs['mrr'])} vs "
                f"{_share(ours['mrr'])}; key facts {_share(theirs['key_fact_coverage'])} vs "
                f"{_share(ours['key_fact_coverage'])}; false refusals {_share(theirs['false_refusal_rate'])} vs "
                f"{_share(ours['false_refusal_rate'])}; p50 "
                f"{lat['baseline']['p50_ms']:.1f} vs {lat['hybrid']['p50_ms']:.1f} ms",
            )
        )
    return "\n".join(rows)


def _share(value: float | None) -> str:
    """A metric to three decimals; "n/a" where no case applied (a quick run's few questions all refused)."""
    return "n/a" if value is None else f"{value:.3f}"


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    scaling = results.get("scaling")
    if scaling:
        sizes = [row["chunks"] for row in scaling["sizes"]]
        for mode in ("dense", "bm25", "hybrid"):
            axes[0].plot(
                sizes, [row["latency"][mode]["p50_ms"] for row in scaling["sizes"]], "o-", label=mode
            )
        axes[0].axhline(100, color="grey", linestyle="--", linewidth=1, label="hybrid target")
        axes[0].set_xscale("log")
        axes[0].set_xlabel("chunks in the index")
        axes[0].set_ylabel("retrieval p50 (ms)")
        axes[0].set_title("Scaling")
        axes[0].legend()
    users = results.get("concurrency")
    if users:
        levels = [level["users"] for level in users["levels"]]
        axes[1].plot(levels, [level["p50_ms"] for level in users["levels"]], "o-", label="p50")
        axes[1].plot(levels, [level["p95_ms"] for level in users["levels"]], "s-", label="p95")
        axes[1].set_xlabel("simultaneous users")
        axes[1].set_ylabel("latency as a user sees it (ms)")
        axes[1].set_title("Concurrent users (app API)")
        axes[1].legend()
    ask = results.get("ask_latency")
    if ask:
        labels = ["ONNX Runtime\n(the app)", "torch model"]
        stages = ("embed", "retrieve", "compose")
        bottoms = [0.0, 0.0]
        for stage in stages:
            values = [ask["app"][f"{stage}_p50_ms"], ask["torch_model"][f"{stage}_p50_ms"]]
            axes[2].bar(labels, values, bottom=bottoms, label=stage)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes[2].set_ylabel("warm ask p50 by stage (ms)")
        axes[2].set_title("Where a warm answer's time goes")
        axes[2].legend()
    fig.suptitle(f"CMO Assistant benchmarks - {machine()}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def update_readme(markdown: str, readme: Path = README) -> bool:
    """Replace the figures between the README's benchmark markers; False when the markers are missing."""
    text = readme.read_text("utf-8")
    if START not in text or END not in text:
        return False
    block = f"{START}\nMeasured on {machine()}.\n\n{markdown}\n{END}"
    readme.write_text(
        re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S), "utf-8"
    )
    return True
