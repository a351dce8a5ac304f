"""Ingest against the real model and a real embedded Chroma: incremental, idempotent, crash-safe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_process import clean_environment
from corpus_files import write_files
from killed_ingest import kill_ingest_when

from assistant.errors import ConfigError
from assistant.ingest.readers import discover, load, read_bytes
from assistant.pipeline import Assistant

pytestmark = pytest.mark.slow

LEAVE = """---
title: Parental Leave
kind: policy
policy_number: HR-7
---

## Eligibility

Employees become eligible for parental leave after ninety days of service.

## Requests

Requests for parental leave go to human resources four weeks ahead.
"""

FILES = {
    "policies/leave.md": LEAVE,
    "policies/parking.md": "# Parking\n\nThe CMO parks in lot seven next to the clinic entrance.\n",
    "sources/cmo-role.md": "# The CMO Role\n\nA chief medical officer leads the medical staff and clinical quality.\n",
    "onboarding.md": "# Onboarding\n\nNew physician leaders meet every department chair in the first month.\n",
}
DOC_IDS = sorted(FILES)


@pytest.fixture()
def assistant(make_assistant) -> Assistant:
    """An assistant over a tmp corpus holding FILES, with explicit chunk sizes."""
    made = make_assistant(chunk_tokens=160, chunk_overlap_tokens=32)
    write_files(made.settings.corpus_dir, FILES)
    return made


def manifest_ids(assistant: Assistant) -> dict[str, set[str]]:
    return {doc_id: set(r.chunk_ids) for doc_id, r in assistant.manifest.documents().items()}


def assert_consistent(assistant: Assistant) -> None:
    """The store holds exactly the manifest's chunks, and every chunk has its unit vectors and only those."""
    expected = manifest_ids(assistant)
    assert assistant.store.doc_chunk_ids() == {d: ids for d, ids in expected.items() if ids}
    store_ids = assistant.store.ids()
    assert store_ids == set().union(*expected.values())
    assert assistant.store.unit_chunk_ids() <= store_ids, "unit vectors of deleted chunks are left behind"


def test_first_ingest_adds_all_and_second_is_a_noop(assistant: Assistant) -> None:
    first = assistant.ingest()
    assert sorted(first.added) == DOC_IDS
    assert not (first.updated or first.removed or first.skipped or first.partial)
    ids = assistant.store.ids()
    assert first.chunks_embedded == first.chunks_total == len(ids) >= len(DOC_IDS) + 1
    assert len(assistant.store.ids("policies/leave.md")) == 2, "two sections give two chunks"
    assert_consistent(assistant)

    second = assistant.ingest()
    assert sorted(second.unchanged) == DOC_IDS
    assert not (second.added or second.updated or second.removed or second.skipped)
    assert second.chunks_embedded == 0 and second.chunks_deleted == 0
    assert not second.changed
    assert assistant.store.ids() == ids
    assert_consistent(assistant)


def test_kinds_and_titles_recorded(assistant: Assistant) -> None:
    assistant.ingest()
    records = assistant.manifest.documents()
    assert records["policies/leave.md"].title == "Parental Leave"
    assert records["sources/cmo-role.md"].kind == "article"
    assert records["policies/parking.md"].kind == "policy"
    stats = assistant.stats()
    assert stats["documents"] == 4
    assert stats["kinds"] == {"policy": 3, "article": 1}


def test_editing_one_file_embeds_only_its_changed_chunks(assistant: Assistant) -> None:
    assistant.ingest()
    before = assistant.store.ids("policies/leave.md")
    others_before = {d: assistant.store.ids(d) for d in DOC_IDS if d != "policies/leave.md"}
    path = assistant.settings.corpus_dir / "policies/leave.md"
    path.write_text(LEAVE.replace("four weeks ahead", "six weeks ahead"), encoding="utf-8")

    report = assistant.ingest()
    assert report.updated == ["policies/leave.md"]
    assert sorted(report.unchanged) == [d for d in DOC_IDS if d != "policies/leave.md"]
    assert report.chunks_embedded == 1, "only the Requests section changed"
    assert report.chunks_deleted == 1
    after = assistant.store.ids("policies/leave.md")
    assert len(after) == 2
    assert len(after & before) == 1, "the unchanged Eligibility chunk keeps its id"
    assert not (before - after) & assistant.store.ids(), "the old Requests chunk is gone from the store"
    texts = {c.text for c in assistant.store.all_chunks() if c.doc_id == "policies/leave.md"}
    assert any("six weeks ahead" in t for t in texts)
    assert not any("four weeks ahead" in t for t in texts)
    assert {d: assistant.store.ids(d) for d in others_before} == others_before
    assert_consistent(assistant)


