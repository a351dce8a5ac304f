"""Fusion of dense and BM25 rankings (pure), and hybrid retrieval over the shipped corpus (slow)."""

from __future__ import annotations

import pytest

from assistant.pipeline import Assistant
from assistant.search.lexical import LexicalIndex
from assistant.search.retrieval import reciprocal_rank_fusion, weighted_fusion
from assistant.types import Filters, Retrieval


def ranking(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda key: -scores[key])


# -- reciprocal rank fusion ---------------------------------------------------------------------------------
def test_rrf_follows_its_formula() -> None:
    scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert scores == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})


def test_rrf_document_ranked_well_by_both_beats_one_ranked_first_by_one() -> None:
    dense = ["only-dense", "both", "x1", "x2"]
    lexical = ["only-bm25", "both", "y1", "y2"]
    fused = ranking(reciprocal_rank_fusion([dense, lexical]))
    assert fused[0] == "both"
    assert set(fused[1:3]) == {"only-dense", "only-bm25"}


def test_rrf_single_ranking_is_reproduced() -> None:
    order = ["d", "a", "c", "b"]
    assert ranking(reciprocal_rank_fusion([order])) == order


def test_rrf_smaller_k_rewards_the_top_more() -> None:
    rankings = [["a", "b"], ["z", "a"]]
    # "a" is first and second, "z" first once: a always wins, by more when k is small.
    small = reciprocal_rank_fusion(rankings, k=1)
    large = reciprocal_rank_fusion(rankings, k=1000)
    assert small["a"] - small["z"] > large["a"] - large["z"] > 0


def test_rrf_of_nothing_is_empty() -> None:
    assert reciprocal_rank_fusion([]) == {}
    assert reciprocal_rank_fusion([[], []]) == {}


# -- weighted fusion ----------------------------------------------------------------------------------------
DENSE = {"a": 0.90, "b": 0.60, "c": 0.20}
LEXICAL = {"c": 12.0, "b": 7.0, "d": 1.0}


def test_weight_one_reproduces_the_dense_ranking() -> None:
    fused = weighted_fusion(DENSE, LEXICAL, dense_weight=1.0)
    order = ranking(DENSE)
    assert fused[order[0]] > fused[order[1]] > fused[order[2]]
    assert fused["d"] == 0.0  # only BM25 found it


def test_weight_zero_reproduces_the_bm25_ranking() -> None:
    fused = weighted_fusion(DENSE, LEXICAL, dense_weight=0.0)
    order = ranking(LEXICAL)
    assert fused[order[0]] > fused[order[1]] > fused[order[2]]
    assert fused["a"] == 0.0  # only dense found it


def test_weighted_scores_are_min_max_normalised() -> None:
    fused = weighted_fusion(DENSE, LEXICAL, dense_weight=1.0)
    assert fused["a"] == pytest.approx(1.0)
    assert fused["c"] == pytest.approx(0.0)
    assert fused["b"] == pytest.approx((0.60 - 0.20) / (0.90 - 0.20))


def test_weighted_document_ranked_well_by_both_beats_one_ranked_first_by_one() -> None:
    dense = {"only-dense": 0.95, "both": 0.90, "low": 0.10}
    lexical = {"only-bm25": 20.0, "both": 18.0, "low": 1.0}
    fused = weighted_fusion(dense, lexical, dense_weight=0.5)
    assert ranking(fused)[0] == "both"


def test_weighted_fusion_with_one_side_empty_keeps_the_other_order() -> None:
    fused = weighted_fusion({}, LEXICAL, dense_weight=0.5)
    assert set(fused) == set(LEXICAL)
    assert fused["c"] > fused["b"] > fused["d"]


def test_weighted_fusion_with_equal_scores_does_not_divide_by_zero() -> None:
    fused = weighted_fusion({"a": 0.5, "b": 0.5}, {}, dense_weight=1.0)
    assert fused == {"a": 1.0, "b": 1.0}


