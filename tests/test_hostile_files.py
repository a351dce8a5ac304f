"""Files written to attack the ingest: symlinks out of a source folder, a YAML alias bomb in front matter, .docx zip
bombs and broken XML, a megabyte on one line, and a reader that fails in an unexpected way.

Each hostile file is made here, in tmp_path; each test fails on the code before the fix (see SECURITY.md).
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.errors import DocumentError, QuestionError
from assistant.ingest import readers
from assistant.ingest.catalog import document_text
from assistant.ingest.chunking import Chunker
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.ingest.readers import SourceFile, discover, load, read_bytes
from assistant.ingest.sources import SourceList
from assistant.search.embeddings import Embedder
from assistant.types import Document

POLICY = "# Visitor Badges\n\nVisitors wear a badge at all times.\n"


def source(path: Path, root: Path | None = None) -> SourceFile:
    root = root or path.parent
    return SourceFile(path, root, path.relative_to(root).as_posix())


# -- 1. symlinks ---------------------------------------------------------------------------------------------
@pytest.fixture()
def linked_folder(tmp_path: Path) -> Path:
    """A source folder with one real policy and links to a file and a folder outside it, to /etc/passwd, to a
    device and to a named pipe."""
    root = tmp_path / "policies-src"
    outside = tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    (outside / "secrets").mkdir(parents=True)
    (root / "badges.md").write_text(POLICY)
    (root / "sub" / "inner.md").write_text(POLICY)
    (outside / "salaries.md").write_text("# Salaries\n\nThe CMO earns a secret amount.\n")
    (outside / "secrets" / "keys.md").write_text("# Keys\n\nThe master key is under the mat.\n")
    (root / "salaries.md").symlink_to(outside / "salaries.md")
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "null.md").symlink_to("/dev/null")
    (root / "secrets").symlink_to(outside / "secrets", target_is_directory=True)
    (root / "escape.md").symlink_to(Path("..") / "outside" / "salaries.md")  # relative, climbing out
    os.mkfifo(root / "pipe-target")
    (root / "pipe.md").symlink_to(root / "pipe-target")  # a link to a special file inside the folder
    (root / "loop.md").symlink_to(root / "loop.md")  # a link to itself
    (root / "same.md").symlink_to(root / "sub" / "inner.md")  # inside the folder: still indexed
    return root


def test_discover_never_leaves_its_root(linked_folder: Path, tmp_path: Path) -> None:
    found = {s.doc_id for s in discover([linked_folder], tmp_path / "corpus")}
    assert found == {"policies-src/badges.md", "policies-src/same.md", "policies-src/sub/inner.md"}


def test_discover_skips_links_out_of_a_symlinked_root_too(linked_folder: Path, tmp_path: Path) -> None:
    """The root itself given through a link: its files are inside its real location, links out still are not."""
    alias = tmp_path / "alias"
    alias.symlink_to(linked_folder, target_is_directory=True)
    found = {s.doc_id for s in discover([alias], tmp_path / "corpus")}
    assert found == {"alias/badges.md", "alias/same.md", "alias/sub/inner.md"}


@pytest.fixture()
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


def record(settings: Settings, doc_id: str, path: Path) -> Manifest:
    manifest = Manifest(settings.manifest_path)
    manifest.put(DocumentRecord(doc_id, doc_id, "policy", str(path), "0" * 64, (f"{doc_id}#1",), 1.0))
    return manifest


def test_document_text_refuses_a_file_outside_the_mirrored_folders(
    settings: Settings, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "salaries.md"
    secret.parent.mkdir()
    secret.write_text("# Salaries\n\nThe CMO earns a secret amount.\n")
    manifest = record(settings, "policies/salaries.md", secret)
    with pytest.raises(QuestionError, match="outside the folders the index mirrors"):
        document_text(settings, manifest, "policies/salaries.md")


def test_document_text_refuses_a_link_in_the_corpus_to_a_file_outside(
    settings: Settings, tmp_path: Path
) -> None:
    link = settings.corpus_dir / "policies" / "passwd.md"
    link.parent.mkdir(parents=True)
    link.symlink_to("/etc/passwd")
    manifest = record(settings, "policies/passwd.md", link)
    with pytest.raises(QuestionError, match="outside the folders the index mirrors"):
        document_text(settings, manifest, "policies/passwd.md")


def test_document_text_reads_a_file_in_a_remembered_folder(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "my-policies"
    folder.mkdir()
    (folder / "badges.md").write_text(POLICY)
    SourceList(settings.data_dir).update(add=[folder])
    manifest = record(settings, "my-policies/badges.md", folder / "badges.md")
    assert document_text(settings, manifest, "my-policies/badges.md") == ("Visitor Badges", POLICY)


# -- 2. YAML alias bomb ---------------------------------------------------------------------------------------
def alias_bomb(levels: int = 9) -> str:
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for i in range(1, levels):
        refs = ",".join(f"*{names[i - 1]}" for _ in range(9))
        lines.append(f"{names[i]}: &{names[i]} [{refs}]")
    return "\n".join(lines)


def test_front_matter_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600  # a few hundred bytes that would expand to 9**9 (387 million) strings
    path = tmp_path / "bomb.md"
    path.write_text(f"---\n{bomb}\ntitle: Bomb\n---\n# Bomb\n\nText.\n")
    started = time.perf_counter()
    with pytest.raises(DocumentError, match="aliases"):
        load(source(path), read_bytes(source(path), 10_000_000))
    assert time.perf_counter() - started < 5  # refused at the first anchor, nothing is expanded


def test_front_matter_with_a_single_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "alias.md"
    path.write_text("---\nowner: &o CMO office\nreviewer: *o\n---\n# Alias\n\nText.\n")
    with pytest.raises(DocumentError, match="aliases"):
        load(source(path), path.read_bytes())


def test_plain_front_matter_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("---\ntitle: Badges\nkind: policy\nowner: CMO office\n---\n# Visitor Badges\n\nText.\n")
    doc = load(source(path), path.read_bytes())
    assert (doc.title, doc.kind, doc.metadata) == ("Badges", "policy", {"owner": "CMO office"})


# -- 3. .docx zip bombs and broken XML ------------------------------------------------------------------------
def docx_bytes(extra: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    """A real .docx (python-docx), with members added or replaced."""
    import docx

    document = docx.Document()
    document.add_heading("Visitor Badges", 1)
    document.add_paragraph("Visitors wear a badge at all times.")
    buffer = io.BytesIO()
    document.save(buffer)
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, replace.get(item.filename, src.read(item.filename)))
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def read_docx(tmp_path: Path, data: bytes) -> Document:
    path = tmp_path / "hostile.docx"
    path.write_bytes(data)
    return load(source(path), read_bytes(source(path), 100 * 1024 * 1024))


def test_a_valid_docx_still_reads(tmp_path: Path) -> None:
    doc = read_docx(tmp_path, docx_bytes())
    assert doc.title == "Visitor Badges"
    assert "Visitors wear a badge" in doc.text


def test_a_docx_that_unpacks_to_too_much_is_refused(tmp_path: Path) -> None:
    data = docx_bytes(extra={"word/media/image1.png": bytes(60 * 1024 * 1024)})
    assert len(data) < 1024 * 1024  # under a megabyte on disk, 60 MB unpacked
    with pytest.raises(DocumentError, match=r"unpack to 6\d MB, above the 50 MB limit"):
        read_docx(tmp_path, data)


def test_a_docx_member_compressed_too_much_is_refused(tmp_path: Path) -> None:
    data = docx_bytes(extra={"word/media/image1.png": bytes(8 * 1024 * 1024)})
    with pytest.raises(DocumentError, match=r"image1\.png is compressed \d+ times"):
        read_docx(tmp_path, data)


def test_a_docx_with_malformed_xml_is_a_document_error(tmp_path: Path) -> None:
    data = docx_bytes(replace={"word/document.xml": b"<w:document><w:body><w:p>unclosed"})
    with pytest.raises(DocumentError, match=r"not a valid \.docx file"):
        read_docx(tmp_path, data)


# -- 4. one megabyte on one line -------------------------------------------------------------------------------
class CountingCounter:
    """The real token counter, counting how many characters it is asked to tokenize."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.chars = 0

    def __call__(self, texts: Sequence[str]) -> list[int]:
        self.chars += sum(len(t) for t in texts)
        return self.embedder.count_tokens(texts)