def test_deleting_a_file_removes_its_chunks_and_manifest_row(assistant: Assistant) -> None:
    assistant.ingest()
    (assistant.settings.corpus_dir / "policies/parking.md").unlink()
    report = assistant.ingest()
    assert report.removed == ["policies/parking.md"]
    assert "policies/parking.md" not in assistant.manifest.documents()
    assert assistant.store.ids("policies/parking.md") == set()
    assert_consistent(assistant)


def test_rebuild_reembeds_everything(assistant: Assistant) -> None:
    first = assistant.ingest()
    ids = assistant.store.ids()
    report = assistant.ingest(rebuild=True)
    assert sorted(report.added) == DOC_IDS
    assert report.chunks_embedded == first.chunks_embedded == len(ids)
    assert assistant.store.ids() == ids, "content ids are the same after a rebuild"
    assert_consistent(assistant)


def test_an_index_made_by_an_older_version_is_embedded_again(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.ingest import indexing

    monkeypatch.setattr(indexing, "CHUNKER_VERSION", "older")
    first = assistant.ingest()
    assert assistant.ensure_index() is None
    monkeypatch.undo()
    report = assistant.ensure_index()  # as the app does when it starts
    assert report is not None, "an index made by an older version was left as it was"
    assert report.chunks_embedded == first.chunks_embedded == report.chunks_total, (
        "vectors made the old way were kept: chunk ids did not change, but how they are embedded did"
    )
    assert assistant.ingest().chunks_embedded == 0
    assert assistant.ensure_index() is None
    assert_consistent(assistant)


def test_a_list_item_is_embedded_after_its_lead_in(assistant: Assistant) -> None:
    listing = (
        "# Call Stipends\n\nRiverbend Health pays the following stipends for each duty period:\n\n"
        "- Weekend call: $2,400 for the full weekend.\n- Weeknight call: $600 per night.\n"
    )
    write_files(assistant.settings.corpus_dir, {"policies/stipends.md": listing})
    assistant.ingest()
    chunk = next(c for c in assistant.store.all_chunks() if c.doc_id == "policies/stipends.md")
    stored = assistant.store.unit_vectors([chunk])[chunk.chunk_id]
    item = next(i for i, u in enumerate(chunk.units) if "Weekend call" in chunk.unit_text(u))
    lead_in = "Riverbend Health pays the following stipends for each duty period:"
    expected = assistant.embedder.encode([f"{lead_in} Weekend call: $2,400 for the full weekend."])[0]
    bare = assistant.embedder.encode(["Weekend call: $2,400 for the full weekend."])[0]
    assert float(stored[item] @ expected) > 0.999
    assert float(stored[item] @ bare) < 0.99
    prose = next(i for i, u in enumerate(chunk.units) if not u.is_list_item)
    assert float(stored[prose] @ assistant.embedder.encode([lead_in])[0]) > 0.999, (
        "prose is embedded as written"
    )


def test_a_bad_file_is_reported_and_the_rest_ingests(assistant: Assistant) -> None:
    corpus = assistant.settings.corpus_dir
    (corpus / "scan.txt").write_bytes(b"\x00\x01\x02binary")
    (corpus / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    report = assistant.ingest()
    assert report.partial
    assert sorted(report.added) == DOC_IDS
    skipped = dict(report.skipped)
    assert set(skipped) == {str(corpus / "scan.txt"), str(corpus / "chart.png")}
    assert "NUL bytes" in skipped[str(corpus / "scan.txt")]
    assert "unsupported file type .png" in skipped[str(corpus / "chart.png")]
    assert f"skipped {corpus / 'scan.txt'}: " in report.summary()
    assert_consistent(assistant)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (
            "---\nkind: memo\n---\nThe CMO parks anywhere.\n",
            "'memo' (the previously indexed version is kept)",
        ),
        ("", "empty"),
    ],
    ids=["invalid-front-matter", "emptied"],
)
def test_a_file_that_breaks_after_a_good_ingest_keeps_its_previous_version(
    assistant: Assistant, broken: str, reason: str
) -> None:
    assistant.ingest()
    record = assistant.manifest.documents()["policies/parking.md"]
    ids = assistant.store.ids("policies/parking.md")
    path = assistant.settings.corpus_dir / "policies/parking.md"
    path.write_text(broken, encoding="utf-8")

    report = assistant.ingest()
    assert report.partial
    assert [p for p, _ in report.skipped] == [str(path)]
    assert reason in report.skipped[0][1]
    assert "policies/parking.md" not in report.removed
    assert assistant.manifest.documents()["policies/parking.md"] == record
    assert assistant.store.ids("policies/parking.md") == ids
    assert_consistent(assistant)


