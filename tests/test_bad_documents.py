"""Documents that cannot be indexed, ingested together with good ones, and uploads with hostile names.

Every bad file is reported by name with the reason and skipped, the rest of the batch is indexed, and the index
stays consistent: the store holds exactly the chunks the manifest lists, no chunk without its document and no
document without its chunks. Uploads are saved under a sanitised name inside the uploads folder; an upload that
cannot be indexed is refused with the reason and nothing is written. (Each reader's refusals are unit-tested in
test_corpus.py; incremental behaviour in test_indexing.py.)
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter
from test_corpus import make_pdf

from assistant.errors import QuestionError
from assistant.pipeline import Assistant

pytestmark = pytest.mark.slow

LIMIT_MB = 0.05  # about 52 KB (a .docx is about 37 KB), so an oversized file is cheap to write
LEAVE = "# Parental Leave\n\nParental leave lasts twelve weeks for every employee after ninety days.\n"


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Confidential peer review minutes."]))))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_of(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, text)
    return out.getvalue()


def good_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Badge Policy", level=1)
    document.add_paragraph("Visitors to the intensive care unit wear an orange badge from the front desk.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


CUT_PDF = make_pdf(["Peer review is confidential."])[:300]
# file name -> (bytes, what the reason must say)
BAD: dict[str, tuple[bytes, str]] = {
    "empty.md": (b"", "file is empty"),
    "blank.txt": (b" \n\t\r\n ", "file is empty"),
    "photo.txt": (
        b"GIF89a\x01\x00\x01\x00\x00\xff\x00,binary",
        "binary file, not text (it contains NUL bytes)",
    ),
    "latin1.md": ("Caf\xe9 hours policy".encode("latin-1"), "is not UTF-8 text (invalid byte at position 3)"),
    "truncated.pdf": (CUT_PDF, "PDF could not be read"),
    "locked.pdf": (encrypted_pdf(), "PDF is encrypted; save an unencrypted copy"),
    "scanned.pdf": (make_pdf([]), "no text could be extracted"),
    "archive.docx": (zip_of("notes.txt", "not a word document"), "not a valid .docx file"),
    "plain.docx": (b"plain text saved with a .docx name", "not a valid .docx file"),
    "only-script.html": (b"<html><script>alert(1)</script></html>", "no text could be extracted"),
    "bad-front-matter.md": (b"---\ntitle: [unclosed\n---\nText.\n", "front matter is not valid YAML"),
    "oversized.md": (b"# Big\n\n" + b"word " * 13000, "raise CMO_ASSISTANT_MAX_FILE_MB"),
    "chart.png": (b"\x89PNG\r\n\x1a\n\x00\x00", "unsupported file type .png"),
}
GOOD: dict[str, bytes] = {
    "leave.md": LEAVE.encode(),
    "parking.txt": b"On-call physicians park in Garage B on level two after 10 pm.\n",
    "peer-review.pdf": make_pdf(["Peer review cases are assigned within ten days."]),
    "badge.docx": good_docx(),
    "lockers.html": b"<html><body><h1>Lockers</h1><p>Night staff lockers are on level three.</p></body></html>",
    # odd but legal names in a source folder: indexed under their own (visible) names
    "\u202efdp.md": b"# Scrubs\n\nScrub colours are assigned by department.\n",
    "zero\u200bwidth.md": b"# Pagers\n\nPagers are returned to the switchboard at shift end.\n",
    "cafe\u0301.md": b"# Cafe Hours\n\nThe level 1 cafe opens at six in the morning.\n",  # NFD
    "caf\u00e9.md": b"# Cafe Menu\n\nThe cafe menu changes every Monday.\n",  # NFC, another file
    "\U0001fa7a kit.md": b"# Stethoscopes\n\nStethoscopes are wiped with alcohol between patients.\n",
}
DUPLICATE = "copy-of-leave.md"  # same bytes as leave.md


def write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def assert_consistent(assistant: Assistant) -> None:
    """No chunk without a document, no document without its chunks, no unit vectors left over."""
    manifest = {doc_id: set(r.chunk_ids) for doc_id, r in assistant.manifest.documents().items()}
    assert all(manifest.values()), [d for d, ids in manifest.items() if not ids]
    assert assistant.store.doc_chunk_ids() == manifest
    assert assistant.store.unit_chunk_ids() == assistant.store.ids()


@pytest.fixture()
def batch(make_assistant) -> Assistant:
    assistant = make_assistant(max_file_mb=LIMIT_MB)
    write(
        assistant.settings.corpus_dir,
        {**GOOD, **{n: d for n, (d, _) in BAD.items()}, DUPLICATE: LEAVE.encode()},
    )
    return assistant


def test_a_batch_with_every_kind_of_bad_file_indexes_the_rest_and_stays_consistent(batch: Assistant) -> None:
    corpus = batch.settings.corpus_dir
    report = batch.ingest()

    skipped = dict(report.skipped)
    assert set(skipped) == {str(corpus / name) for name in BAD}
    for name, (_, reason) in BAD.items():
        assert reason in skipped[str(corpus / name)], (name, skipped[str(corpus / name)])
        assert f"skipped {corpus / name}: " in report.summary()
    assert report.partial  # the CLI exits 3
    duplicates = dict(report.duplicates)
    (copy,) = [path for path in duplicates if Path(path).name in (DUPLICATE, "leave.md")]
    assert "same content as" in duplicates[copy]

    indexed = set(batch.manifest.documents())
    assert indexed == (set(GOOD) | {DUPLICATE}) - {Path(copy).name}
    assert not indexed & set(BAD)
    assert len({unicodedata.normalize("NFC", d) for d in indexed}) == len(indexed) - 1  # two café.md files
    assert_consistent(batch)

    answer = batch.ask("How long does parental leave last?")
    assert answer.answered and answer.citations[0].doc_id in ("leave.md", DUPLICATE)
    answer = batch.ask("Where do on-call physicians park?")
    assert answer.answered and answer.citations[0].doc_id == "parking.txt"

    again = batch.ingest()  # the bad files are still there: reported again, nothing re-embedded
    assert dict(again.skipped) == skipped
    assert again.chunks_embedded == 0 and not again.added and not again.removed
    assert_consistent(batch)


# -- uploads ----------------------------------------------------------------------------------------------------
@pytest.fixture()
def uploader(make_assistant) -> Assistant:
    assistant = make_assistant(max_file_mb=LIMIT_MB)
    write(assistant.settings.corpus_dir, {"leave.md": LEAVE.encode()})
    assistant.ingest()
    return assistant


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        ("../../../etc/cron.d/parking.md", "parking.md"),
        ("..\\..\\Windows\\parking.md", "parking.md"),
        ("/var/lib/parking.md", "parking.md"),
        ("parking\u202edm.txt", "parking_dm.txt"),  # RTL override: would display as "parkingtxt.md"
        ("park\u200bing.md", "park_ing.md"),
        ("cafe\u0301-parking.md", "caf\u00e9-parking.md"),  # combining accent -> NFC
        ("\U0001f697 parking.md", "_ parking.md"),
    ],
    ids=["dot-dot", "backslashes", "absolute", "rtl-override", "zero-width", "nfd", "emoji"],
)
def test_upload_with_a_hostile_or_odd_name_is_saved_inside_uploads_under_a_clean_name(
    uploader: Assistant, name: str, saved: str
) -> None:
    report = uploader.add_document(name, b"# Parking\n\nOn-call physicians park in Garage B on level two.\n")
    uploads = uploader.settings.uploads_dir
    assert sorted(p.name for p in uploads.iterdir()) == [saved]
    assert report.added == [f"uploads/{saved}"] and not report.skipped
    assert not list(uploader.settings.data_dir.parent.glob("**/cron.d"))
    answer = uploader.ask("Where do on-call physicians park?")
    assert answer.answered and answer.citations[0].doc_id == f"uploads/{saved}"
    assert_consistent(uploader)


def test_nfd_and_nfc_spellings_of_one_upload_name_are_one_document(uploader: Assistant) -> None:
    uploader.add_document("cafe\u0301.md", b"# Cafe\n\nThe cafe opens at six.\n")
    report = uploader.add_document("caf\u00e9.md", b"# Cafe\n\nThe cafe opens at seven.\n")
    assert report.updated == ["uploads/caf\u00e9.md"] and not report.added
    assert [p.name for p in uploader.settings.uploads_dir.iterdir()] == ["caf\u00e9.md"]
    assert_consistent(uploader)


UPLOAD_REFUSED = {
    name: BAD[name]
    for name in ("truncated.pdf", "locked.pdf", "scanned.pdf", "archive.docx", "photo.txt", "latin1.md")
}


@pytest.mark.parametrize("name", sorted(UPLOAD_REFUSED))
def test_upload_that_cannot_be_indexed_is_refused_with_the_reason_and_not_kept(
    uploader: Assistant, name: str
) -> None:
    data, reason = UPLOAD_REFUSED[name]
    with pytest.raises(QuestionError, match=r"^" + name) as raised:
        uploader.add_document(name, data)
    assert reason in str(raised.value)
    assert not uploader.settings.uploads_dir.exists() or not any(uploader.settings.uploads_dir.iterdir())
    later = uploader.ingest()  # nothing left behind to fail every later ingest
    assert not later.skipped and not later.partial
    assert_consistent(uploader)


def test_oversized_empty_or_duplicate_upload_is_refused_and_nothing_is_written(uploader: Assistant) -> None:
    refused = {
        "big.md": (BAD["oversized.md"][0], f"above the {LIMIT_MB:g} MB limit"),
        "empty.md": (b"  \n", "empty"),
        "leave-copy.md": (LEAVE.encode(), "same content as leave.md, which is indexed already"),
        "script.exe": (b"MZ\x90\x00", "unsupported file type"),
    }
    for name, (data, message) in refused.items():
        with pytest.raises(QuestionError) as raised:
            uploader.add_document(name, data)
        assert message in str(raised.value), str(raised.value)
    assert not uploader.settings.uploads_dir.exists() or not any(uploader.settings.uploads_dir.iterdir())
    assert set(uploader.manifest.documents()) == {"leave.md"}
    # uploading the same file again under its own name is not a duplicate
    uploader.add_document("parking.md", b"# Parking\n\nGarage B, level two.\n")
    assert uploader.add_document("parking.md", b"# Parking\n\nGarage B, level two.\n").unchanged
    assert_consistent(uploader)
