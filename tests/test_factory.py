"""Composing an Assistant from custom stages, without patching: a reranker, a reader for a new file type and a
vector store are each one object (or one registry entry) handed in, and the rest of the pipeline uses them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from corpus_files import POLICIES, write_files
from memory_store import MemoryStore

from assistant.errors import QuestionError
from assistant.factory import build_stages
from assistant.ingest.readers import READERS, SourceFile, supported_suffixes
from assistant.pipeline import Assistant
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.protocols import IdentityReranker
from assistant.types import Answer, Query, ScoredChunk

# -- a reranker ----------------------------------------------------------------------------------------------
#: Policy questions whose best passages are about the subject and whose last retrieved ones are cross-references
#: to other policies. The extractive answerer weighs passage rank only a little, so not every question's [1]
#: moves when the order is reversed; at least one of these must.
POLICY_QUESTIONS = (
    "How are patient safety events reported?",
    "What does onboarding for a new physician leader include?",
    "How is a new clinical policy approved?",
)


class Reverse:
    """Prefers the passages retrieval ranked worst."""

    def rerank(self, query: Query, passages: Sequence[ScoredChunk]) -> tuple[ScoredChunk, ...]:
        return tuple(reversed(passages))


class KeepLast:
    """Keeps only the passage retrieval ranked last."""

    def __init__(self) -> None:
        self.seen: list[Query] = []

    def rerank(self, query: Query, passages: Sequence[ScoredChunk]) -> tuple[ScoredChunk, ...]:
        self.seen.append(query)
        return tuple(passages[-1:])


def chunk_ids(passages: Sequence[ScoredChunk]) -> list[str]:
    return [p.chunk.chunk_id for p in passages]


def cited(answer: Answer) -> list[tuple[str, str]]:
    assert answer.answered, answer.answer
    return [(c.doc_id, c.text) for c in answer.citations]


@pytest.mark.slow
def test_a_reversing_reranker_changes_the_order_and_the_citations(shipped: Assistant) -> None:
    reversing = Assistant.build(shipped.settings, embedder=shipped.embedder, reranker=Reverse())
    moved = []
    # The answer opens with its most relevant sentence wherever its passage ranks, so the first citation may stay
    # (a comparison opens with its table, whose first cell is the same side's sentence); what follows the
    # opening is quoted passage by passage in rank order.
    for question in (*POLICY_QUESTIONS, "How is a hospital CMO different from an FQHC CMO?"):
        default, reranked = shipped.ask(question), reversing.ask(question)
        assert len(default.retrieved) > 1
        assert chunk_ids(reranked.retrieved) == chunk_ids(default.retrieved)[::-1]
        retrieved = {(p.chunk.doc_id, p.chunk.text) for p in reranked.retrieved}
        assert set(cited(reranked)) <= retrieved
        if cited(reranked) != cited(default):
            moved.append(question)
    assert moved, "reversing the passages changed no question's citations"


@pytest.mark.slow
def test_a_reranker_that_drops_passages_limits_what_is_cited(shipped: Assistant) -> None:
    question = "What does a chief medical officer do?"
    default = shipped.retrieve(question)
    keep_last = KeepLast()
    answer = Assistant.build(shipped.settings, embedder=shipped.embedder, reranker=keep_last).ask(question)
    last = default.passages[-1].chunk
    assert chunk_ids(answer.retrieved) == [last.chunk_id]
    assert keep_last.seen and keep_last.seen[0].text == question
    assert answer.answered, answer.answer
    # whatever is cited comes from the one passage the reranker kept, not retrieval's best
    assert {(c.doc_id, c.text) for c in answer.citations} == {(last.doc_id, last.text)}
    assert default.passages[0].chunk.text != last.text


def test_the_default_reranker_keeps_the_order(make_settings) -> None:
    stages = build_stages(make_settings())
    assert isinstance(stages.reranker, IdentityReranker)


# -- a reader for a new file type ----------------------------------------------------------------------------
HELIPAD_NOTE = (
    "Title: Rooftop Helipad Operations\n"
    "\n"
    "The rooftop helipad is inspected every Tuesday at dawn by the facilities engineer on call.\n"
    "\n"
    "The helipad inspection covers the landing lights, the windsock and the fire suppression foam.\n"
    "\n"
    "Snow must be cleared from the helipad landing pad within forty minutes of a storm warning.\n"
)
FUEL_NOTE = (
    "Title: Generator Fuel Log\n"
    "\n"
    "The emergency generator fuel log is signed by the night supervisor after every refuelling.\n"
    "\n"
    "The generator fuel tanks are refilled whenever the fuel log shows them below half.\n"
    "\n"
    "A missing signature in the generator fuel log is reported to the facilities director.\n"
)
#: The small corpus, with one policy of several sentences on its subject.
LEAVE = """# Parental Leave

