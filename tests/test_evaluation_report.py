"""The evaluation report: files, summary round trip, Markdown/HTML content, comparison, escaping, charts.

Hand-made runs only: no model, no Chroma.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import AssistantError
from assistant.evaluation.report import Delta, compare, load_summary, write_run
from assistant.evaluation.results import CaseResult, EvalRun, GateResult, RunSummary

PNG = b"\x89PNG\r\n\x1a\n"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"

METRICS = {
    "hit@5": 0.9,
    "recall@5": 0.8,
    "mrr": 0.75,
    "ndcg@5": 0.78,
    "citation_precision": 0.97,
    "citation_recall": 0.7,
    "key_fact_coverage": 0.66,
    "faithfulness": 0.96,
    "refusal_rate": 0.5,
    "false_refusal_rate": 0.25,
    "latency_p50_ms": 36.7,
    "latency_p95_ms": 48.2,
}
CATEGORIES = {
    "duties": {
        "hit@5": 0.5,
        "mrr": 0.5,
        "key_fact_coverage": 0.5,
        "faithfulness": 1.0,
        "latency_p50_ms": 30.0,
    },
    "policies": {"hit@5": 1.0, "mrr": 1.0, "key_fact_coverage": 0.5, "faithfulness": 0.5},
    "out_of_scope": {"refusal_rate": 0.5, "citation_precision": 0.0},
}
ABLATION = {
    "dense": {"hit@5": 0.7, "mrr": 0.55, "latency_p50_ms": 30.0},
    "bm25": {"hit@5": 0.88, "mrr": 0.66, "latency_p50_ms": 20.0},
    "hybrid": {"hit@5": 0.9, "mrr": 0.75, "latency_p50_ms": 36.7},
}
CITATION = {"marker": 1, "doc_id": "policies/ps-301.md", "title": "Safety", "text": "Report within 24 hours."}


def case(case_id: str, category: str, **overrides: Any) -> CaseResult:
    fields: dict[str, Any] = {
        "case_id": case_id,
        "category": category,
        "split": "dev",
        "question": f"Question of {case_id}?",
        "answerable": True,
        "answered": True,
        "answer": "A CMO oversees clinical operations. [1]",
        "citations": [CITATION],
        "retrieved": ["policies/ps-301.md"],
        "scores": {"hit@5": 1.0, "key_fact_coverage": 1.0, "faithfulness": 1.0, "citation_precision": 1.0},
        "latency_ms": 30.0,
    }
    fields.update(overrides)
    return CaseResult(**fields)


RESULTS = [
    case("duties-01", "duties", question="Qu'est-ce qu'un CMO — rôle?"),
    case(
        "duties-02",
        "duties",
        answered=False,
        answer="I can't answer that from the sources.",
        citations=[],
        scores={"hit@5": 0.0, "key_fact_coverage": 0.0},
    ),
    case(
        "policies-01",
        "policies",
        split="test",
        question="How fast — rôle? <b>bold</b>",
        answer=f"Report {XSS_SCRIPT} within 24 hours {XSS_IMG} [1]",
        scores={"hit@5": 1.0, "key_fact_coverage": 0.5, "faithfulness": 0.5, "citation_precision": 0.5},
    ),
    case(
        "out-of-scope-01",
        "out_of_scope",
        answerable=False,
        answer="France won the cup. [1]",
        scores={"citation_precision": 0.0, "faithfulness": 0.0},
    ),
    case(
        "out-of-scope-02",
        "out_of_scope",
        answerable=False,
        answered=False,
        answer="Not covered.",
        citations=[],
        scores={},
    ),
]
PASSING = GateResult([("hit@5", "min", 0.8, 0.9, True), ("false_refusal_rate", "max", 0.3, 0.25, True)])
FAILING = GateResult([("hit@5", "min", 0.8, 0.9, True), ("false_refusal_rate", "max", 0.1, 0.25, False)])


def make_run(
    metrics: dict[str, float] | None = None,
    gate: GateResult | None = PASSING,
    ablation: dict[str, dict[str, float]] | None = None,
    name: str = "hybrid",
) -> EvalRun:
    summary = RunSummary(
        name=name,
        backend="extractive",
        dataset="evals/golden.jsonl",
        cases=len(RESULTS),
        created="2025-01-02T03:04:05+00:00",
        metrics=dict(METRICS if metrics is None else metrics),
        by_category=CATEGORIES,
        settings={"top_k": 5, "fusion": "weighted", "support_threshold": 0.86, "data": Path("data")},
    )
    return EvalRun(summary, RESULTS, ABLATION if ablation is None else ablation, gate)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_run(make_run(), tmp_path_factory.mktemp("run") / "nested" / "out")


def read(written: dict[str, Path], name: str) -> str:
    return written[name].read_text("utf-8")


# --- files and summary.json ------------------------------------------------------------------------------


def test_every_file_is_written(written: dict[str, Path]) -> None:
    assert set(written) == {
        "summary.json",
        "results.jsonl",
        "report.md",
        "report.html",
        "metrics.png",
        "categories.png",
        "ablation.png",
    }
    for name, path in written.items():
        assert path.name == name
        assert path.is_file() and path.stat().st_size > 0
    folder = written["summary.json"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(written)  # no temp files left behind


def test_summary_json_round_trips(written: dict[str, Path]) -> None:
    run = make_run()
    data = json.loads(read(written, "summary.json"))
    fields = {f.name for f in dataclasses.fields(RunSummary)}
    restored = RunSummary(**{k: v for k, v in data.items() if k in fields})
    assert restored == dataclasses.replace(run.summary, settings={**run.summary.settings, "data": "data"})
    assert data["ablation"] == ABLATION
    assert data["gate"] == {
        "passed": True,
        "checks": [
            {"metric": "hit@5", "kind": "min", "bound": 0.8, "actual": 0.9, "passed": True},
            {"metric": "false_refusal_rate", "kind": "max", "bound": 0.3, "actual": 0.25, "passed": True},
        ],
        "failures": [],
    }
    assert "comparison" not in data


def test_results_jsonl_has_one_line_per_case(written: dict[str, Path]) -> None:
    text = read(written, "results.jsonl")
    lines = text.splitlines()
    assert len(lines) == len(RESULTS)
    assert [json.loads(line) for line in lines] == [r.to_dict() for r in RESULTS]
    assert "rôle" in text  # UTF-8, not \u escapes


def test_charts_are_png_files(written: dict[str, Path]) -> None:
    for name in ("metrics.png", "categories.png", "ablation.png"):
        assert written[name].read_bytes().startswith(PNG), name


CURVE = [
    {
        "threshold": t,
        "false_refusal_rate": t / 4,
        "refusal_rate": t,
        "precision": 0.8 + t / 5,
        "recall": 1 - t / 4,
    }
    for t in (0.1, 0.5, 0.9)
]
ANSWERABILITY = {
    "threshold": 0.5,
    "features": ["best", "coverage"],
    "split": "dev",
    "datasets": ["golden.jsonl"],
    "cases": 40,
    "answerable": 30,
    "must_refuse": 10,
    "operating_point": CURVE[1],
    "curve": CURVE,
}


def test_the_refusal_decision_is_shown_with_its_curve_and_threshold(tmp_path: Path) -> None:
    run = dataclasses.replace(make_run(), answerability=ANSWERABILITY)
    written = write_run(run, tmp_path)
    assert written["answerability.png"].read_bytes().startswith(PNG)
    md = written["report.md"].read_text("utf-8")
    section = md[md.index("## The refusal decision") :]
    assert "**Threshold:** 0.5" in section
    assert "**Dev false refusals at the threshold:** 0.125" in section
    assert "![Answer or refuse](answerability.png)" in section
    html = written["report.html"].read_text("utf-8")
    assert "The refusal decision" in html and "data:image/png;base64," in html


def test_no_refusal_section_for_a_backend_without_the_model(written: dict[str, Path]) -> None:
    assert "The refusal decision" not in read(written, "report.md")
    assert "answerability.png" not in written


def test_no_ablation_chart_without_ablation_and_a_stale_one_is_removed(tmp_path: Path) -> None:
    first = write_run(make_run(), tmp_path)
    assert first["ablation.png"].exists()
    second = write_run(make_run(ablation={}), tmp_path)
    assert "ablation.png" not in second
    assert not (tmp_path / "ablation.png").exists()
    md = second["report.md"].read_text("utf-8")
    assert "## Ablation" not in md


def test_non_finite_metrics_are_written_as_null(tmp_path: Path) -> None:
    written = write_run(make_run(metrics={**METRICS, "mrr": float("nan")}, ablation={}), tmp_path)
    assert json.loads(written["summary.json"].read_text("utf-8"))["metrics"]["mrr"] is None


def test_an_interrupted_write_leaves_the_previous_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(make_run(name="first"), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        if str(dst).endswith("report.html"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_run(make_run(name="second"), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no temp file left
    assert (tmp_path / "report.html").read_bytes() == before["report.html"]
    assert (tmp_path / "summary.json").read_bytes() == before["summary.json"]  # still the complete first run


# --- report.md -------------------------------------------------------------------------------------------


def test_report_md_has_the_run_metrics_categories_and_ablation(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    assert md.startswith("# CMO Assistant evaluation: hybrid")
    for fact in (
        "extractive",
        "evals/golden.jsonl",
        "2025-01-02T03:04:05+00:00",
        "5 (3 answerable, 2 must refuse)",
    ):
        assert fact in md
    for metric in METRICS:
        assert f"| `{metric}` |" in md, metric
    assert "share of answerable cases that were refused (lower is better)" in md
    assert "1 if any of the top 5 passages holds an expected quote" in md
    for category in CATEGORIES:
        assert f"| {category} |" in md, category
    ablation = md.split("## Ablation")[1]
    for config in ABLATION:
        assert f"| {config} |" in ablation, config
    assert "![Overall quality metrics](metrics.png)" in md


def test_category_table_leaves_inapplicable_metrics_blank(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    section = md.split("## By category")[1].split("## ")[0]
    header = next(line for line in section.splitlines() if line.startswith("| category"))
    row = next(line for line in section.splitlines() if line.startswith("| out_of_scope"))
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    cells = {k.strip(): v.strip() for k, v in cells.items()}
    assert cells["hit@5"] == ""
    assert cells["refusal_rate"] == "0.500"
    assert cells["cases"] == "2"


def test_a_passing_gate_shows_as_passed(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    assert "Gate: PASSED" in md
    assert "FAIL" not in md


def test_a_failing_gate_shows_as_failed(tmp_path: Path) -> None:
    written = write_run(make_run(gate=FAILING), tmp_path)
    md = written["report.md"].read_text("utf-8")
    assert "Gate: FAILED (1 of 2 thresholds not met)" in md
    gate = md.split("## Gate")[1].split("## ")[0]
    assert "false_refusal_rate = 0.250 (above the maximum 0.100)" in gate
    failed = next(line for line in gate.splitlines() if "false_refusal_rate" in line and line.startswith("|"))
    assert "FAIL" in failed and "≤ 0.100" in failed
    passed = next(line for line in gate.splitlines() if "hit@5" in line and line.startswith("|"))
    assert "pass" in passed and "FAIL" not in passed
    assert "FAILED" in written["report.html"].read_text("utf-8")
    data = json.loads(written["summary.json"].read_text("utf-8"))
    assert data["gate"]["passed"] is False
    assert data["gate"]["failures"] == ["false_refusal_rate = 0.250 (above the maximum 0.100)"]


def test_without_a_gate_the_report_says_so(tmp_path: Path) -> None:
    written = write_run(make_run(gate=None), tmp_path)
    assert "Gate: not checked" in written["report.md"].read_text("utf-8")
    assert json.loads(written["summary.json"].read_text("utf-8"))["gate"] is None


def test_cases_to_look_at_lists_only_failing_cases(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    section = md.split("## Cases to look at")[1].split("## ")[0]
    assert "3 of 5 cases" in section
    assert "**duties-02** (duties, dev): answerable but refused" in section
    assert "**out-of-scope-01** (out_of_scope, dev): must refuse but answered" in section
    assert "key facts 0.50; faithfulness 0.50; citation precision 0.50" in section
    assert "Question of duties-02?" in section
    assert "I can't answer that from the sources." in section
    assert "duties-01" not in section
    assert "out-of-scope-02" not in section


def test_a_long_answer_is_cut_to_200_characters(tmp_path: Path) -> None:
    long = case("long-01", "duties", answer="word " * 100, scores={"faithfulness": 0.0})
    run = dataclasses.replace(make_run(ablation={}), results=[long])
    md = write_run(run, tmp_path)["report.md"].read_text("utf-8")
    answer = next(line for line in md.splitlines() if line.startswith("  - Answer: "))
    assert answer.endswith("…")
    assert len(answer.removeprefix("  - Answer: ").removesuffix("…")) <= 200


# --- report.html -----------------------------------------------------------------------------------------


def test_html_escapes_everything_from_cases_and_answers(written: dict[str, Path]) -> None:
    page = read(written, "report.html")
    assert XSS_SCRIPT not in page
    assert XSS_IMG not in page
    assert "<script" not in page.lower()
    assert "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "How fast — rôle? &lt;b&gt;bold&lt;/b&gt;" in page


def test_markdown_neutralises_html_too(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    assert XSS_SCRIPT not in md
    assert XSS_IMG not in md


def test_html_is_standalone(written: dict[str, Path]) -> None:
    page = read(written, "report.html")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("src='data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page
    assert "Content-Security-Policy" in page
    for metric in METRICS:
        assert f"<code>{metric}</code>" in page
    for config in ABLATION:
        assert f"<td>{config}</td>" in page


# --- load_summary ----------------------------------------------------------------------------------------


def test_load_summary_reads_a_written_run(written: dict[str, Path]) -> None:
    folder = written["summary.json"].parent
    assert load_summary(folder)["metrics"] == METRICS
    assert load_summary(folder / "summary.json")["name"] == "hybrid"


def test_load_summary_of_an_empty_folder_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cmo-assistant eval --out") as error:
        load_summary(tmp_path)
    assert str(tmp_path) in str(error.value)
    assert isinstance(error.value, AssistantError)  # the CLI prints it as one line, no traceback


@pytest.mark.parametrize("content", ['{"name": "x"}', "[1, 2]", "not json"])
def test_load_summary_rejects_a_file_that_is_not_a_summary(tmp_path: Path, content: str) -> None:
    (tmp_path / "summary.json").write_text(content, "utf-8")
    with pytest.raises(ValueError, match="cmo-assistant eval --out") as error:
        load_summary(tmp_path)
    assert str(tmp_path / "summary.json") in str(error.value)


# --- compare ---------------------------------------------------------------------------------------------


def deltas(before: dict[str, float], after: dict[str, float], tolerance: float = 0.01) -> dict[str, Delta]:
    current = make_run(metrics=after).summary
    return {d.metric: d for d in compare(current, {"metrics": before}, tolerance)}


def test_a_quality_drop_beyond_tolerance_is_a_regression() -> None:
    d = deltas({"hit@5": 0.90}, {"hit@5": 0.85})["hit@5"]
    assert d.regressed and not d.improved
    assert d.previous == 0.90 and d.current == 0.85
    assert d.change == pytest.approx(-0.05)


@pytest.mark.parametrize("after", [0.895, 0.89, 0.90, 0.95])
def test_a_small_drop_or_an_improvement_is_not_a_regression(after: float) -> None:
    assert not deltas({"hit@5": 0.90}, {"hit@5": after})["hit@5"].regressed


def test_an_improvement_beyond_tolerance_is_marked_improved() -> None:
    assert deltas({"mrr": 0.60}, {"mrr": 0.70})["mrr"].improved


def test_the_tolerance_is_configurable() -> None:
    assert not deltas({"mrr": 0.60}, {"mrr": 0.56}, tolerance=0.05)["mrr"].regressed
    assert deltas({"mrr": 0.60}, {"mrr": 0.56}, tolerance=0.0)["mrr"].regressed


def test_lower_is_better_metrics_regress_when_they_rise() -> None:
    d = deltas({"false_refusal_rate": 0.05}, {"false_refusal_rate": 0.10})
    assert d["false_refusal_rate"].regressed
    d = deltas({"false_refusal_rate": 0.10}, {"false_refusal_rate": 0.05})
    assert not d["false_refusal_rate"].regressed and d["false_refusal_rate"].improved


@pytest.mark.parametrize(("after", "regressed"), [(45.0, False), (47.9, False), (48.5, True), (20.0, False)])
def test_latency_regresses_only_beyond_20_percent(after: float, regressed: bool) -> None:
    assert (
        deltas({"latency_p50_ms": 40.0}, {"latency_p50_ms": after})["latency_p50_ms"].regressed is regressed
    )


def test_metrics_missing_on_one_side_are_listed_and_not_flagged() -> None:
    d = deltas({"hit@5": 0.9, "old_metric": 0.5}, {"hit@5": 0.9, "new_metric": 0.1})
    assert d["old_metric"] == Delta("old_metric", 0.5, None, None, regressed=False)
    assert d["new_metric"] == Delta("new_metric", None, 0.1, None, regressed=False)


def test_compare_lists_metrics_in_display_order() -> None:
    current = make_run().summary
    names = [d.metric for d in compare(current, {"metrics": {"zeta": 1.0, **METRICS}})]
    assert names == [*METRICS, "zeta"]


def test_compare_rejects_a_negative_tolerance_and_a_summary_without_metrics() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        compare(make_run().summary, {"metrics": {}}, tolerance=-0.1)
    with pytest.raises(ValueError, match="metrics"):
        compare(make_run().summary, {"name": "x"})


def test_report_md_shows_the_delta_table_with_regressions_marked(tmp_path: Path) -> None:
    previous = write_run(make_run(name="before", ablation={}), tmp_path / "before")["summary.json"].parent
    worse = {**METRICS, "hit@5": 0.80, "mrr": 0.76, "false_refusal_rate": 0.40, "latency_p50_ms": 38.0}
    written = write_run(make_run(metrics=worse, ablation={}), tmp_path / "after", previous)
    md = written["report.md"].read_text("utf-8")
    section = md.split("## Compared with the previous run")[1].split("## ")[0]
    rows = {line.split("|")[1].strip(" *`"): line for line in section.splitlines() if line.startswith("| ")}
    assert "▼ REGRESSION" in rows["hit@5"] and "0.900" in rows["hit@5"] and "-0.100" in rows["hit@5"]
    assert "▼ REGRESSION" in rows["false_refusal_rate"]
    assert "REGRESSION" not in rows["mrr"]
    assert "REGRESSION" not in rows["latency_p50_ms"]  # +3.5% is timing noise
    assert "▼ 2 regressions since the previous run: hit@5, false_refusal_rate." in md
    page = written["report.html"].read_text("utf-8")
    assert "▼ REGRESSION" in page and "class='flag'" in page
    comparison = json.loads(written["summary.json"].read_text("utf-8"))["comparison"]
    assert comparison["regressions"] == ["hit@5", "false_refusal_rate"]
    assert comparison["previous"]["name"] == "before"
    assert len(comparison["deltas"]) == len(METRICS)


def test_write_run_with_a_bad_previous_folder_raises_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "missing"))):
        write_run(make_run(), tmp_path / "out", tmp_path / "missing")
    assert not (tmp_path / "out").exists()


def test_the_comparison_says_when_the_runs_were_set_up_differently(tmp_path: Path) -> None:
    previous = write_run(make_run(ablation={}), tmp_path / "before")["summary.json"].parent
    run = make_run(ablation={})
    changed = dataclasses.replace(run.summary, settings={**run.summary.settings, "top_k": 8})
    written = write_run(dataclasses.replace(run, summary=changed), tmp_path / "after", previous)
    md = written["report.md"].read_text("utf-8")
    assert "The runs were set up differently" in md and "top_k: 5 → 8" in md
    comparison = json.loads(written["summary.json"].read_text("utf-8"))["comparison"]
    assert comparison["differences"] == ["top_k: 5 → 8"]
    same = write_run(make_run(ablation={}), tmp_path / "same", previous)["report.md"].read_text("utf-8")
    assert "set up differently" not in same


# --- per split and per dataset ---------------------------------------------------------------------------

SPLITS = {
    "dev": {"hit@5": 0.95, "key_fact_first": 0.6, "dangling_opener_rate": 0.0, "latency_p50_ms": 30.0},
    "test": {"hit@5": 0.85, "key_fact_first": 0.5, "dangling_opener_rate": 0.1},
    "paraphrase": {"hit@5": 0.4, "refusal_rate": 1.0},
}
DATASETS = {"golden": {"hit@5": 0.9}, "users": {"hit@5": 0.8}, "paraphrase": {"hit@5": 0.4}}


def split_run(gate: GateResult | None = PASSING) -> EvalRun:
    run = make_run(ablation={}, gate=gate)
    summary = dataclasses.replace(
        run.summary,
        metrics={**METRICS, "key_fact_first": 0.55, "dangling_opener_rate": 0.05},
        by_split=SPLITS,
        by_dataset=DATASETS,
        split_cases={"dev": 2, "test": 2, "paraphrase": 1},
        dataset_cases={"golden": 2, "users": 2, "paraphrase": 1},
    )
    results = [dataclasses.replace(r, dataset="golden") for r in RESULTS]
    return dataclasses.replace(run, summary=summary, results=results)


def md_table(md: str, section: str) -> dict[str, dict[str, str]]:
    """A section's table as row name -> column -> cell."""
    lines = [
        line for line in md.split(f"## {section}")[1].split("\n## ")[0].splitlines() if line.startswith("|")
    ]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return {
        cells[0].strip(" `*"): dict(zip(header, (c.strip() for c in cells), strict=True))
        for cells in (line.strip("|").split("|") for line in lines[2:])
    }


