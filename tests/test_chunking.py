"""Chunking with the real model tokenizer: heading paths, token budgets, exact slices, whole-sentence overlap."""

from __future__ import annotations

import itertools
import re

import pytest

from assistant.config import MODEL_MAX_TOKENS, PROJECT_ROOT, Settings
from assistant.ingest.chunking import Chunker
from assistant.ingest.readers import discover, load, read_bytes
from assistant.search.embeddings import Embedder
from assistant.types import Chunk, Document

HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)


def make_doc(text: str, doc_id: str = "policies/leave.md", title: str = "Leave Policy") -> Document:
    return Document(doc_id=doc_id, title=title, kind="policy", source_path=doc_id, text=text, sha256="x")


def full_tokens(embedder: Embedder, chunk: Chunk) -> int:
    """What the model reads for this chunk (the indexer embeds ``context_header + newline + text``)."""
    return embedder.count_tokens([f"{chunk.context_header}\n{chunk.text}"])[0]


def check_invariants(doc: Document, chunks: list[Chunk]) -> None:
    assert chunks, "the document produced no chunk"
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.units, chunk
        assert chunk.units[0].start == 0
        assert chunk.units[-1].end == len(chunk.text)
        for unit in chunk.units:
            assert 0 <= unit.start < unit.end <= len(chunk.text)
            assert chunk.unit_text(unit) == doc.text[chunk.start + unit.start : chunk.start + unit.end]
            assert chunk.unit_text(unit) == chunk.unit_text(unit).strip()
        assert not HEADING_LINE.search(chunk.text), f"chunk crosses a heading: {chunk.text!r}"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


POLICY = """# Leave Policy

Intro sentence before any sub-heading. It has two sentences.

## Eligibility

All employees are eligible after ninety days. Contractors are not eligible.

### Exceptions

The CMO may grant exceptions in writing.

- Exceptions are logged.
- Exceptions are reviewed yearly.

## Requests

Requests go to human resources. Human resources answers within five days.
"""


def test_heading_path_follows_nested_headings(embedder: Embedder) -> None:
    doc = make_doc(POLICY)
    chunks = Chunker(embedder.count_tokens, 160, 32).split(doc)
    check_invariants(doc, chunks)
    by_first_sentence = {c.unit_text(c.units[0]): c for c in chunks}
    assert by_first_sentence["Intro sentence before any sub-heading."].section == ("Leave Policy",)
    assert by_first_sentence["All employees are eligible after ninety days."].section == (
        "Leave Policy",
        "Eligibility",
    )
    exceptions = by_first_sentence["The CMO may grant exceptions in writing."]
    assert exceptions.section == ("Leave Policy", "Eligibility", "Exceptions")
    assert [exceptions.unit_text(u) for u in exceptions.units if u.is_list_item] == [
        "Exceptions are logged.",
        "Exceptions are reviewed yearly.",
    ]
    # A sibling ## heading closes the ### below the previous ##.
    assert by_first_sentence["Requests go to human resources."].section == ("Leave Policy", "Requests")
    assert exceptions.context_header == "Leave Policy > Leave Policy > Eligibility > Exceptions"


def test_text_before_the_first_heading_has_an_empty_path(embedder: Embedder) -> None:
    doc = make_doc("Preamble sentence here.\n\n## Scope\n\nScope sentence here.\n")
    chunks = Chunker(embedder.count_tokens).split(doc)
    check_invariants(doc, chunks)
    assert [(c.section, c.text) for c in chunks] == [
        ((), "Preamble sentence here."),
        (("Scope",), "Scope sentence here."),
    ]


def test_long_run_on_paragraph_stays_within_budget_and_overlaps_by_whole_sentences(
    embedder: Embedder,
) -> None:
    sentences = [
        f"Sentence {i} explains how the committee reviews case {i * 7} for the medical staff."
        for i in range(80)
    ]
    doc = make_doc("## Review\n\n" + " ".join(sentences) + "\n")
    chunker = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32)
    chunks = chunker.split(doc)
    check_invariants(doc, chunks)
    assert len(chunks) > 3
    for chunk in chunks:
        assert full_tokens(embedder, chunk) <= 160
        # Every unit is one whole sentence of the paragraph.
        assert all(chunk.unit_text(u) in sentences for u in chunk.units)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start > prev.start
        assert nxt.start < prev.end, "consecutive chunks of one section should overlap"
        overlap = doc.text[nxt.start : prev.end]
        prev_unit_starts = {prev.start + u.start for u in prev.units}
        next_unit_ends = {nxt.start + u.end for u in nxt.units}
        assert nxt.start in prev_unit_starts, f"overlap does not start at a sentence: {overlap!r}"
        assert prev.end in next_unit_ends, f"overlap does not end at a sentence: {overlap!r}"
        assert embedder.count_tokens([overlap])[0] <= 32 + 2
    # The whole paragraph is covered, in order.
    assert chunks[0].start == doc.text.index("Sentence 0 ")
    assert chunks[-1].end == doc.text.rindex(".") + 1


