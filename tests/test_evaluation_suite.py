"""The eval suite end to end on the real shipped index: run, reports, gate exit codes, comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.errors import ConfigError
from assistant.evaluation.suite import run_suite
from assistant.pipeline import Assistant

CASES = [
    {
        "id": "p1",
        "split": "dev",
        "category": "policies",
        "answerable": True,
        "history": [],
        "question": "How quickly must a patient safety event be reported?",
        "expected_docs": ["policies/ps-301-patient-safety-event-reporting.md"],
        "quotes": ["must report it in the electronic event reporting system within 24 hours of discovery"],
        "key_facts": ["24 hours"],
    },
    {
        "id": "f1",
        "split": "dev",
        "category": "followup",
        "answerable": True,
        "history": [
            {"role": "user", "content": "What does a hospital CMO focus on?"},
            {"role": "assistant", "content": "Quality of patient care."},
        ],
        "question": "And how is that different in an FQHC?",
        "expected_docs": ["sources/cmo-bridging-clinical-excellence-allied.md"],
        "quotes": ["A federally qualified health center CMO also focuses on patient care quality"],
        "key_facts": ["primary care|underserved"],
    },
    {
        "id": "o1",
        "split": "test",
        "category": "out_of_scope",
        "answerable": False,
        "history": [],
        "question": "What is the maximum daily dose of acetaminophen?",
        "expected_docs": [],
        "quotes": [],
        "key_facts": [],
    },
]


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    return path


def thresholds(tmp_path: Path, hit: float) -> Path:
    path = tmp_path / f"thresholds-{hit}.toml"
    path.write_text(f'[min]\n"hit@5" = {hit}\nrefusal_rate = 1.0\n[max]\nfalse_refusal_rate = 0.5\n')
    return path


@pytest.fixture()
def use_shipped_index(shipped: Assistant, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(shipped.settings.data_dir))
    monkeypatch.setenv("CMO_ASSISTANT_CORPUS_DIR", str(shipped.settings.corpus_dir))
    return shipped


@pytest.mark.slow
def test_suite_scores_each_case_and_writes_the_reports(
    shipped: Assistant, dataset: Path, tmp_path: Path
) -> None:
    run, written = run_suite(
        shipped, dataset=dataset, thresholds=thresholds(tmp_path, 0.5), out_dir=tmp_path / "run"
    )
    assert [r.case_id for r in run.results] == ["p1", "f1", "o1"]
    assert run.summary.metrics["refusal_rate"] == 1.0
    assert run.summary.metrics["faithfulness"] == 1.0  # extractive answers only quote
    assert set(run.summary.by_category) == {"policies", "followup", "out_of_scope"}
    assert set(run.ablation) == {"dense", "bm25", "hybrid"}
    assert run.gate is not None and run.gate.passed
    for name in ("report.md", "report.html", "results.jsonl", "summary.json"):
        assert (tmp_path / "run" / name).is_file(), written
    lines = (tmp_path / "run" / "results.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["case_id"] for line in lines] == ["p1", "f1", "o1"]


@pytest.mark.slow
def test_cli_gate_exit_codes_and_comparison(
    use_shipped_index: Assistant, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["eval", "--dataset", str(dataset), "--no-ablation", "--quiet"]
    assert main([*common, "--out", str(first), "--thresholds", str(thresholds(tmp_path, 0.5))]) == 0
    assert "gate passed" in capsys.readouterr().out
    code = main(
        [
            *common,
            "--out",
            str(second),
            "--thresholds",
            str(thresholds(tmp_path, 1.01)),
            "--compare",
            str(first),
        ]
    )
    assert code != 0
    assert "hit@5" in capsys.readouterr().err
    report = (second / "report.md").read_text("utf-8")
    assert "hit@5" in report and "1.010" in report  # the failed bound is shown


@pytest.mark.slow
def test_cli_rejects_an_unknown_backend_and_a_bad_compare_folder(
    use_shipped_index: Assistant, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--dataset", str(dataset), "--backend", "gpt-9", "--quiet"]) != 0
    assert "available: extractive" in capsys.readouterr().err
    assert main(["eval", "--dataset", str(dataset), "--compare", str(tmp_path / "nothing"), "--quiet"]) != 0
    assert "nothing" in capsys.readouterr().err


@pytest.fixture()
def two_datasets(tmp_path: Path) -> list[Path]:
    """CASES over two files: first.jsonl (p1 dev, o1 test) and second.jsonl (f1, in a "paraphrase" split)."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("\n".join(json.dumps(c) for c in (CASES[0], CASES[2])) + "\n", encoding="utf-8")
    second.write_text(json.dumps({**CASES[1], "split": "paraphrase"}) + "\n", encoding="utf-8")
    return [first, second]


