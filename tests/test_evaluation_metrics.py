"""Each metric on small hand-made cases with known answers, including the edge cases."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.evaluation.dataset import DEFAULT_DATASETS, load_cases, load_datasets
from assistant.evaluation.gate import check, load_thresholds, support_threshold
from assistant.evaluation.metrics import (
    DANGLING_OPENERS,
    SupportJudge,
    answer_sentences,
    citation_scores,
    dangling_inside,
    dangling_opener,
    first_sentence,
    key_fact_coverage,
    key_fact_first,
    list_before_leadin,
    off_document,
    percentile,
    readability_scores,
    relevant,
    retrieval_scores,
)
from assistant.evaluation.results import CaseResult
from assistant.evaluation.runner import aggregate, by_category, by_dataset, by_split

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


def test_a_table_cell_is_read_on_its_own_and_its_header_claims_nothing() -> None:
    text = "Both differ. [1]\n\n| Hospital | FQHC |\n| --- | --- |\n| Acute care. [1] | Primary care. [2] Sites. [2] |\n|  | More. [3] |"
    assert answer_sentences(text) == [
        ("Both differ.", [1]),
        ("Acute care.", [1]),
        ("Primary care.", [2]),
        ("Sites.", [2]),
        ("More.", [3]),
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


def test_a_series_item_is_judged_by_its_quote_when_its_label_is_the_passage_s_heading() -> None:
    basis: dict[str, int] = {}

    def encode(texts):  # every text unlike every other: only verbatim quotes are supported
        return np.array([np.eye(16)[basis.setdefault(t, len(basis))] for t in texts], dtype=np.float32)

    judge = SupportJudge(encode, threshold=0.9)
    passage = (
        "The staff member raises the concern. The responsible practitioner must respond within 15 minutes."
    )
    item = "Level 1: Responsible Practitioner — The responsible practitioner must respond within 15 minutes."
    heading = "4. Escalation Levels > 4.1 Level 1: Responsible Practitioner"
    assert judge.supports(passage, item, heading)
    assert not judge.supports(passage, item)  # without the heading, the label is an unsupported claim
    assert not judge.supports(
        passage, item, "4. Escalation Levels > 4.2 Level 2: Unit and Section Leadership"
    )
    unquoted = "Level 1: Responsible Practitioner — The practitioner may ignore pages."
    assert not judge.supports(passage, unquoted, heading)
    scores = citation_scores(f"- {item} [1]", {1: passage}, [], judge, answerable=True, headings={1: heading})
    assert scores["faithfulness"] == 1.0


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


# --- readability -----------------------------------------------------------------------------------------


def test_first_sentence_strips_markers_and_the_list_marker() -> None:
    assert first_sentence("The CMO chairs it. [1] Second. [2]") == "The CMO chairs it."
    assert (
        first_sentence("- Reappointment every 24 months [1]\n- Second [2]") == "Reappointment every 24 months"
    )
    assert first_sentence("") == ""


def test_key_fact_first_passes_when_the_first_sentence_holds_a_fact() -> None:
    facts = ["two years|24 months", "board"]
    assert key_fact_first("Reappointment is every 24 MONTHS. [1] The board decides. [1]", facts)
    assert key_fact_first("- The Board acts on it [1]\n- More [1]", facts)  # any one fact, any alternative


def test_key_fact_first_fails_when_the_fact_comes_later() -> None:
    facts = ["24 months"]
    assert not key_fact_first(
        "Policies govern the medical staff. [1] Reappointment is every 24 months. [1]", facts
    )
    assert not key_fact_first("", facts)


@pytest.mark.parametrize(
    "answer",
    [
        "It's a huge job. [1]",
        "This involves budgets. [1]",
        "They also oversee risk. [1]",
        "However, the role varies. [1]",
        "As a result, CMOs lead change. [1]",
        "In addition to this, they evaluate technology. [1]",
        "The latter is rarer. [1]",
        "- Additionally, they chair committees [1]",
        '"Such leaders" matter. [1]',
        # a word that sets against or goes on from what came before, also after an interjection
        "Alternatively, experienced CMOs may become consultants. [1]",
        "Indeed, the challenges may be even greater. [1]",
        "For example, the CMO chairs the committee. [1]",
        "But the role varies. [1]",
        "Well, it's definitely not a 9-to-5 desk job! [1]",
    ],
)
def test_a_first_sentence_that_refers_back_is_a_dangling_opener(answer: str) -> None:
    assert dangling_opener(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "The CMO chairs the QI/QA Committee. [1] It meets monthly. [1]",  # "It" later is fine
        "Itemised budgets are reviewed. [1]",  # a word that only starts with "It"
        "Theirs is not a listed opener; Health comes first. [1]",
        "Thesis: the CMO leads. [1]",
        "Typically, CMOs have been practicing physicians for many years. [1]",  # an adverb of its own
        "No patient is denied health center services. [1]",  # "No" is no interjection here
        "Butler County has two sites. [1]",
        "",
    ],
)
def test_a_self_contained_first_sentence_is_not_a_dangling_opener(answer: str) -> None:
    assert not dangling_opener(answer)


def test_the_dangling_openers_are_one_list() -> None:
    assert {"It", "This", "However", "As a result", "The former"} <= set(DANGLING_OPENERS)
    for word in DANGLING_OPENERS:
        assert dangling_opener(f"{word} x y z. [1]"), word


DAY = (
    "So, what does a typical day look like for a CMO? Well, it's definitely not a 9-to-5 desk job! "
    "Their days are packed with meetings."
)


def test_a_later_sentence_cut_off_from_the_one_it_follows_dangles_inside() -> None:
    passages = {1: "The CMO chairs the committee.", 2: DAY}
    assert dangling_inside(
        "The CMO chairs the committee. [1] Their days are packed with meetings. [2]", passages
    )
    assert dangling_inside(
        "The CMO chairs the committee. [1] Well, it's definitely not a 9-to-5 desk job! [2]", passages
    )


def test_a_later_sentence_right_after_the_one_it_follows_does_not_dangle() -> None:
    passages = {1: "The CMO chairs the committee.", 2: DAY}
    # the first sentence is dangling_opener's; a sentence that does not lean back needs nothing before it
    assert not dangling_inside(
        "Their days are packed with meetings. [2] The CMO chairs the committee. [1]", passages
    )
    assert not dangling_inside(
        "The CMO chairs the committee. [1] So, what does a typical day look like for a CMO? [2] Well, it's "
        "definitely not a 9-to-5 desk job! [2] Their days are packed with meetings. [2]",
        passages,
    )
    # list markers and line breaks in the passage do not count
    assert not dangling_inside(
        "Skills: [1]\n\n- Communication [1]\n- Teamwork [1]\n\nThe CMO leads. [2] They also teach. [2]",
        {1: "Skills:\n\n- Communication\n- Teamwork", 2: "The CMO leads.\n\n- They also teach."},
    )


def test_a_sentence_following_its_own_across_two_passages_does_not_dangle() -> None:
    """Passages follow each other: one ends with the sentence the other's first sentence leans on."""
    passages = {1: "CMOs lead teams. The move to CEO demands focus.", 2: "Alongside this, finance matters."}
    answer = "The move to CEO demands focus. [1] Alongside this, finance matters. [2]"
    assert not dangling_inside(answer, passages)
    assert dangling_inside("CMOs lead teams. [1] Alongside this, finance matters. [2]", passages)