# -- over the shipped corpus --------------------------------------------------------------------------------
def retrieve(shipped: Assistant, question: str, **kwargs) -> Retrieval:
    return shipped.retrieve(question, **kwargs)


def lexical_index(shipped: Assistant) -> LexicalIndex:
    return shipped.corpus_index().lexical


@pytest.mark.slow
def test_challenges_question_finds_the_article_with_a_challenges_section(shipped: Assistant) -> None:
    docs_with_section = {
        c.doc_id for c in lexical_index(shipped).chunks if "Key Challenges for Healthcare CMOs" in c.section
    }
    assert docs_with_section, "the shipped corpus lost its 'Key Challenges for Healthcare CMOs' section"
    found = retrieve(shipped, "What are the challenges for healthcare CMOs?")
    assert len(found.passages) == shipped.settings.top_k
    assert docs_with_section & {p.chunk.doc_id for p in found.passages}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(
    ("kind", "question"),
    [
        ("policy", "What does a CMO do?"),
        ("policy", "What leadership skills does a CMO need?"),
        ("article", "How quickly must a patient safety event be reported?"),
        ("article", "What does the Credentials Committee recommend to the MEC?"),
    ],
)
def test_kind_filter_returns_only_that_kind(shipped: Assistant, kind: str, question: str, mode: str) -> None:
    found = retrieve(shipped, question, kind=kind, mode=mode)
    assert found.passages, f"nothing of kind {kind!r} retrieved for {question!r}"
    assert {p.chunk.kind for p in found.passages} == {kind}


@pytest.mark.slow
def test_without_a_filter_both_kinds_are_searchable(shipped: Assistant) -> None:
    policy = retrieve(shipped, "How quickly must a patient safety event be reported?")
    article = retrieve(shipped, "What is the career path to become a CMO?")
    assert policy.passages[0].chunk.kind == "policy"
    assert article.passages[0].chunk.kind == "article"


@pytest.mark.slow
def test_acronym_alone_finds_passages_that_only_spell_it_out(shipped: Assistant) -> None:
    """BM25 matches "FQHC" in a question with "federally qualified health center" in an article."""
    hits = lexical_index(shipped).search("FQHC", 10, Filters(kind="article"))
    assert hits, "the glossary did not connect FQHC to its spelled-out form"
    for chunk, _ in hits:
        assert "fqhc" not in chunk.text.lower()
    assert any("federally qualified health center" in chunk.text.lower() for chunk, _ in hits)


@pytest.mark.slow
def test_glossary_lets_fqhc_retrieve_the_allied_article_passage(shipped: Assistant) -> None:
    allied = "sources/cmo-bridging-clinical-excellence-allied.md"
    found = retrieve(shipped, "What does an FQHC CMO focus on?", kind="article")
    top5 = [p.chunk for p in found.passages[:5]]
    assert any(
        c.doc_id == allied and "federally qualified health center CMO also focuses" in c.text for c in top5
    ), [(c.doc_id, c.section_label) for c in top5]
    # The glossary works on the BM25 side; the dense model sees the question as asked (measured better).
    assert found.query.corrected == "What does an FQHC CMO focus on?"


@pytest.mark.slow
def test_bm25_only_mode_finds_the_named_committee(shipped: Assistant) -> None:
    found = retrieve(shipped, "What does the Credentials Committee recommend to the MEC?", mode="bm25")
    assert found.passages
    assert all(p.dense_rank is None and p.lexical_rank is not None for p in found.passages)
    top = found.passages[0].chunk
    assert top.kind == "policy"
    assert "Credentials Committee" in top.text
    assert [p.lexical_rank for p in found.passages] == sorted(p.lexical_rank or 0 for p in found.passages)


