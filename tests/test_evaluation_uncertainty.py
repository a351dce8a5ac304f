"""How sure the eval's figures are: bootstrap intervals over cases, and paired intervals for a change between runs.

Hand-made cases only: no model, no Chroma.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.report import write_run
from assistant.evaluation.results import CaseResult, EvalRun
from assistant.evaluation.runner import aggregate, summarise
from assistant.evaluation.uncertainty import columns, intervals, paired_intervals


def answerable(n: int, refused: int, split: str = "test", prefix: str = "a") -> list[CaseResult]:
    """``n`` answerable cases, the first ``refused`` of them refused; the answered ones find the passage in
    every other case and hold half the key facts, with one cited sentence in three off the expected document."""
    out = []
    for i in range(n):
        answered = i >= refused
        scores: dict[str, float | None] = {"refused": float(not answered), "hit@5": float(i % 2 == 0)}
        scores["key_fact_coverage"] = 0.5 if answered else 0.0
        if answered:
            scores.update({"off_document_rate": 1 / 3, "cited_sentences": 3.0})
        out.append(
            CaseResult(f"{prefix}{i}", "policies", split, f"q{i}", True, answered, "a", [], [], scores, 10.0)
        )
    return out


def must_refuse(n: int, answered: int, split: str = "test") -> list[CaseResult]:
    return [
        CaseResult(f"r{i}", "must_refuse", split, f"r{i}", False, i < answered, "", [], [], {}, 10.0)
        for i in range(n)
    ]


def test_each_figure_is_the_weighted_share_of_its_cases_as_the_summary_reports_it() -> None:
    """The bootstrap resamples the same figure the report shows: sum(value x weight) / sum(weight) per metric
    equals the aggregate, weighted metrics and refusal rates included."""
    results = answerable(40, refused=6) + must_refuse(12, answered=3)
    figures = aggregate(results)
    for name, (values, weights) in columns(results).items():
        assert float((values * weights).sum() / weights.sum()) == pytest.approx(figures[name]), name
    assert set(columns(results)) >= {"false_refusal_rate", "refusal_rate", "off_document_rate", "hit@5"}


def test_an_interval_holds_its_figure_and_narrows_with_more_cases() -> None:
    few = intervals(answerable(40, refused=6))["false_refusal_rate"]
    many = intervals(answerable(400, refused=60))["false_refusal_rate"]
    assert few.low < 0.15 < few.high
    assert many.low < 0.15 < many.high
    assert many.high - many.low < (few.high - few.low) * 0.6
    # about the binomial standard error either way: 1.96 * sqrt(0.15 * 0.85 / 400) = 0.035
    assert 0.05 < many.high - many.low < 0.09


def test_the_same_cases_give_the_same_interval_every_time() -> None:
    results = answerable(60, refused=9)
    assert intervals(results) == intervals(list(results))


def test_a_run_compared_with_itself_changed_nothing() -> None:
    results = answerable(50, refused=5) + must_refuse(10, answered=2)
    for name, interval in paired_intervals(results, results).items():
        assert (interval.low, interval.high) == (0.0, 0.0), name


def test_a_change_in_a_few_cases_is_noise_and_in_many_is_not() -> None:
    """200 answerable cases: one more answered is within the noise, twenty more is a real change."""
    before = answerable(200, refused=40)
    one = paired_intervals(answerable(200, refused=39), before)["false_refusal_rate"]
    twenty = paired_intervals(answerable(200, refused=20), before)["false_refusal_rate"]
    assert one.holds_zero
    assert not twenty.holds_zero and twenty.high < 0
    assert twenty.low < -0.1 < twenty.high


def test_only_cases_both_runs_answered_are_paired() -> None:
    before = answerable(30, refused=3)
    after = answerable(30, refused=3) + answerable(30, refused=30, prefix="new")
    assert paired_intervals(after, before)["false_refusal_rate"].high == 0.0
    assert paired_intervals(answerable(5, 1, prefix="x"), before) == {}


def run_of(results: list[CaseResult]) -> EvalRun:
    return EvalRun(summarise("hybrid", "extractive", Path("cases.jsonl"), results, {}), results)


def test_the_report_shows_each_figure_s_interval_per_split(tmp_path: Path) -> None:
    results = answerable(80, refused=8, split="dev") + answerable(60, refused=12, split="test", prefix="t")
    written = write_run(run_of(results), tmp_path / "run")
    summary = json.loads(written["summary.json"].read_text("utf-8"))
    low, high = summary["split_intervals"]["test"]["false_refusal_rate"]
    assert low < 0.2 < high
    assert set(summary["split_intervals"]) == {"dev", "test"}
    report = written["report.md"].read_text("utf-8")
    section = report.split("## How sure the figures are", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| `false_refusal_rate`"))
    assert f"{low:.3f}–{high:.3f}" in row


def test_a_comparison_judges_each_split_s_change_on_the_cases_both_runs_answered(tmp_path: Path) -> None:
    """Dev got much better, test a little: the report marks the dev change beyond the noise, not the test one."""
    dev, test = (
        answerable(200, refused=40, split="dev"),
        answerable(100, refused=10, split="test", prefix="t"),
    )
    write_run(run_of(dev + test), tmp_path / "before")
    better = answerable(200, refused=15, split="dev") + answerable(100, refused=9, split="test", prefix="t")
    written = write_run(run_of(better), tmp_path / "after", previous=tmp_path / "before")
    changes = json.loads(written["summary.json"].read_text("utf-8"))["comparison"]["split_changes"]
    dev_change, (dev_low, dev_high) = changes["dev"]["false_refusal_rate"]
    test_change, (test_low, test_high) = changes["test"]["false_refusal_rate"]
    assert dev_change == pytest.approx(-0.125) and dev_low < -0.125 < dev_high < 0
    assert test_change == pytest.approx(-0.01) and test_low < 0 <= test_high
    report = written["report.md"].read_text("utf-8")
    row = next(
        line for line in report.splitlines() if line.startswith("| `false_refusal_rate`") and "clear" in line
    )
    assert row.count("clear") == 1 and row.index("clear") < row.index("-0.010"), row


def test_a_previous_run_without_its_cases_is_compared_without_intervals(tmp_path: Path) -> None:
    results = answerable(30, refused=3)
    before = write_run(run_of(results), tmp_path / "before")
    before["results.jsonl"].unlink()
    written = write_run(run_of(list(results)), tmp_path / "after", previous=tmp_path / "before")
    comparison = json.loads(written["summary.json"].read_text("utf-8"))["comparison"]
    assert all(d["interval"] is None for d in comparison["deltas"])
    assert comparison["split_changes"] == {}
    assert "95% interval" not in written["report.md"].read_text("utf-8")
