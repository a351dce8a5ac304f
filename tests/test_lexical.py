"""BM25 over hand-made passages: term analysis, spelling correction against the corpus vocabulary, filters."""

from __future__ import annotations

import pytest

from assistant.search.glossary import Glossary
from assistant.search.lexical import LexicalIndex, analyze, analyze_many, english_words
from assistant.types import Chunk, Filters


def passage(chunk_id: str, doc_id: str, kind: str, text: str) -> Chunk:
    return Chunk(chunk_id, doc_id, "Title", kind, doc_id, ("Section",), text, 0, len(text), 0, ())


CHUNKS = [
    passage(
        "p1",
        "policies/credentialing.md",
        "policy",
        "The chief medical officer approves credentialing decisions.",
    ),
    passage(
        "a1",
        "sources/role.md",
        "article",
        "A chief medical officer leads clinical quality, patient safety and the medical staff.",
    ),
    passage(
        "p2", "policies/parking.md", "policy", "Parking is in lot seven, whether or not the clinic is open."
    ),
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(CHUNKS, Glossary.load())


def ids(results: list[tuple[Chunk, float]]) -> list[str]:
    return [chunk.chunk_id for chunk, _ in results]


# -- analysis ------------------------------------------------------------------------------------------------
def test_analyze_lowercases_drops_stop_words_and_stems() -> None:
    assert analyze("The Chiefs are Leading the medical staff") == ["chief", "lead", "medic", "staff"]


def test_analyze_of_nothing_specific_is_empty() -> None:
    assert analyze("") == []
    assert analyze("a I") == []  # one-letter words are not terms
    assert analyze("what is the") == []


def test_analyze_many_matches_analyze_text_by_text() -> None:
    texts = ["Credentialing decisions", "", "patients and safety"]
    assert analyze_many(texts) == [analyze(t) for t in texts]


# -- spelling ------------------------------------------------------------------------------------------------
def test_english_words_come_from_the_bundled_vocabulary() -> None:
    words = english_words()
    assert len(words) > 10_000
    assert {"weather", "stuff", "chief"} <= words
    assert "cheif" not in words


def test_a_typo_is_corrected_to_the_corpus_word(index: LexicalIndex) -> None:
    assert index.correct_word("cheif") == "chief"
    assert index.correct_spelling("What does the cheif medical oficer do?") == (
        "What does the chief medical officer do?"
    )


def test_correction_keeps_the_capital_of_the_word_as_typed(index: LexicalIndex) -> None:
    assert index.correct_spelling("Cheif duties") == "Chief duties"


def test_english_words_the_corpus_lacks_are_left_alone(index: LexicalIndex) -> None:
    # "whether" and "staff" are in the passages; "weather" and "stuff" are still words as meant
    assert index.correct_spelling("weather stuff") == "weather stuff"


def test_short_and_unmatched_words_are_left_alone(index: LexicalIndex) -> None:
    assert index.correct_word("lto") == "lto"
    assert index.correct_word("xyzzyq") == "xyzzyq"


def test_only_the_first_part_of_a_long_text_is_corrected(index: LexicalIndex) -> None:
    text = "cheif " + "x" * 700 + " cheif"
    corrected = index.correct_spelling(text)
    assert corrected.startswith("chief ")
    assert corrected.endswith(" cheif")


# -- BM25 search ---------------------------------------------------------------------------------------------
def test_search_ranks_the_matching_passages_and_leaves_out_the_rest(index: LexicalIndex) -> None:
    results = index.search("chief medical officer credentialing", 5)
    assert ids(results) == ["p1", "a1"]
    assert results[0][1] > results[1][1] > 0


def test_search_returns_at_most_n(index: LexicalIndex) -> None:
    assert ids(index.search("chief medical officer credentialing", 1)) == ["p1"]


def test_search_by_kind(index: LexicalIndex) -> None:
    assert ids(index.search("chief medical officer", 5, Filters(kind="article"))) == ["a1"]
    assert ids(index.search("parking lot", 5, Filters(kind="article"))) == []
    assert set(ids(index.search("chief medical officer parking", 5, Filters(kind="policy")))) == {"p1", "p2"}


def test_search_by_document(index: LexicalIndex) -> None:
    assert ids(index.search("chief medical officer", 5, Filters(doc_id="sources/role.md"))) == ["a1"]
    assert ids(index.search("chief", 5, Filters(kind="article", doc_id="policies/credentialing.md"))) == []


def test_an_acronym_matches_its_expansion(index: LexicalIndex) -> None:
    assert set(ids(index.search("CMO", 5))) == {"p1", "a1"}


def test_search_for_words_the_corpus_lacks_finds_nothing(index: LexicalIndex) -> None:
    assert index.search("zeppelin", 5) == []
    assert index.search("", 5) == []


def test_an_empty_index_finds_nothing() -> None:
    empty = LexicalIndex([], Glossary.load())
    assert empty.search("chief", 5) == []
    assert empty.correct_word("cheif") == "cheif"


def test_rarer_terms_weigh_more(index: LexicalIndex) -> None:
    assert index.idf["park"] > index.idf["chief"]
    assert index.max_idf > max(index.idf.values())
    assert "credenti" in index.vocabulary