@pytest.mark.slow
def test_several_datasets_report_per_split_and_per_dataset(
    shipped: Assistant, two_datasets: list[Path], tmp_path: Path
) -> None:
    run, _ = run_suite(
        shipped,
        dataset=two_datasets,
        thresholds=thresholds(tmp_path, 0.5),
        ablation=False,
        out_dir=tmp_path / "run",
    )
    assert [(r.case_id, r.split, r.dataset) for r in run.results] == [
        ("p1", "dev", "first"),
        ("o1", "test", "first"),
        ("f1", "paraphrase", "second"),
    ]
    s = run.summary
    assert list(s.by_split) == ["dev", "test", "paraphrase"] and list(s.by_dataset) == ["first", "second"]
    assert s.split_cases == {"dev": 1, "test": 1, "paraphrase": 1}
    assert s.by_split["test"]["refusal_rate"] == 1.0 and "hit@5" not in s.by_split["test"]
    assert s.by_dataset["second"]["hit@5"] == s.by_split["paraphrase"]["hit@5"]
    assert str(two_datasets[0]) in s.dataset and str(two_datasets[1]) in s.dataset
    for r in run.results:  # the readability metrics, per case
        if r.answered and r.answerable:
            assert {"key_fact_first", "dangling_opener_rate", "list_before_leadin_rate"} <= set(r.scores)
            assert {"off_document_rate", "documents_per_answer"} <= set(r.scores)
    data = json.loads((tmp_path / "run" / "summary.json").read_text("utf-8"))
    assert set(data["by_split"]) == {"dev", "test", "paraphrase"} and set(data["by_dataset"]) == {
        "first",
        "second",
    }
    assert "metrics" in data and "by_category" in data  # the old keys stay
    lines = [
        json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text("utf-8").splitlines()
    ]
    assert [line["dataset"] for line in lines] == ["first", "first", "second"]
    md = (tmp_path / "run" / "report.md").read_text("utf-8")
    assert "## By split" in md and "| metric | all | dev (1) | test (1) | paraphrase (1) |" in md
    assert "## By dataset" in md and "| metric | all | first (2) | second (1) |" in md


@pytest.mark.slow
def test_split_filtering_keeps_only_that_split(
    shipped: Assistant, two_datasets: list[Path], tmp_path: Path
) -> None:
    run, _ = run_suite(
        shipped,
        dataset=two_datasets,
        thresholds=thresholds(tmp_path, 0.5),
        split="paraphrase",
        ablation=False,
    )
    assert [r.case_id for r in run.results] == ["f1"]
    assert list(run.summary.by_split) == ["paraphrase"] and run.summary.settings["split"] == "paraphrase"
    with pytest.raises(
        ConfigError, match=r"no cases in the 'holdout' split; its splits are dev, test, paraphrase"
    ):
        run_suite(shipped, dataset=two_datasets, split="holdout", ablation=False)


