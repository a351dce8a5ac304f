"""Question cleaning and the one analysis of a question (QueryAnalyzer) over a small hand-made corpus index."""

from __future__ import annotations

import pytest
from memory_store import MemoryStore

from assistant.answer.query import QueryAnalyzer, clean_question, focus_terms, unreadable_removed
from assistant.errors import QuestionError
from assistant.search.corpus_index import CorpusIndex
from assistant.search.glossary import Glossary
from assistant.types import Chunk, Filters, Turn


# -- clean_question --------------------------------------------------------------------------------------------
def test_whitespace_is_folded() -> None:
    assert clean_question("  What\tdoes\n\n a CMO   do?  ", 100) == ("What does a CMO do?", False)


def test_control_and_invisible_characters_are_removed() -> None:
    assert clean_question("What\x00 does\x07 a\u200b CMO\ufeff do?", 100) == ("What does a CMO do?", False)


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01\x02", "\u200b\n\t"])
def test_an_empty_question_is_refused(raw: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        clean_question(raw, 100)


def test_a_question_of_symbols_only_is_refused() -> None:
    with pytest.raises(QuestionError, match="only symbols"):
        clean_question("?!? ...", 100)


def test_a_question_of_undecodable_bytes_only_says_to_use_utf8() -> None:
    with pytest.raises(QuestionError, match="UTF-8"):
        clean_question("\udcff\udcfe", 100)


def test_undecodable_bytes_are_dropped_from_a_readable_question() -> None:
    assert unreadable_removed("CMO\udcff duties") == "CMO duties"
    assert clean_question("CMO\udcff duties", 100) == ("CMO duties", False)


def test_a_long_question_is_cut_at_a_word_boundary() -> None:
    text, cut = clean_question("abc " * 10, 20)
    assert cut
    assert text == "abc abc abc abc abc"


def test_a_long_word_without_a_late_space_is_cut_at_the_limit() -> None:
    assert clean_question("x" * 50, 20) == ("x" * 20, True)
    assert clean_question("a " + "b" * 40, 20) == ("a " + "b" * 18, True)


def test_a_question_at_the_limit_is_not_cut() -> None:
    assert clean_question("y" * 20, 20) == ("y" * 20, False)


# -- QueryAnalyzer ---------------------------------------------------------------------------------------------
def passage(chunk_id: str, text: str) -> Chunk:
    return Chunk(
        chunk_id, f"policies/{chunk_id}.md", "Title", "policy", chunk_id, (), text, 0, len(text), 0, ()
    )


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load()


@pytest.fixture(scope="module")
def index(glossary: Glossary) -> CorpusIndex:
    chunks = [
        passage("helipad", "The chief medical officer inspects the rooftop helipad every Tuesday."),
        passage("credentialing", "Credentialing is renewed every two years by the medical staff office."),
    ]
    return CorpusIndex("g1", chunks, glossary, MemoryStore())


@pytest.fixture(scope="module")
def analyzer(glossary: Glossary) -> QueryAnalyzer:
    return QueryAnalyzer(glossary)


def test_the_corrected_text_fixes_typos_and_the_text_keeps_them(
    analyzer: QueryAnalyzer, index: CorpusIndex
) -> None:
    query = analyzer.analyze("When does the cheif inspect the helipad?", index)
    assert query.text == "When does the cheif inspect the helipad?"
    assert query.corrected == "When does the chief inspect the helipad?"
    assert not query.is_followup


def test_focus_terms_are_the_specific_stemmed_terms(analyzer: QueryAnalyzer, index: CorpusIndex) -> None:
    query = analyzer.analyze("How often is credentialing renewed?", index)
    assert set(query.focus.weights) == {"credenti", "renew"}
    assert query.focus.unknown == ()
    assert all(w == index.lexical.idf[t] for t, w in query.focus.weights.items())


def test_a_term_the_corpus_lacks_gets_the_highest_weight(analyzer: QueryAnalyzer, index: CorpusIndex) -> None:
    query = analyzer.analyze("Are zeppelins inspected at the helipad?", index)
    assert query.focus.unknown == ("zeppelin",)
    assert query.focus.weights["zeppelin"] == index.lexical.max_idf
    assert query.focus.weights["zeppelin"] > query.focus.weights["helipad"]


def test_focus_terms_also_weigh_by_rarity_in_general_english(
    analyzer: QueryAnalyzer, index: CorpusIndex
) -> None:
    """The corpus lacks "together" (highest IDF); in English it is common, so by general rarity it weighs less
    than "helipad", and coverage by those weights counts a sentence holding only it for little."""
    focus = analyzer.analyze("when do they get together at the helipad?", index).focus
    assert focus.weights["togeth"] >= focus.weights["helipad"]
    assert focus.general["togeth"] < focus.general["helipad"]
    assert focus.coverage({"togeth"}) >= 0.5 > focus.coverage({"togeth"}, general=True)


def test_a_question_of_generic_words_has_no_focus_terms(analyzer: QueryAnalyzer, index: CorpusIndex) -> None:
    assert analyzer.analyze("what is it", index).focus.weights == {}


def test_a_followup_is_resolved_against_the_conversation(analyzer: QueryAnalyzer, index: CorpusIndex) -> None:
    history = [
        Turn("user", "What is the credentialing policy?"),
        Turn("assistant", "Credentialing is ... [1]"),
    ]
    query = analyzer.analyze("And how often is it renewed?", index, history)
    assert query.is_followup
    assert query.standalone != query.text
    assert "credentialing policy" in query.standalone
    assert query.standalone.endswith("And how often is it renewed?")
    assert query.corrected == query.standalone
    assert query.history == tuple(history)


def test_a_followup_without_specific_words_takes_its_focus_from_the_conversation(
    analyzer: QueryAnalyzer, index: CorpusIndex
) -> None:
    query = analyzer.analyze("How often?", index, [Turn("user", "Tell me about credentialing")])
    assert set(query.focus.weights) == {"credenti"}


def test_a_standalone_question_is_not_joined_to_the_conversation(
    analyzer: QueryAnalyzer, index: CorpusIndex
) -> None:
    history = [Turn("user", "What is the credentialing policy?")]
    query = analyzer.analyze("When is the rooftop helipad inspected by the CMO?", index, history)
    assert query.standalone == query.text


def test_a_condensed_question_is_used_as_the_standalone_one(
    analyzer: QueryAnalyzer, index: CorpusIndex
) -> None:
    history = [Turn("user", "What is the credentialing policy?")]
    query = analyzer.analyze(
        "And how often?", index, history, condensed="How often is cheif credentialing renewed?"
    )
    assert query.standalone == "How often is cheif credentialing renewed?"
    assert query.corrected == "How often is chief credentialing renewed?"


def test_filters_are_kept_on_the_query(analyzer: QueryAnalyzer, index: CorpusIndex) -> None:
    filters = Filters(kind="policy", doc_id="policies/helipad.md")
    assert analyzer.analyze("helipad", index, filters=filters).filters == filters
    assert analyzer.analyze("helipad", index).filters == Filters()


def test_terms_of_a_part_of_a_question(
    analyzer: QueryAnalyzer, index: CorpusIndex, glossary: Glossary
) -> None:
    assert set(analyzer.terms("rooftop helipad", index).weights) == {"rooftop", "helipad"}
    assert analyzer.terms("rooftop helipad", index) == focus_terms("rooftop helipad", index, glossary)