Employees become eligible for parental leave after ninety days of service.

Parental leave lasts up to twelve weeks and may be taken in two parts.

Requests for parental leave go to human resources four weeks before the leave starts.
"""
SMALL_CORPUS = {**POLICIES, "policies/leave.md": LEAVE}


def read_note(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    """A ``.note``: plain text whose first line is ``Title: ...``."""
    first, _, body = data.decode("utf-8").partition("\n")
    title = first.removeprefix("Title:").strip() if first.startswith("Title:") else ""
    return body if title else data.decode("utf-8"), {"title": title}


@pytest.fixture()
def note_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(READERS, ".note", read_note)


def test_a_registered_reader_is_listed_among_the_supported_suffixes(note_reader: None) -> None:
    assert ".note" in supported_suffixes()
    assert ".md" in supported_suffixes()


def test_an_unregistered_suffix_is_neither_listed_nor_accepted_as_upload(make_settings) -> None:
    assert ".note" not in supported_suffixes()
    assistant = Assistant.build(make_settings())
    with pytest.raises(QuestionError, match="unsupported file type"):
        assistant.uploads.save("fuel.note", FUEL_NOTE.encode())
    assert not assistant.settings.uploads_dir.exists() or not any(assistant.settings.uploads_dir.iterdir())


@pytest.mark.slow
def test_a_registered_reader_makes_its_files_indexed_and_answered(make_assistant, note_reader: None) -> None:
    assistant = make_assistant()
    write_files(assistant.settings.corpus_dir, {"helipad.note": HELIPAD_NOTE, **SMALL_CORPUS})
    report = assistant.ingest()
    assert not report.skipped, report.summary()
    assert "helipad.note" in report.added
    titles = {d["doc_id"]: d["title"] for d in assistant.stats()["per_document"]}
    assert titles["helipad.note"] == "Rooftop Helipad Operations"

    answer = assistant.ask("When is the rooftop helipad inspected?")
    assert answer.answered, answer.answer
    assert answer.citations[0].doc_id == "helipad.note"
    assert answer.citations[0].title == "Rooftop Helipad Operations"
    assert "every Tuesday at dawn" in answer.answer
    assert "[1]" in answer.answer


@pytest.mark.slow
def test_a_registered_reader_accepts_uploads_of_its_type(make_assistant, note_reader: None) -> None:
    assistant = make_assistant()
    write_files(assistant.settings.corpus_dir, SMALL_CORPUS)
    assistant.ingest()
    report = assistant.add_document("fuel.note", FUEL_NOTE.encode())
    assert report.added == ["uploads/fuel.note"], report.summary()
    answer = assistant.ask("Who signs the emergency generator fuel log?")
    assert answer.answered, answer.answer
    assert answer.citations[0].doc_id == "uploads/fuel.note"
    assert "night supervisor" in answer.answer


@pytest.mark.slow
def test_without_its_reader_a_note_file_is_skipped_as_unsupported(make_assistant) -> None:
    assistant = make_assistant()
    write_files(assistant.settings.corpus_dir, {"helipad.note": HELIPAD_NOTE, **SMALL_CORPUS})
    report = assistant.ingest()
    reasons = [reason for path, reason in report.skipped if path.endswith("helipad.note")]
    assert len(reasons) == 1 and "unsupported file type .note" in reasons[0]
    assert "helipad.note" not in assistant.manifest.documents()
    assert set(report.added) == set(SMALL_CORPUS)


# -- a vector store ------------------------------------------------------------------------------------------
@pytest.fixture()
def in_memory(make_settings, embedder: Embedder) -> tuple[Assistant, MemoryStore]:
    store = MemoryStore()
    assistant = Assistant.build(make_settings(), embedder=embedder, store=store)
    write_files(assistant.settings.corpus_dir, SMALL_CORPUS)
    return assistant, store


@pytest.mark.slow
def test_an_in_memory_store_indexes_and_answers_without_chroma(in_memory) -> None:
    assistant, store = in_memory
    report = assistant.ingest()
    assert not report.skipped, report.summary()
    assert assistant.store is store
    assert store.count() == report.chunks_total > 0
    assert {c.doc_id for c in store.all_chunks()} == set(SMALL_CORPUS)
    assert assistant.has_index()

    answer = assistant.ask("When do employees become eligible for parental leave?")
    assert answer.answered, answer.answer
    assert answer.citations[0].doc_id == "policies/leave.md"
    assert "ninety days" in answer.answer
    assert not assistant.settings.chroma_dir.exists()
    assert not (assistant.settings.data_dir / "chroma").exists()


@pytest.mark.slow
def test_an_in_memory_store_applies_the_kind_filter_to_dense_search(in_memory) -> None:
    assistant, _ = in_memory
    assistant.ingest()
    question = "Where does the CMO park?"
    unfiltered = assistant.retrieve(question, mode="dense")
    assert "policy" in {p.chunk.kind for p in unfiltered.passages}
    articles = assistant.retrieve(question, mode="dense", kind="article")
    assert [p.chunk.doc_id for p in articles.passages] == ["sources/cmo-role.md"]


@pytest.mark.slow
def test_an_in_memory_store_follows_deleted_files(in_memory) -> None:
    assistant, store = in_memory
    assistant.ingest()
    (assistant.settings.corpus_dir / "policies/parking.md").unlink()
    report = assistant.ingest()
    assert report.removed == ["policies/parking.md"]
    assert "policies/parking.md" not in store.doc_chunk_ids()
    retrieved = assistant.retrieve("Where does the CMO park in lot seven?")
    assert "policies/parking.md" not in {p.chunk.doc_id for p in retrieved.passages}


# -- build_stages ----------------------------------------------------------------------------------------------
def test_build_stages_rejects_an_unknown_stage_by_name(make_settings) -> None:
    settings = make_settings()
    with pytest.raises(TypeError, match="rerankr"):
        build_stages(settings, rerankr=Reverse())
    with pytest.raises(TypeError, match="rerankr"):
        Assistant.build(settings, rerankr=Reverse())
    with pytest.raises(TypeError, match=r"retreiver.*vector_store"):
        build_stages(settings, vector_store=MemoryStore(), retreiver=object())


def test_a_given_store_is_the_one_the_retriever_indexer_and_assistant_use(make_settings) -> None:
    settings = make_settings()
    store = MemoryStore()
    stages = build_stages(settings, store=store)
    assert stages.store is store
    assert stages.retriever.store is store  # type: ignore[attr-defined]
    assert stages.indexer.store is store
    assert Assistant.build(settings, store=store).store is store


def test_given_stages_are_what_the_later_stages_are_built_on(make_settings) -> None:
    settings = make_settings()
    embedder = Embedder("", settings.models_dir)
    glossary = Glossary([])
    stages = build_stages(settings, embedder=embedder, glossary=glossary)
    assert stages.retriever.embedder is embedder  # type: ignore[attr-defined]
    assert stages.indexer.embedder is embedder
    assert stages.analyzer.glossary is glossary


def test_building_an_assistant_creates_nothing_on_disk(make_settings) -> None:
    settings = make_settings()
    assistant = Assistant.build(settings)
    assert not assistant.has_index()
    assert not settings.data_dir.exists()