def test_a_list_after_its_lead_in_passes() -> None:
    assert not list_before_leadin("Skills include: [1]\n\n- Communication [1]\n- Strategy [1]")
    assert not list_before_leadin(
        "A CMO leads. [1] Skills include: [2]\n- One [2]\n\nDuties are: [3]\n- Two [3]"
    )
    assert not list_before_leadin("Prose only. [1] More prose. [2]")
    assert not list_before_leadin("Prose. [1]\n- an item without a lead-in, and none later [1]")


def test_a_list_before_its_lead_in_or_opening_the_answer_fails() -> None:
    assert list_before_leadin("- Industry knowledge [1]")  # opens with a list item: no lead-in at all
    assert list_before_leadin("- Industry knowledge [1]\n\nSkills include: [1]\n\n- Teamwork [1]")
    assert list_before_leadin(
        "A CMO leads. [1]\n- Teamwork [1]\n\nSkills to look for include: [1]\n- Time [1]"
    )


def test_off_document_counts_sentences_citing_only_unexpected_documents() -> None:
    docs = {1: "expected.md", 2: "other.md", 3: "other2.md"}
    assert off_document("A. [1] B. [1][2] C. [1]", docs, ["expected.md"]) == (0, 3)  # passes: all on document
    assert off_document("A. [1] B. [2] C. [2][3] D.", docs, ["expected.md"]) == (2, 3)  # D cites nothing
    assert off_document("A. [9]", docs, ["expected.md"]) == (0, 0)  # a marker without a passage cites nothing


