"""What the index holds, for people: index_stats and document_text, over hand-made manifests (fast) and over a
small ingested corpus (slow)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from corpus_files import POLICIES, write_files
from memory_store import MemoryStore

from assistant.config import Settings
from assistant.errors import QuestionError
from assistant.ingest.catalog import document_text, index_stats, read_document
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.pipeline import Assistant
from assistant.types import Chunk
from assistant.web.presentation import document_html

ONBOARDING = """---
title: Physician Leader Onboarding
kind: policy
owner: CMO office
---

## First Month

New physician leaders meet every department chair in the first month.
"""


@pytest.fixture()
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture()
def manifest(settings: Settings) -> Manifest:
    return Manifest(settings.manifest_path)


def recorded(manifest: Manifest, settings: Settings, doc_id: str, text: str, kind: str = "policy") -> Path:
    """Write ``text`` into the corpus as ``doc_id`` and record it in the manifest (as an ingest would)."""
    path = settings.corpus_dir / doc_id
    write_files(settings.corpus_dir, {doc_id: text})
    manifest.put(DocumentRecord(doc_id, doc_id, kind, str(path), "0" * 64, (f"{doc_id}#1",), 1.0))
    return path


# -- document_text ---------------------------------------------------------------------------------------------
def test_document_text_is_the_title_and_body_without_front_matter(
    manifest: Manifest, settings: Settings
) -> None:
    recorded(manifest, settings, "policies/onboarding.md", ONBOARDING)
    title, text = document_text(settings, manifest, "policies/onboarding.md")
    assert title == "Physician Leader Onboarding"
    assert text.lstrip().startswith("## First Month")
    assert "every department chair" in text
    assert "owner:" not in text


def test_an_unknown_document_id_is_a_question_error(manifest: Manifest, settings: Settings) -> None:
    recorded(manifest, settings, "policies/onboarding.md", ONBOARDING)
    with pytest.raises(QuestionError, match=r"policies/missing\.md"):
        document_text(settings, manifest, "policies/missing.md")


def test_a_path_is_not_a_document_id(manifest: Manifest, settings: Settings) -> None:
    path = recorded(manifest, settings, "policies/onboarding.md", ONBOARDING)
    with pytest.raises(QuestionError, match="No indexed document"):
        document_text(settings, manifest, str(path))


def test_a_document_whose_file_is_gone_cannot_be_shown(manifest: Manifest, settings: Settings) -> None:
    recorded(manifest, settings, "policies/onboarding.md", ONBOARDING).unlink()
    with pytest.raises(QuestionError, match="cannot be shown"):
        document_text(settings, manifest, "policies/onboarding.md")


# -- index_stats -------------------------------------------------------------------------------------------
def test_stats_of_an_empty_index(manifest: Manifest, settings: Settings) -> None:
    stats = index_stats(settings, manifest, MemoryStore(), "toy-model")
    assert stats["documents"] == 0
    assert stats["chunks"] == 0
    assert stats["kinds"] == {}
    assert stats["per_document"] == []
    assert stats["embedding_model"] == "toy-model"
    assert stats["last_ingest"] is None
    assert stats["data_dir"] == str(settings.data_dir)
    assert stats["store"] == str(settings.chroma_dir)


def test_stats_count_documents_kinds_and_the_stores_chunks(manifest: Manifest, settings: Settings) -> None:
    recorded(manifest, settings, "policies/a.md", "# A\n\nText a.\n")
    recorded(manifest, settings, "policies/b.md", "# B\n\nText b.\n")
    recorded(manifest, settings, "sources/c.md", "# C\n\nText c.\n", kind="article")
    stamp = "1700000000.250"
    manifest.set_meta(embedding_model="built-with", last_ingest_at=stamp)
    store = MemoryStore()
    chunk = Chunk("x", "policies/a.md", "A", "policy", "a", (), "Text a.", 0, 7, 0, ())
    store.add([chunk], np.ones((1, 3), dtype=np.float32), [np.ones((0, 3), dtype=np.float32)])
    stats = index_stats(settings, manifest, store, "configured-model")
    assert stats["documents"] == 3
    assert stats["kinds"] == {"policy": 2, "article": 1}
    assert stats["chunks"] == 1  # what the store holds
    assert stats["embedding_model"] == "built-with"  # the index's model, not the configured one
    assert stats["last_ingest"] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(stamp)))
    assert [d["doc_id"] for d in stats["per_document"]] == ["policies/a.md", "policies/b.md", "sources/c.md"]
    assert stats["per_document"][2] == {
        "doc_id": "sources/c.md",
        "title": "sources/c.md",
        "kind": "article",
        "chunks": 1,
    }


# -- over an ingested corpus ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_pdf_is_read_for_the_documents_view_page_by_page(manifest: Manifest, settings: Settings) -> None:
    from test_readers import THREE_PAGES, write_pdf

    path = settings.corpus_dir / "policies/badges.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_pdf(THREE_PAGES, title="Visitor Badges"))
    manifest.put(
        DocumentRecord("policies/badges.pdf", "Visitor Badges", "policy", str(path), "0" * 64, (), 1.0)
    )
    doc = read_document(settings, manifest, "policies/badges.pdf")
    assert doc.title == "Visitor Badges" and len(doc.pages) == 3
    shown = document_html(doc.title, doc.text, doc.pages)
    heads = re.findall(r"<h3 class='cmo-page-number'>(.*?)</h3>", shown)
    assert heads == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]
    assert shown.index("1. Purpose") < shown.index("Page 2 of 3") < shown.index("2. Badge Colours")
    assert shown.index("Page 3 of 3") < shown.index("3. Review")
    assert document_text(settings, manifest, "policies/badges.pdf") == (doc.title, doc.text)


def test_stats_and_text_of_an_ingested_corpus(make_assistant) -> None:
    assistant: Assistant = make_assistant()
    write_files(assistant.settings.corpus_dir, {**POLICIES, "policies/onboarding.md": ONBOARDING})
    report = assistant.ingest()
    stats = assistant.stats()
    assert stats["documents"] == 4
    assert stats["kinds"] == {"policy": 3, "article": 1}
    assert stats["chunks"] == report.chunks_total == assistant.store.count() > 0
    assert sum(d["chunks"] for d in stats["per_document"]) == stats["chunks"]
    assert stats["embedding_model"] == assistant.embedder.name
    assert stats["last_ingest"] is not None
    titles = {d["doc_id"]: d["title"] for d in stats["per_document"]}
    assert titles["policies/onboarding.md"] == "Physician Leader Onboarding"
    assert titles["sources/cmo-role.md"] == "The CMO Role"

    title, text = assistant.document_text("policies/leave.md")
    assert title == "Parental Leave"
    assert "ninety days" in text
    with pytest.raises(QuestionError):
        assistant.document_text("policies/nope.md")