def test_an_emptied_file_report_says_the_previous_version_is_kept(assistant: Assistant) -> None:
    assistant.ingest()
    (assistant.settings.corpus_dir / "policies/parking.md").write_text("", encoding="utf-8")
    report = assistant.ingest()
    assert "policies/parking.md" in assistant.manifest.documents()
    assert "previously indexed version is kept" in report.skipped[0][1]


def test_duplicate_content_under_two_names_is_indexed_once(assistant: Assistant) -> None:
    corpus = assistant.settings.corpus_dir
    (corpus / "parking-copy.md").write_text(FILES["policies/parking.md"], encoding="utf-8")
    report = assistant.ingest()
    docs = assistant.manifest.documents()
    assert ("parking-copy.md" in docs) != ("policies/parking.md" in docs), (
        "exactly one of the copies is indexed"
    )
    assert len(docs) == len(DOC_IDS)
    kept = corpus / ("parking-copy.md" if "parking-copy.md" in docs else "policies/parking.md")
    dropped = ({corpus / "parking-copy.md", corpus / "policies/parking.md"} - {kept}).pop()
    assert report.duplicates == [(str(dropped), f"same content as {kept} (indexed once)")]
    assert not report.partial, "a duplicate is reported, not a failure"
    assert_consistent(assistant)


def test_a_copy_added_later_does_not_leave_the_content_indexed_twice(assistant: Assistant) -> None:
    assistant.ingest()
    corpus = assistant.settings.corpus_dir
    (corpus / "aaa-parking-copy.md").write_text(FILES["policies/parking.md"], encoding="utf-8")
    report = assistant.ingest()
    assert any("same content as" in why for _, why in report.duplicates)
    docs = assistant.manifest.documents()
    assert ("aaa-parking-copy.md" in docs) + ("policies/parking.md" in docs) == 1
    assert_consistent(assistant)


def test_extra_sources_get_prefixed_ids_and_stay_until_forgotten(
    assistant: Assistant, tmp_path: Path
) -> None:
    extra = tmp_path / "my-policies"
    write_files(extra, {"travel.md": "# Travel\n\nConference travel needs approval from the CMO.\n"})
    report = assistant.ingest(sources=[extra])
    assert sorted(report.added) == sorted([*DOC_IDS, "my-policies/travel.md"])
    assert assistant.store.ids("my-policies/travel.md")
    assert_consistent(assistant)

    again = assistant.ingest(sources=[extra])
    assert again.chunks_embedded == 0 and not again.removed
    # Given once, remembered: a later ingest (or an upload) without it keeps its documents.
    later = assistant.ingest()
    assert later.chunks_embedded == 0 and not later.removed
    assert "my-policies/travel.md" in assistant.manifest.documents()

    dropped = assistant.ingest(forget=[extra])
    assert dropped.removed == ["my-policies/travel.md"]
    assert "removed my-policies/travel.md" in dropped.summary()
    assert assistant.store.ids("my-policies/travel.md") == set()
    assert "my-policies/travel.md" not in assistant.manifest.documents()
    assert_consistent(assistant)


def test_forgetting_a_folder_that_is_not_remembered_says_which_are(
    assistant: Assistant, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="not a remembered source folder"):
        assistant.ingest(forget=[tmp_path / "never-added"])