def test_readability_scores_apply_where_defined() -> None:
    docs = {1: "expected.md", 2: "other.md", 3: "expected.md"}
    answer = "This covers 24 months. [1] Other text. [2] More. [3]"
    passages = {1: "This covers 24 months.", 2: "Other text.", 3: "More."}
    scores = readability_scores(
        answer, docs, ["24 months"], ["expected.md"], answerable=True, passages=passages
    )
    assert scores == {
        "key_fact_first": 1.0,
        "dangling_opener_rate": 1.0,
        "dangling_inside_rate": 0.0,  # only the first sentence leans back: that is dangling_opener_rate's
        "list_before_leadin_rate": 0.0,
        "off_document_rate": pytest.approx(1 / 3),
        "cited_sentences": 3.0,
        "documents_per_answer": 2.0,  # distinct documents, not markers
    }
    refused_case = readability_scores(answer, docs, [], [], answerable=False)  # must refuse, but answered
    assert refused_case["key_fact_first"] is None and refused_case["off_document_rate"] is None
    assert refused_case["dangling_opener_rate"] == 1.0 and refused_case["documents_per_answer"] == 2.0
    no_facts = readability_scores(answer, docs, [], ["expected.md"], answerable=True)
    assert no_facts["key_fact_first"] is None
    assert no_facts["dangling_inside_rate"] is None  # without the cited passages it cannot be told


def test_off_document_rate_is_a_share_of_sentences_not_of_cases() -> None:
    results = [
        result("a", "duties", True, True, off_document_rate=1.0, cited_sentences=1.0),
        result("b", "duties", True, True, off_document_rate=0.0, cited_sentences=3.0),
        result("c", "duties", True, True, documents_per_answer=2.0),
    ]
    metrics = aggregate(results)
    assert metrics["off_document_rate"] == pytest.approx(1 / 4)  # 1 of 4 sentences, not the mean 0.5
    assert "cited_sentences" not in metrics  # a weight, not a metric
    assert metrics["documents_per_answer"] == 2.0


def test_metrics_per_split_and_per_dataset() -> None:
    rows = [
        dataclasses.replace(
            result("g1", "duties", True, True, **{"hit@5": 1.0}), split="dev", dataset="golden"
        ),
        dataclasses.replace(
            result("g2", "duties", True, False, **{"hit@5": 0.0}), split="test", dataset="golden"
        ),
        dataclasses.replace(
            result("u1", "policies", True, True, **{"hit@5": 1.0}), split="test", dataset="users"
        ),
        dataclasses.replace(result("p1", "duties", False, True), split="paraphrase", dataset="paraphrase"),
    ]
    splits = by_split(rows)
    assert list(splits) == ["dev", "test", "paraphrase"]
    assert splits["dev"]["hit@5"] == 1.0 and splits["test"]["hit@5"] == 0.5
    assert splits["test"]["false_refusal_rate"] == 0.5
    assert splits["paraphrase"]["refusal_rate"] == 0.0 and "hit@5" not in splits["paraphrase"]
    datasets = by_dataset(rows)
    assert list(datasets) == ["golden", "users", "paraphrase"]
    assert datasets["golden"]["hit@5"] == 0.5 and datasets["users"]["hit@5"] == 1.0


# --- several datasets ------------------------------------------------------------------------------------