def test_two_thousand_word_sentence_is_cut_into_word_aligned_pieces_within_budget(embedder: Embedder) -> None:
    words = [f"credentialing{i % 13} privileges" for i in range(1000)]  # 2,000 words, no sentence end
    doc = make_doc("## Run-on\n\n" + " ".join(words) + "\n")
    chunks = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32).split(doc)
    check_invariants(doc, chunks)
    assert len(chunks) > 5
    for chunk in chunks:
        assert full_tokens(embedder, chunk) <= 160
        assert doc.text[chunk.start - 1].isspace() and doc.text[chunk.end].isspace(), "a word was cut"
    covered = " ".join(c.text for c in chunks).split()
    assert covered == " ".join(words).split(), "no word is lost or duplicated"


def test_one_unbroken_token_longer_than_the_budget_is_still_cut(embedder: Embedder) -> None:
    url = "https://intranet.example.org/" + "/".join(f"policy{i}" for i in range(300))
    doc = make_doc(f"## Links\n\nThe full text is at {url} for staff.\n")
    chunks = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32).split(doc)
    assert max(full_tokens(embedder, c) for c in chunks) <= 160


def test_numbered_list_chunks_stay_within_budget(embedder: Embedder) -> None:
    steps = "\n".join(f"{i}. Sign the form." for i in range(1, 120))
    doc = make_doc(f"## Steps\n\n{steps}\n")
    chunks = Chunker(embedder.count_tokens, max_tokens=240, overlap_tokens=32).split(doc)
    check_invariants(doc, chunks)
    assert max(full_tokens(embedder, c) for c in chunks) <= 240


NESTED = """## Case review

1. Cases are referred for review when any of these triggers occurs:
   - unexpected death;
   - a patient complaint.
2. The Quality Department screens each referral within 7 days.
"""


def test_a_nested_list_is_introduced_by_the_item_it_is_nested_under(embedder: Embedder) -> None:
    """A step ending with ":" introduces the items indented under it; the next step is not one of them."""
    doc = make_doc(NESTED)
    (chunk,) = Chunker(embedder.count_tokens, max_tokens=240, overlap_tokens=32).split(doc)
    check_invariants(doc, [chunk])
    texts = [chunk.unit_text(u) for u in chunk.units]
    opener = texts.index("Cases are referred for review when any of these triggers occurs:")
    death, complaint, screening = (
        texts.index(t)
        for t in (
            "unexpected death;",
            "a patient complaint.",
            "The Quality Department screens each referral within 7 days.",
        )
    )
    assert chunk.lead_in(death) == opener
    assert chunk.lead_in(complaint) == opener
    assert chunk.lead_in(screening) is None
    assert chunk.unit_embedding_text(death) == f"{texts[opener]} unexpected death;"


def test_blockquote_between_paragraphs_does_not_overflow_the_budget(embedder: Embedder) -> None:
    quote = " ".join(f"Quoted sentence {i} about the board of directors." for i in range(25))
    doc = make_doc(f"## Note\n\nFirst paragraph.\n\n> {quote}\n\nSecond paragraph.\n")
    chunks = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32).split(doc)
    assert max(full_tokens(embedder, c) for c in chunks) <= 160


def test_chunks_never_cross_a_heading(embedder: Embedder) -> None:
    body = " ".join(f"Short sentence {i}." for i in range(5))
    text = "\n\n".join(f"## Part {p}\n\n{body}" for p in range(6)) + "\n"
    doc = make_doc(text)
    chunks = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32).split(doc)
    check_invariants(doc, chunks)
    assert [c.section for c in chunks] == [(f"Part {p}",) for p in range(6)]


def test_ids_are_stable_and_change_only_with_the_chunk_text(embedder: Embedder) -> None:
    chunker = Chunker(embedder.count_tokens, 160, 32)
    first = chunker.split(make_doc(POLICY))
    again = Chunker(embedder.count_tokens, 160, 32).split(make_doc(POLICY))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)

    edited = chunker.split(make_doc(POLICY.replace("within five days", "within three days")))
    assert [c.chunk_id for c in edited[:-1]] == [c.chunk_id for c in first[:-1]]
    assert edited[-1].chunk_id != first[-1].chunk_id

    other_doc = chunker.split(make_doc(POLICY, doc_id="policies/other.md"))
    assert not {c.chunk_id for c in other_doc} & {c.chunk_id for c in first}


def test_shipped_corpus_chunks_fit_the_model(embedder: Embedder) -> None:
    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus")
    chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)
    sources = list(discover(settings.source_roots(), settings.corpus_dir))
    assert len(sources) >= 10
    total = 0
    for source in sources:
        doc = load(source, read_bytes(source, settings.max_file_bytes))
        chunks = chunker.split(doc)
        check_invariants(doc, chunks)
        total += len(chunks)
        for chunk in chunks:
            assert full_tokens(embedder, chunk) <= MODEL_MAX_TOKENS - 2, (doc.doc_id, chunk.text[:80])
    assert total > 50


def test_chunker_refuses_a_budget_the_model_cannot_read(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        Chunker(embedder.count_tokens, max_tokens=MODEL_MAX_TOKENS)
