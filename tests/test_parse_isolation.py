"""Documents are parsed in a worker process with a time and a memory limit per file (SECURITY.md, case 8): a
file that takes too long or needs too much memory to parse is stopped, reported by name with the setting that
allows more, and the rest of the batch is indexed. Real files: a PDF page of tens of thousands of glyphs (slow
to lay out), a PDF whose content stream inflates to hundreds of megabytes (a compression bomb)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from corpus_files import write_files

from assistant.pipeline import Assistant

pytestmark = pytest.mark.slow

PARKING = {"policies/parking.md": "# Parking\n\nThe CMO parks in lot seven next to the clinic entrance.\n"}


def pdf(content: bytes, filtered: bool = False) -> bytes:
    """A one-page PDF whose page draws ``content`` (a content stream, Flate-compressed when ``filtered``)."""
    stream = b"<< /Length %d%s >>\nstream\n" % (len(content), b" /Filter /FlateDecode" if filtered else b"")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def many_glyphs(count: int) -> bytes:
    """A page of ``count`` separately placed glyph pairs: small on disk, slow for any layout analysis."""
    return pdf(b"BT /F1 6 Tf 10 10 Td " + b" ".join(b"(ab) Tj 1 0 Td" for _ in range(count)) + b" ET")


def inflating_to(megabytes: int) -> bytes:
    """A PDF of about 1/1000 of ``megabytes`` whose content stream inflates to that many megabytes."""
    packer = zlib.compressobj(1)
    block = b" " * (1 << 20)
    body = b"".join(packer.compress(block) for _ in range(megabytes))
    body += packer.compress(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET") + packer.flush()
    return pdf(body, filtered=True)


def ingest_with(make_assistant, files: dict[str, bytes], **settings: object) -> tuple[Assistant, dict]:
    assistant = make_assistant(**settings)
    write_files(assistant.settings.corpus_dir, PARKING)
    for name, data in files.items():
        (assistant.settings.corpus_dir / name).write_bytes(data)
    report = assistant.ingest()
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert report.added == ["policies/parking.md"], report.summary()
    answer = assistant.ask("Where does the CMO park?")
    assert answer.answered and "lot seven" in answer.answer
    return assistant, skipped


def test_a_file_slower_to_parse_than_the_limit_is_stopped_by_name_and_the_batch_completes(
    make_assistant,
) -> None:
    files = {"policies/glyphs.pdf": many_glyphs(40_000), "policies/glyphs-again.pdf": many_glyphs(40_001)}
    _, skipped = ingest_with(make_assistant, files, parse_timeout_s=2.0)
    for name in ("glyphs.pdf", "glyphs-again.pdf"):  # the worker is replaced after the first is stopped
        assert "took longer than 2 s, so it was stopped" in skipped[name], skipped
        assert "CMO_ASSISTANT_PARSE_TIMEOUT_S" in skipped[name]


def test_a_file_needing_more_memory_than_the_limit_is_stopped_by_name_and_the_batch_completes(
    make_assistant,
) -> None:
    files = {"policies/bomb.pdf": inflating_to(400)}
    assert len(files["policies/bomb.pdf"]) < 2 * 1024 * 1024
    _, skipped = ingest_with(make_assistant, files, parse_memory_mb=256)
    assert "needed more than the 256 MB of memory" in skipped["bomb.pdf"], skipped
    assert "CMO_ASSISTANT_PARSE_MEMORY_MB" in skipped["bomb.pdf"]