def write_cases(path: Path, *cases: tuple[str, str]) -> Path:
    lines = [
        json.dumps({"id": case_id, "split": split, "category": "x", "question": "q", "answerable": False})
        for case_id, split in cases
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_several_datasets_load_in_order_each_case_keeping_its_split(tmp_path: Path) -> None:
    first = write_cases(tmp_path / "golden.jsonl", ("a", "dev"), ("b", "test"))
    second = write_cases(tmp_path / "reworded.jsonl", ("a-para", "paraphrase"))
    cases = load_datasets([first, second])
    assert [(c.id, c.split, c.dataset) for c in cases] == [
        ("a", "dev", "golden"),
        ("b", "test", "golden"),
        ("a-para", "paraphrase", "reworded"),
    ]
    assert [c.dataset for c in load_cases(first)] == ["golden", "golden"]


def test_an_id_used_in_two_datasets_is_refused_naming_both_files(tmp_path: Path) -> None:
    first = write_cases(tmp_path / "one.jsonl", ("a", "dev"))
    second = write_cases(tmp_path / "two.jsonl", ("b", "dev"), ("a", "test"))
    with pytest.raises(ConfigError, match=r"'a'.*one\.jsonl.*two\.jsonl"):
        load_datasets([first, second])


def test_two_datasets_with_the_same_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    first = write_cases(tmp_path / "cases.jsonl", ("a", "dev"))
    second = write_cases(tmp_path / "x" / "cases.jsonl", ("b", "dev"))
    with pytest.raises(ConfigError, match="named 'cases'"):
        load_datasets([first, second])
    with pytest.raises(ConfigError, match="named 'cases'"):
        load_datasets([first, first])


def test_the_shipped_datasets_load_together() -> None:
    cases = load_datasets()
    stems = ["golden", "users", "more_users", "dev_cases", "asked_cases", "blind_cases", "paraphrase"]
    assert [p.stem for p in DEFAULT_DATASETS] == stems
    assert {c.dataset for c in cases} == set(stems)
    assert {c.split for c in cases if c.dataset in ("dev_cases", "asked_cases", "blind_cases")} == {"dev"}
    assert {c.split for c in cases} == {"dev", "test", "paraphrase"}
    assert {c.split for c in cases if c.dataset == "paraphrase"} == {"paraphrase"}
    assert len({c.id for c in cases}) == len(cases)


# --- a gate per split ------------------------------------------------------------------------------------


def test_split_bounds_are_checked_against_that_split(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[min]\n"hit@5" = 0.5\n[split.test.min]\n"hit@5" = 0.9\n[split.test.max]\nfalse_refusal_rate = 0.2\n'
    )
    limits = load_thresholds(path)
    splits = {"dev": {"hit@5": 1.0}, "test": {"hit@5": 0.8, "false_refusal_rate": 0.1}}
    gate = check({"hit@5": 0.9}, limits, splits)
    assert [c[0] for c in gate.checks] == ["hit@5", "test/hit@5", "test/false_refusal_rate"]
    assert not gate.passed
    assert gate.failures() == ["test/hit@5 = 0.800 (below the minimum 0.900)"]
    assert check(
        {"hit@5": 0.9}, limits, {**splits, "test": {"hit@5": 0.95, "false_refusal_rate": 0.0}}
    ).passed


def test_split_bounds_are_skipped_for_a_split_the_run_does_not_have(tmp_path: Path) -> None:
    limits = {"min": {"hit@5": 0.5}, "split": {"test": {"min": {"hit@5": 0.9}}}}
    gate = check({"hit@5": 0.9}, limits, {"dev": {"hit@5": 0.9}})
    assert gate.passed and [c[0] for c in gate.checks] == ["hit@5"]


def test_malformed_split_sections_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[split.test]\nhit = 0.5\n")
    with pytest.raises(ConfigError, match=r"\[split.test\] may hold only"):
        load_thresholds(path)
    path.write_text("[split.test.min]\nmrr = 'high'\n")
    with pytest.raises(ConfigError, match=r"\[split.test.min\] mrr must be a number"):
        load_thresholds(path)


def test_the_shipped_gate_bounds_the_readability_metrics() -> None:
    limits = load_thresholds()
    assert "key_fact_first" in limits["min"]
    for rate in ("dangling_opener_rate", "list_before_leadin_rate", "off_document_rate"):
        assert rate in limits["max"], rate
