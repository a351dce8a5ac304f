"""Each metric on small hand-made cases with known answers, including the edge cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.evaluation.dataset import load_cases
from assistant.evaluation.gate import check, load_thresholds, support_threshold
from assistant.evaluation.metrics import (
    SupportJudge,
    answer_sentences,
    citation_scores,
    key_fact_coverage,
    percentile,
    relevant,
    retrieval_scores,
)
from assistant.evaluation.results import CaseResult
from assistant.evaluation.runner import aggregate, by_category

QUOTE_A = "The CMO chairs the QI/QA Committee."
QUOTE_B = "Reappointment happens every 24 months."


def no_vectors(texts):  # a judge that must decide on verbatim containment alone
    return np.zeros((len(texts), 3), dtype=np.float32)


def test_relevance_is_quote_containment_ignoring_case_and_whitespace() -> None:
    assert relevant("Intro.  the cmo chairs the\nQI/QA committee. More.", [QUOTE_A])
    assert not relevant("The CMO chairs the Credentials Committee.", [QUOTE_A])


def test_retrieval_scores_on_a_known_ranking() -> None:
    passages = ["unrelated", f"x {QUOTE_A} y", "unrelated", f"{QUOTE_B}"]
    scores = retrieval_scores(passages, [QUOTE_A, QUOTE_B], k=3)
    assert scores["hit@3"] == 1.0
    assert scores["recall@3"] == 0.5  # QUOTE_B is at rank 4, outside k
    assert scores["mrr"] == 0.5
    assert scores["ndcg@3"] == pytest.approx((1 / math.log2(3)) / 1.0)


def test_retrieval_scores_with_empty_retrieval_are_zero() -> None:
    assert retrieval_scores([], [QUOTE_A], k=5) == {"hit@5": 0.0, "recall@5": 0.0, "mrr": 0.0, "ndcg@5": 0.0}


def test_perfect_ranking_scores_one() -> None:
    scores = retrieval_scores([QUOTE_A, QUOTE_B], [QUOTE_A, QUOTE_B], k=5)
    assert scores == {"hit@5": 1.0, "recall@5": 1.0, "mrr": 1.0, "ndcg@5": pytest.approx(1.0)}


def test_key_fact_coverage_with_alternatives_and_markers() -> None:
    answer = "A CMO needs an MD [1] and five to 10 years of clinical experience. [2]"
    assert key_fact_coverage(answer, ["md|do", "10 years", "board certification"]) == pytest.approx(2 / 3)
    assert key_fact_coverage("", ["md"]) == 0.0
    assert key_fact_coverage("anything", []) == 1.0


def test_answer_sentences_attach_markers_to_the_text_before_them() -> None:
    text = "First claim. [1] Second claim. Third claim. [2][3]\n\n- Item one [1]\n- Item two. [2]\nNo marker here."
    assert answer_sentences(text) == [
        ("First claim.", [1]),
        ("Second claim.", []),  # a marker group belongs to the sentence it ends
        ("Third claim.", [2, 3]),
        ("Item one", [1]),
        ("Item two.", [2]),
        ("No marker here.", []),
    ]


def test_a_list_item_is_one_unit_with_its_marker() -> None:
    assert answer_sentences("- Develops strategy. This includes quality work. [1]\n- Second item [2]") == [
        ("Develops strategy. This includes quality work.", [1]),
        ("Second item", [2]),
    ]


def test_citation_scores_for_quoted_and_invented_sentences() -> None:
    judge = SupportJudge(no_vectors, threshold=0.86)
    cited = {1: f"Policy text. {QUOTE_A} More text.", 2: QUOTE_B}
    answer = f"{QUOTE_A} [1] The CMO also sets salaries. [1] {QUOTE_B} [2]"
    scores = citation_scores(answer, cited, [QUOTE_A, "A quote no passage holds."], judge, answerable=True)
    assert scores["citation_precision"] == pytest.approx(2 / 3)
    assert scores["faithfulness"] == pytest.approx(2 / 3)
    assert scores["citation_recall"] == 0.5


def test_citation_to_the_wrong_passage_is_not_precise() -> None:
    judge = SupportJudge(no_vectors, threshold=0.86)
    scores = citation_scores(f"{QUOTE_A} [2]", {1: QUOTE_A, 2: QUOTE_B}, [QUOTE_A], judge, answerable=True)
    assert scores["citation_precision"] == 0.0 and scores["faithfulness"] == 0.0
    assert scores["citation_recall"] == 1.0  # the expected passage is cited, just not for this sentence


def test_answer_without_citations_has_no_precision_and_zero_faithfulness() -> None:
    judge = SupportJudge(no_vectors, threshold=0.86)
    scores = citation_scores("An uncited claim.", {}, [QUOTE_A], judge, answerable=True)
    assert scores["citation_precision"] is None
    assert scores["faithfulness"] == 0.0
    assert scores["citation_recall"] == 0.0


def test_support_by_similarity_uses_the_threshold() -> None:
    vectors = {"Paraphrased claim.": [1.0, 0.0], "Source claim.": [0.9, math.sqrt(1 - 0.81)]}

    def encode(texts):
        return np.array([vectors.get(t, [0.0, 1.0]) for t in texts], dtype=np.float32)

    assert SupportJudge(encode, threshold=0.85).supports("Source claim.", "Paraphrased claim.")
    assert not SupportJudge(encode, threshold=0.95).supports("Source claim.", "Paraphrased claim.")


def result(case_id: str, category: str, answerable: bool, answered: bool, **scores: float) -> CaseResult:
    return CaseResult(case_id, category, "dev", "q", answerable, answered, "a", [], [], dict(scores), 10.0)


def test_refusal_rates_and_averages_skip_metrics_that_do_not_apply() -> None:
    results = [
        result("a1", "duties", True, True, **{"hit@5": 1.0, "faithfulness": 1.0}),
        result("a2", "duties", True, False, **{"hit@5": 0.0}),  # a refusal has no faithfulness
        result("o1", "out_of_scope", False, False),
        result("o2", "out_of_scope", False, True, faithfulness=0.5),
    ]
    metrics = aggregate(results)
    assert metrics["hit@5"] == 0.5
    assert metrics["faithfulness"] == 0.75
    assert metrics["refusal_rate"] == 0.5
    assert metrics["false_refusal_rate"] == 0.5
    assert metrics["latency_p50_ms"] == 10.0
    categories = by_category(results)
    assert categories["out_of_scope"]["refusal_rate"] == 0.5
    assert "refusal_rate" not in categories["duties"]


def test_percentile_nearest_rank() -> None:
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([], 0.5) == 0.0


def test_gate_fails_when_a_threshold_is_not_met(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[min]\n"hit@5" = 0.9\nfaithfulness = 0.95\n[max]\nfalse_refusal_rate = 0.1\n')
    limits = load_thresholds(path)
    gate = check({"hit@5": 0.85, "faithfulness": 1.0, "false_refusal_rate": 0.2}, limits)
    assert not gate.passed
    assert any("hit@5" in f and "below" in f for f in gate.failures())
    assert any("false_refusal_rate" in f and "above" in f for f in gate.failures())
    assert check({"hit@5": 0.95, "faithfulness": 1.0, "false_refusal_rate": 0.0}, limits).passed


def test_gate_fails_on_a_missing_metric_and_bad_files(tmp_path: Path) -> None:
    assert not check({}, {"min": {"mrr": 0.5}}).passed
    bad = tmp_path / "bad.toml"
    bad.write_text("[min]\nmrr = 'high'\n")
    with pytest.raises(ConfigError, match="mrr must be a number"):
        load_thresholds(bad)
    with pytest.raises(ConfigError, match="Cannot read"):
        load_thresholds(tmp_path / "missing.toml")


def test_shipped_thresholds_and_golden_set_load() -> None:
    limits = load_thresholds()
    assert 0.5 < support_threshold(limits) <= 1
    cases = load_cases()
    assert len(cases) >= 60
    assert sum(not c.answerable for c in cases) >= 10
    assert {c.split for c in cases} == {"dev", "test"}


def test_dataset_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "a", "category": "x", "question": "q", "answerable": false}\nnot json\n')
    with pytest.raises(ConfigError, match=r"cases.jsonl:2"):
        load_cases(path)
    path.write_text('{"id": "a", "category": "x", "question": "q", "answerable": true}\n')
    with pytest.raises(ConfigError, match="expected quote"):
        load_cases(path)