@pytest.mark.slow
def test_dense_only_mode_uses_no_bm25_ranks(shipped: Assistant) -> None:
    found = retrieve(shipped, "What does a CMO do?", mode="dense")
    assert found.passages
    assert all(p.lexical_rank is None and p.dense_rank is not None for p in found.passages)


@pytest.mark.slow
def test_top_k_is_respected_and_ranking_is_by_score(shipped: Assistant) -> None:
    found = retrieve(shipped, "What leadership skills does a CMO need?", top_k=3)
    assert len(found.passages) == 3
    scores = [p.score for p in found.passages]
    assert scores == sorted(scores, reverse=True)
    assert len({p.chunk.chunk_id for p in found.passages}) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("typed", "meant"), [("cheif", "chief"), ("oficer", "officer"), ("skils", "skills"), ("FQHCs", "FQHC")]
)
def test_typos_in_a_question_are_corrected_to_corpus_words(
    shipped: Assistant, typed: str, meant: str
) -> None:
    corrected = lexical_index(shipped).correct_spelling(f"What does a {typed} do?")
    assert corrected.lower() == f"what does a {meant} do?".lower()


@pytest.mark.slow
@pytest.mark.parametrize(
    "word",
    ["options", "later", "malpractice", "percentage", "handle", "reset", "Mona", "weather", "stuff", "form"],
)
def test_real_words_the_sources_lack_are_not_turned_into_other_words(shipped: Assistant, word: str) -> None:
    """'options' must not become 'operations' (a correction keeps the first letter and about the length), nor
    'weather' 'whether' or 'stuff' 'staff' (English words are left as written)."""
    question = f"What about {word} for a CMO?"
    assert lexical_index(shipped).correct_spelling(question) == question


# -- a passage found by its best sentence -------------------------------------------------------------------
def long_passage_and_a_middle_sentence(shipped: Assistant) -> tuple[str, str]:
    """A passage of five or more sentences, and one from its middle (which its own vector dilutes): a sentence
    of prose, whose vector is made from it alone (a list item's is made with its lead-in)."""
    index = shipped.corpus_index()
    for chunk in index.lexical.chunks:
        units = [chunk.text[u.start : u.end] for u in chunk.units]
        if len(units) >= 5 and not chunk.units[2].is_list_item and len(units[2]) > 60:
            return chunk.chunk_id, units[2]
    raise AssertionError("the shipped corpus has no passage of five sentences")


@pytest.mark.slow
def test_a_sentence_asked_verbatim_ranks_its_passage_first_by_best_sentence(shipped: Assistant) -> None:
    chunk_id, sentence = long_passage_and_a_middle_sentence(shipped)
    index = shipped.corpus_index()
    ranking = index.best_sentence_ranking(shipped.embedder.encode_query(sentence))
    assert ranking is not None and len(ranking) == len(index)
    assert ranking[0][0] == chunk_id
    assert ranking[0][1] > 0.99  # the sentence's own vector


@pytest.mark.slow
@pytest.mark.parametrize("cache_chunks", [4096, 1], ids=["all-in-memory", "candidates-only"])
def test_dense_retrieval_scores_passages_by_their_best_sentence_too(
    shipped: Assistant, monkeypatch: pytest.MonkeyPatch, cache_chunks: int
) -> None:
    """Whether every unit vector fits in memory or only the candidates' are read, the passage holding the asked
    sentence comes first."""
    from assistant.search import corpus_index

    monkeypatch.setattr(corpus_index, "UNIT_CACHE_CHUNKS", cache_chunks)
    chunk_id, sentence = long_passage_and_a_middle_sentence(shipped)
    mixed = Assistant.build(shipped.settings.replace(sentence_weight=0.3), embedder=shipped.embedder)
    found = mixed.retrieve(sentence, mode="dense")
    assert found.passages[0].chunk.chunk_id == chunk_id
    whole = mixed.corpus_index().best_sentence_ranking(found.query_vector)
    assert (whole is None) == (cache_chunks == 1)
