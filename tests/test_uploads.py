"""The uploads folder: safe names, what is refused (and then nothing is written), what can be removed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import QuestionError
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.ingest.uploads import UploadFolder, safe_filename

POLICY = b"# Badge Policy\n\nVisitors wear a green badge in every clinical area.\n"


# -- safe_filename -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("leave.md", "leave.md"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\cmo\\report.pdf", "report.pdf"),
        (".hidden.md", "hidden.md"),
        ("a<b>:c?.md", "a_b_c_.md"),
        ("my policy (v2).docx", "my policy _v2_.docx"),
        ("", "document"),
        ("...", "document"),
        ("noext", "noext"),
    ],
)
def test_safe_filename(given: str, safe: str) -> None:
    assert safe_filename(given) == safe


def test_safe_filename_is_nfc_normalised() -> None:
    assert safe_filename("Re\u0301sume\u0301.md") == "R\u00e9sum\u00e9.md"


def test_a_long_name_is_cut_to_120_characters_keeping_its_suffix() -> None:
    name = safe_filename("x" * 300 + ".pdf")
    assert len(name) == 120
    assert name.endswith("x.pdf")


# -- save ----------------------------------------------------------------------------------------------------
@pytest.fixture()
def settings(make_settings) -> Settings:
    return make_settings(max_file_mb=0.01)


@pytest.fixture()
def manifest(settings: Settings) -> Manifest:
    return Manifest(settings.manifest_path)


@pytest.fixture()
def uploads(settings: Settings, manifest: Manifest) -> UploadFolder:
    return UploadFolder(settings, manifest)


def saved_files(uploads: UploadFolder) -> list[str]:
    """Every file in the uploads folder, temp files included."""
    return sorted(p.name for p in uploads.folder.iterdir()) if uploads.folder.exists() else []


def test_a_good_document_is_saved_under_its_safe_name(uploads: UploadFolder, settings: Settings) -> None:
    path = uploads.save("../badges.md", POLICY)
    assert path == settings.uploads_dir / "badges.md"
    assert path.read_bytes() == POLICY
    assert saved_files(uploads) == ["badges.md"]


def test_saving_the_same_name_again_replaces_the_file(uploads: UploadFolder) -> None:
    uploads.save("badges.md", POLICY)
    uploads.save("badges.md", POLICY + b"\nBadges are returned at the desk.\n")
    assert b"returned at the desk" in (uploads.folder / "badges.md").read_bytes()
    assert saved_files(uploads) == ["badges.md"]


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("tool.exe", b"MZ binary", "unsupported file type"),
        ("notes", POLICY, "unsupported file type"),
        ("empty.md", b"  \n\t ", "empty"),
        ("huge.md", b"word " * 5000, "MB limit"),
        ("binary.md", b"# Title\x00\x00\x00 text", "binary"),
        ("latin1.txt", "Caf\u00e9 policy".encode("latin-1"), "not UTF-8"),
        ("broken.docx", b"not a zip archive", "not a valid .docx"),
        ("bad-front.md", b"---\nkind: memo\n---\n# Memo\n\nText.\n", "kind must be"),
    ],
)
def test_unacceptable_uploads_are_refused_and_nothing_is_written(
    uploads: UploadFolder, filename: str, data: bytes, reason: str
) -> None:
    with pytest.raises(QuestionError, match=reason):
        uploads.save(filename, data)
    assert saved_files(uploads) == []


def record_for(doc_id: str, source: Path, data: bytes) -> DocumentRecord:
    return DocumentRecord(
        doc_id, "Badges", "policy", str(source), hashlib.sha256(data).hexdigest(), ("c1",), 1.0
    )


def test_content_indexed_under_another_name_is_refused(
    uploads: UploadFolder, manifest: Manifest, settings: Settings
) -> None:
    existing = settings.corpus_dir / "policies" / "badges.md"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(POLICY)
    manifest.put(record_for("policies/badges.md", existing, POLICY))
    with pytest.raises(QuestionError, match=r"same content as policies/badges\.md"):
        uploads.save("copy-of-badges.md", POLICY)
    assert saved_files(uploads) == []


def test_content_whose_indexed_file_is_gone_can_be_uploaded(
    uploads: UploadFolder, manifest: Manifest, settings: Settings
) -> None:
    manifest.put(record_for("policies/badges.md", settings.corpus_dir / "policies" / "badges.md", POLICY))
    uploads.save("badges.md", POLICY)
    assert saved_files(uploads) == ["badges.md"]


def test_reuploading_an_upload_under_its_own_name_is_not_a_duplicate(
    uploads: UploadFolder, manifest: Manifest
) -> None:
    path = uploads.save("badges.md", POLICY)
    manifest.put(record_for("uploads/badges.md", path, POLICY))
    uploads.save("badges.md", POLICY)
    assert saved_files(uploads) == ["badges.md"]


# -- remove --------------------------------------------------------------------------------------------------
def test_an_upload_can_be_removed(uploads: UploadFolder) -> None:
    uploads.save("badges.md", POLICY)
    uploads.remove("uploads/badges.md")
    assert saved_files(uploads) == []


@pytest.mark.parametrize(
    "doc_id",
    [
        "policies/badges.md",  # a corpus document
        "badges.md",
        "uploads/missing.md",
        "uploads/../manifest.sqlite3",
        "uploads/../../corpus/policies/badges.md",  # an existing file outside the folder
        "uploads/",
    ],
)
def test_only_uploads_can_be_removed(
    uploads: UploadFolder, manifest: Manifest, settings: Settings, doc_id: str
) -> None:
    corpus_file = settings.corpus_dir / "policies" / "badges.md"
    corpus_file.parent.mkdir(parents=True)
    corpus_file.write_bytes(POLICY)
    manifest.put(record_for("policies/badges.md", corpus_file, POLICY))
    uploads.save("other.md", b"# Other\n\nSomething else entirely.\n")
    with pytest.raises(QuestionError, match="not an uploaded document"):
        uploads.remove(doc_id)
    assert corpus_file.exists()
    assert settings.manifest_path.exists()
    assert saved_files(uploads) == ["other.md"]