def test_the_report_has_a_table_per_split_with_metrics_as_rows(tmp_path: Path) -> None:
    written = write_run(split_run(), tmp_path)
    md = written["report.md"].read_text("utf-8")
    table = md_table(md, "By split")
    assert list(table["hit@5"]) == ["metric", "all", "dev (2)", "test (2)", "paraphrase (1)"]
    assert table["hit@5"]["all"] == "0.900" and table["hit@5"]["paraphrase (1)"] == "0.400"
    assert table["key_fact_first"]["dev (2)"] == "0.600" and table["key_fact_first"]["paraphrase (1)"] == ""
    assert table["latency_p50_ms"]["dev (2)"] == "30.0"
    assert md_table(md, "By dataset")["hit@5"] == {
        "metric": "`hit@5`",
        "all": "0.900",
        "golden (2)": "0.900",
        "users (2)": "0.800",
        "paraphrase (1)": "0.400",
    }
    assert "- **Splits:** dev 2, test 2, paraphrase 1" in md
    assert "**duties-02** (duties, dev, golden): answerable but refused" in md  # the case's dataset
    page = written["report.html"].read_text("utf-8")
    assert "<h2>By split</h2>" in page and "<th class='num'>paraphrase (1)</th>" in page
    assert "<h2>By dataset</h2>" in page
    data = json.loads(written["summary.json"].read_text("utf-8"))
    assert data["by_split"] == SPLITS and data["by_dataset"] == DATASETS
    assert data["split_cases"] == {"dev": 2, "test": 2, "paraphrase": 1}
    assert data["metrics"]["key_fact_first"] == 0.55  # new metrics sit beside the old ones


