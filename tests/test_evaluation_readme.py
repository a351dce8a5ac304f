"""The README's eval table: rendered from a run's summary, written between its markers by `eval --readme`, the
text around it kept; a README without the markers, or a partial run, is refused with a sentence saying why.

Hand-made summaries only: no model, no Chroma.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_runner import run

from assistant.errors import ConfigError
from assistant.evaluation import suite
from assistant.evaluation.readme import END, START, readme_block, readme_table, update_readme
from assistant.evaluation.results import EvalRun, GateResult, RunSummary

DEV = {
    "hit@5": 0.75625,
    "mrr": 0.6012,
    "false_refusal_rate": 0.098,
    "refusal_rate": 0.8234,
    "key_fact_coverage": 0.644,
    "key_fact_first": 0.446,
    "dangling_opener_rate": 0.006,
    "list_before_leadin_rate": 0.0,
    "documents_per_answer": 2.0833,
    "citation_precision": 1.0,
    "faithfulness": 0.9991,
    "latency_p50_ms": 12.0,
}
#: the paraphrase split has no must-refuse case: no refusal rate
PARAPHRASE = {k: v / 2 for k, v in DEV.items() if k != "refusal_rate"}
SUMMARY = RunSummary(
    name="hybrid",
    backend="extractive",
    dataset="golden.jsonl, users.jsonl, paraphrase.jsonl",
    cases=550,
    created="2025-03-04T10:11:12+00:00",
    metrics=DEV,
    by_category={},
    by_split={"dev": DEV, "test": {**DEV, "hit@5": 0.77}, "paraphrase": PARAPHRASE},
    split_cases={"dev": 226, "test": 222, "paraphrase": 102},
)
README = f"""# Project

Intro text with a table of its own:

| a | b |
| --- | --- |
| 1 | 2 |

{START}
| metric | dev (1) |
| --- | --- |
| hit@5 | 0.100 |
{END}

Text after the table, kept as written.
"""


def rows(markdown: str) -> dict[str, list[str]]:
    """Row label -> cells of a Markdown table (the header row under "metric")."""
    table: dict[str, list[str]] = {}
    for line in markdown.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            label, *cells = (c.strip() for c in line.strip().strip("|").split("|"))
            table[label] = cells
    return table


def test_the_table_has_a_row_per_metric_and_a_column_per_split_with_its_cases() -> None:
    table = rows(readme_table(SUMMARY))
    assert table["metric"] == ["dev (226)", "**test (222)**", "**paraphrase (102)**"]
    assert table["hit@5"] == ["0.756", "0.770", "0.378"]
    assert table["false-refusal rate (answerable refused)"][0] == "0.098"
    assert table["refusal rate (must-refuse refused)"] == ["0.823", "0.823", "-"]  # no case: a dash, not 0
    assert table["key fact in the first sentence"][0] == "0.446"
    assert table["documents per answer"] == ["2.08", "2.08", "1.04"]
    assert table["citation precision / faithfulness"][0] == "1.000 / 0.999"
    assert "latency_p50_ms" not in table  # timings belong to the Speed table


def test_each_figure_shows_its_interval_when_the_run_has_one() -> None:
    with_ranges = RunSummary(
        **{
            **SUMMARY.to_dict(),
            "split_intervals": {
                "test": {"false_refusal_rate": [0.061, 0.142], "citation_precision": [1.0, 1.0]}
            },
        }
    )
    table = rows(readme_table(with_ranges))
    assert table["false-refusal rate (answerable refused)"] == ["0.098", "0.098 (0.06–0.14)", "0.049"]
    assert table["citation precision / faithfulness"][1] == "1.000 / 0.999"  # a single value: no range
    assert "In brackets" in readme_block(with_ranges) and "In brackets" not in readme_block(SUMMARY)


def test_the_readme_table_is_replaced_and_the_text_around_it_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README, "utf-8")
    update_readme(SUMMARY, readme)
    text = readme.read_text("utf-8")
    before, rest = text.split(START)
    inside, after = rest.split(END)
    assert before == README.split(START)[0] and after == README.split(END)[1]
    assert "| hit@5 | 0.756 | 0.770 | 0.378 |" in inside and "0.100" not in inside
    assert "on 2025-03-04: 550 cases" in inside
    update_readme(SUMMARY, readme)
    assert readme.read_text("utf-8") == text  # a second run with the same figures changes nothing


@pytest.mark.parametrize(
    "content",
    [
        "# Project\n\nNo table here.\n",
        f"# Project\n\n{START}\nonly the start\n",
        f"# Project\n\n{END}\n{START}\n",
        f"{START}\n{END}\n{START}\n{END}\n",
    ],
    ids=["no markers", "no end", "reversed", "twice"],
)
def test_a_readme_without_one_pair_of_markers_is_refused_unchanged(tmp_path: Path, content: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(content, "utf-8")
    with pytest.raises(ConfigError, match="<!-- eval:start --> and <!-- eval:end --> once each"):
        update_readme(SUMMARY, readme)
    assert readme.read_text("utf-8") == content


def test_a_missing_readme_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Cannot read .*README\.md to write the eval table"):
        update_readme(SUMMARY, tmp_path / "README.md")


@pytest.fixture()
def fake_suite(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`cmo-assistant eval` with the suite replaced by one returning SUMMARY; records how it was called."""
    calls: list[dict[str, Any]] = []

    def run_suite(assistant: object, **options: Any) -> tuple[EvalRun, dict[str, Path]]:
        calls.append(options)
        return EvalRun(summary=SUMMARY, results=[], gate=GateResult(checks=[])), {}

    monkeypatch.setattr(suite, "run_suite", run_suite)
    monkeypatch.setattr("assistant.cli._assistant", lambda settings: None)
    return calls


def test_eval_with_readme_writes_the_table(
    fake_suite: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README, "utf-8")
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), "eval", "--readme", str(readme))
    assert code == 0, err
    assert f"eval table: {readme}" in out
    assert "| hit@5 | 0.756 | 0.770 | 0.378 |" in readme.read_text("utf-8")


def test_eval_without_readme_leaves_it_alone(
    fake_suite: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(README, "utf-8")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "data"), "eval", "--quiet", "--out", "runs/ci")
    assert code == 0, err
    assert (tmp_path / "README.md").read_text("utf-8") == README


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--split", "dev"], "--split dev"),
        (["--dataset", "x.jsonl"], "--dataset"),
        (["--backend", "openai"], "--backend openai"),
        (["--history", "replayed"], "--history replayed"),
    ],
)
def test_a_partial_run_refuses_to_write_the_readme_before_running(
    fake_suite: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    named: str,
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README, "utf-8")
    code, _, err = run(
        capsys, "--data-dir", str(tmp_path / "data"), "eval", "--readme", str(readme), *options
    )
    assert code == 2, err
    assert f"--readme writes the figures of the full default run into the README; {named}" in err
    assert fake_suite == [] and readme.read_text("utf-8") == README