def test_example_policies_make_way_for_the_organizations_own(make_assistant, tmp_path: Path) -> None:
    assistant = make_assistant(example_policies="auto")
    write_files(assistant.settings.corpus_dir, FILES)
    first = assistant.ingest()
    assert "policies/parking.md" in first.added, "with no documents of its own, the examples are indexed"

    own = tmp_path / "riverbend"
    write_files(own, {"travel.md": "# Travel\n\nConference travel needs approval from the CMO.\n"})
    report = assistant.ingest(sources=[own])
    assert "riverbend/travel.md" in report.added
    assert {d for d in report.removed if d.startswith("policies/")} == {
        d for d in DOC_IDS if d.startswith("policies/")
    }
    assert "removed policies/parking.md" in report.summary()
    assert not any(d.startswith("policies/") for d in assistant.manifest.documents())
    assert_consistent(assistant)

    back = assistant.ingest(forget=[own])
    assert "policies/parking.md" in back.added, "without documents of its own, the examples come back"


def test_a_crash_between_chunk_and_unit_writes_is_repaired(assistant: Assistant) -> None:
    assistant.ingest()
    # The state a kill inside ChromaStore.add leaves: a new file's chunks stored, its unit vectors not yet.
    corpus = assistant.settings.corpus_dir
    (corpus / "policies/badges.md").write_text(
        "# Badges\n\nEvery physician wears a photo badge issued by security.\n", encoding="utf-8"
    )
    indexer = assistant.stages.indexer
    [source] = [
        s for s in discover(assistant.settings.source_roots(), corpus) if s.doc_id == "policies/badges.md"
    ]
    chunks = indexer.chunker.split(load(source, read_bytes(source, assistant.settings.max_file_bytes)))
    vectors = assistant.embedder.encode([f"{c.context_header}\n{c.text}" for c in chunks])
    assistant.store.add(chunks, vectors, [np.zeros((0, vectors.shape[1]))] * len(chunks))  # no unit vectors
    assistant.manifest.set_meta(in_progress="1")

    report = assistant.ingest()
    assert report.repaired
    assert "policies/badges.md" in assistant.manifest.documents()
    assert assistant.store.ids() <= assistant.store.unit_chunk_ids(), "a chunk has no unit vectors"


def test_interrupted_ingest_is_finished_by_the_next_run(make_assistant, tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    count = 32
    write_files(
        corpus,
        {
            f"policies/p{i:02d}.md": f"# Policy {i}\n\nRule {i} says committee {i} meets on day {i % 28 + 1}.\n"
            for i in range(count)
        },
    )
    env = clean_environment()
    env.update(CMO_ASSISTANT_DATA_DIR=str(data), CMO_ASSISTANT_CORPUS_DIR=str(corpus), HF_HUB_OFFLINE="1")
    # Kill while the documents are being written: some rows in the manifest, not all.
    rows_at_kill = kill_ingest_when(
        env,
        data / "manifest.sqlite3",
        lambda db: int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]),
        at=count * 2 // 5,
    )
    assert rows_at_kill < count

    assistant = make_assistant(data_dir=data, corpus_dir=corpus)
    report = assistant.ingest()
    assert report.repaired
    assert not report.skipped
    assert sorted(assistant.manifest.documents()) == [f"policies/p{i:02d}.md" for i in range(count)]
    assert report.chunks_embedded <= count - rows_at_kill, (
        "chunks written before the kill are not embedded again"
    )
    assert_consistent(assistant)
    assert report.chunks_total == count

    third = assistant.ingest()
    assert third.chunks_embedded == 0 and not third.changed and not third.repaired
    assert len(third.unchanged) == count


def test_a_first_build_says_what_it_does_and_labels_its_progress(
    assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    assistant.ingest(progress=True)
    first = capsys.readouterr().err
    assert f"Building the index for {len(DOC_IDS)} documents..." in first, first
    assert "Embedding passages" in first and "Embedding sentences" in first, first
    assert "Batches" not in first, "an unlabelled progress bar is shown"
    assert first.index("Building the index") < first.index("Embedding passages")

    (assistant.settings.corpus_dir / "onboarding.md").write_text(
        "# Onboarding\n\nNew physician leaders meet every department chair in their first week.\n", "utf-8"
    )
    assistant.ingest(progress=True)
    assert "Updating the index for 1 document..." in capsys.readouterr().err

    assistant.ingest(progress=True)
    assert "index for" not in capsys.readouterr().err, "nothing to do is announced as work"