def test_a_run_without_splits_has_no_split_table(written: dict[str, Path]) -> None:
    md = read(written, "report.md")
    assert "## By split" not in md and "## By dataset" not in md


def test_the_readability_metrics_are_defined_and_lower_rates_are_better(tmp_path: Path) -> None:
    md = write_run(split_run(), tmp_path)["report.md"].read_text("utf-8")
    overall = md_table(md, "Overall metrics")
    assert "first sentence" in overall["key_fact_first"]["definition"]
    assert "(lower is better)" in overall["dangling_opener_rate"]["definition"]
    assert "(lower is better)" not in overall["key_fact_first"]["definition"]
    d = deltas({"dangling_opener_rate": 0.05}, {"dangling_opener_rate": 0.10})["dangling_opener_rate"]
    assert d.regressed


def test_per_split_gate_checks_show_their_split(tmp_path: Path) -> None:
    gate = GateResult([("hit@5", "min", 0.8, 0.9, True), ("paraphrase/hit@5", "min", 0.5, 0.4, False)])
    md = write_run(split_run(gate=gate), tmp_path)["report.md"].read_text("utf-8")
    assert "paraphrase/hit@5 = 0.400 (below the minimum 0.500)" in md
    assert "FAIL" in md_table(md, "Gate")["paraphrase/hit@5"]["result"]


def test_compare_works_against_an_old_run_folder(tmp_path: Path) -> None:
    """A folder written before splits and readability metrics existed: only the old keys."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(
        json.dumps(
            {
                "name": "hybrid",
                "backend": "extractive",
                "dataset": "evals/golden.jsonl",
                "cases": 102,
                "created": "2025-01-01T00:00:00+00:00",
                "metrics": METRICS,
                "by_category": CATEGORIES,
                "settings": {"top_k": 5, "fusion": "weighted", "support_threshold": 0.86, "data": "data"},
                "ablation": ABLATION,
                "gate": {"passed": True, "checks": [], "failures": []},
            }
        ),
        "utf-8",
    )
    written = write_run(split_run(), tmp_path / "new", old)
    comparison = json.loads(written["summary.json"].read_text("utf-8"))["comparison"]
    rows = {d["metric"]: d for d in comparison["deltas"]}
    assert rows["key_fact_first"]["previous"] is None and not rows["key_fact_first"]["regressed"]
    assert rows["hit@5"]["change"] == 0.0
    assert comparison["regressions"] == []
    section = written["report.md"].read_text("utf-8").split("## Compared with the previous run")[1]
    assert "new in this run" in section