def one_line(size: int) -> str:
    words = ("policy", "leave", "badge", "visitor", "escalation", "x1", "department", "chair")
    text = " ".join(words[i % len(words)] + str(i % 7) for i in range(size // 6))
    return text[:size]


def chunk_seconds(counter: CountingCounter, text: str) -> float:
    doc = Document(
        doc_id="long.md", title="Long", kind="policy", source_path="long.md", text=text, sha256="x"
    )
    started = time.perf_counter()
    chunks = Chunker(counter, 160, 32).split(doc)
    elapsed = time.perf_counter() - started
    assert chunks and all(c.text == text[c.start : c.end] for c in chunks)
    return elapsed


def heading_of_spaces(size: int) -> str:
    return "# a" + " " * size + "b\n\nBody text."


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(one_line, id="words-no-sentence-break"),
        pytest.param(heading_of_spaces, id="heading-of-spaces"),
    ],
)
def test_chunking_a_megabyte_on_one_line_tokenizes_each_character_a_few_times(
    embedder: Embedder, make: Callable[[int], str]
) -> None:
    """The old cutter re-counted the growing piece after every word: hundreds of times the text's length.

    A count of the work, not a clock: how the time grows with the size is a figure of benchmarks/ingest.py."""
    counter = CountingCounter(embedder)
    text = make(1024 * 1024)
    chunk_seconds(counter, text)
    assert counter.chars < 8 * len(text), counter.chars / len(text)


# -- 5. any failure inside a reader is a DocumentError -------------------------------------------------------
@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), RecursionError(), MemoryError(), AttributeError("x")]
)
def test_an_unexpected_reader_failure_is_a_document_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def broken(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
        raise error

    monkeypatch.setitem(readers.READERS, ".md", broken)
    path = tmp_path / "broken.md"
    path.write_text(POLICY)
    with pytest.raises(DocumentError) as caught:
        load(source(path), path.read_bytes())
    assert caught.value.path == str(path)
    assert caught.value.reason.startswith(f"could not be read ({error.__class__.__name__}")


def test_a_reader_document_error_is_kept_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "binary.md"
    path.write_bytes(b"# Title\x00\x00 binary")
    with pytest.raises(DocumentError, match="contains NUL bytes"):
        load(source(path), path.read_bytes())


def test_sentence_splitting_time_grows_linearly_on_one_line_of_abbreviations() -> None:
    """Each skipped abbreviation used to copy the growing sentence: 4x the text took 16x the time."""
    import time

    from assistant.ingest.sentences import sentence_spans

    def cost(repeats: int) -> float:
        started = time.perf_counter()
        sentence_spans("e.g. Word " * repeats)
        return time.perf_counter() - started

    # the best of three runs each, so that a busy machine does not decide it; linear ~4x, the old copy 16x
    small = min(cost(25_000) for _ in range(3))
    large = min(cost(100_000) for _ in range(3))
    assert large < 10 * max(small, 0.005), (small, large)