@pytest.mark.slow
def test_an_id_repeated_across_datasets_stops_the_run(
    shipped: Assistant, two_datasets: list[Path], tmp_path: Path
) -> None:
    third = tmp_path / "third.jsonl"
    third.write_text(json.dumps(CASES[0]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'p1' is used in both .*first\.jsonl and .*third\.jsonl"):
        run_suite(shipped, dataset=[*two_datasets, third], ablation=False)


@pytest.mark.slow
def test_cli_takes_several_datasets_and_any_split_and_gates_per_split(
    use_shipped_index: Assistant,
    two_datasets: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = [
        "eval",
        "--dataset",
        str(two_datasets[0]),
        "--dataset",
        str(two_datasets[1]),
        "--no-ablation",
        "--quiet",
    ]
    limits = tmp_path / "split.toml"
    limits.write_text('[split.paraphrase.min]\n"hit@5" = 1.01\n[split.test.min]\nrefusal_rate = 1.0\n')
    assert main([*common, "--split", "test", "--out", str(tmp_path / "a"), "--thresholds", str(limits)]) == 0
    out = capsys.readouterr().out
    assert "gate passed" in out and "test" in out.splitlines()[0]  # the per-split column
    assert main([*common, "--out", str(tmp_path / "b"), "--thresholds", str(limits)]) != 0
    assert "paraphrase/hit@5" in capsys.readouterr().err
    assert main([*common, "--split", "nope", "--out", str(tmp_path / "c")]) != 0
    assert "'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_refused_answerable_case_is_scored_on_whether_its_refusal_points_to_its_document(
    shipped: Assistant, tmp_path: Path
) -> None:
    """Both questions are refused (the leave policy gives no bereavement leave); one case expects the leave policy,
    which the refusal shows as nearest, the other a document it does not show."""
    question = "how many days of bereavement leave do medical staff get?"
    cases = [
        {**CASES[0], "id": "near", "question": question, "expected_docs": [LEAVE], "quotes": ["x"]},
        {**CASES[0], "id": "elsewhere", "question": question, "quotes": ["x"]},
    ]
    run, _ = run_suite(shipped, dataset=dataset_of(tmp_path / "refused.jsonl", cases), ablation=False)
    scores = {r.case_id: r.scores for r in run.results}
    assert scores["near"]["refusal_points_to_source"] == 1.0
    assert scores["elsewhere"]["refusal_points_to_source"] == 0.0
    assert run.summary.metrics["refusal_points_to_source"] == 0.5
    answered = run_suite(shipped, dataset=dataset_of(tmp_path / "one.jsonl", [CASES[0]]), ablation=False)[0]
    assert "refusal_points_to_source" not in answered.results[0].scores  # only refusals are scored


LEAVE = "policies/ml-901-medical-staff-leave-of-absence.pdf"


def dataset_of(path: Path, cases: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_replayed_history_asks_follow_ups_after_the_assistants_own_answers(
    shipped: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    follow_up = CASES[1]
    second = {**follow_up, "id": "f2", "question": "Which of those matters most?"}
    path = tmp_path / "follow-ups.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in (follow_up, second)) + "\n", encoding="utf-8")
    asked: list[tuple[str, list[dict[str, str]]]] = []
    ask = shipped.ask

    def recording_ask(question: str, history: list[dict[str, str]] | None = None, **kwargs: object) -> object:
        asked.append((question, list(history or [])))
        return ask(question, history=history, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shipped, "ask", recording_ask)
    run, _ = run_suite(shipped, dataset=path, ablation=False, history="replayed")
    earlier = "What does a hospital CMO focus on?"
    first_answer = ask(earlier).answer
    # the earlier question is asked once, both follow-ups then come after the assistant's answer to it (the
    # suite's untimed warm-up asks the first case as written, before the run)
    assert [q for q, _ in asked].count(earlier) == 1
    for case in ("And how is that different in an FQHC?", "Which of those matters most?"):
        history = [h for q, h in asked if q == case][-1]
        assert history == [
            {"role": "user", "content": earlier},
            {"role": "assistant", "content": first_answer},
        ]
        assert "Quality of patient care." not in json.dumps(history)  # the case file's written turn
    assert run.summary.settings["history"] == "replayed"
    with pytest.raises(ConfigError, match="written, replayed"):
        run_suite(shipped, dataset=path, ablation=False, history="invented")
