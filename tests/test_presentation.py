"""What the web app shows, tested without a browser: escaping, markers, refusals, exports, uploads."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.errors import QuestionError
from assistant.ingest.uploads import safe_filename
from assistant.types import Answer, Citation, ClosestPassage
from assistant.web import presentation

HOSTILE = '<script>alert(1)</script> <img src=x onerror="alert(1)"> ![x](http://evil.example/x.png) [link](http://evil.example)'


def answer(text: str, answered: bool = True, passage: str = "Passage text. Supporting sentence.") -> Answer:
    citation = Citation(
        1,
        "policies/p.md",
        "Title <b>",
        "corpus/policies/p.md",
        "Policy > Rules",
        passage,
        ((14, 34),),
        0.7,
        "policy",
    )
    return Answer(
        "q", text, answered, (citation,) if answered else (), {"retrieve": 1.0, "generate": 2.0, "total": 3.0}
    )


def test_document_text_is_inert_in_sources_and_answers() -> None:
    shown = presentation.sources_html(answer(f"{HOSTILE} [1]", passage=HOSTILE))
    assert "<script>" not in shown and "<img" not in shown and "&lt;script&gt;" in shown
    chat = presentation.answer_markdown(answer(f"{HOSTILE} [1]"))
    assert "<script>" not in chat and "<img" not in chat
    assert "](http" not in chat  # markdown images and links cannot load or link anything
    assert "&lt;b&gt;" in shown  # titles are escaped too


def test_addresses_in_document_text_cannot_become_links_in_the_chat() -> None:
    text = "Reset it at https://evil.example/reset or www.evil.example, [form](javascript:alert(1)). [1]"
    chat = presentation.answer_markdown(answer(text))
    # the chat's Markdown renderer links "scheme:" and "www." text; neither is left, though it reads the same
    assert not re.search(r"(?i)(https?|javascript):|www\.", chat), chat
    assert html.unescape(chat).count("https://evil.example/reset") == 1
    assert "javascript:alert(1)" in html.unescape(chat) and "www.evil.example" in html.unescape(chat)


def test_markers_become_links_to_their_source_cards() -> None:
    chat = presentation.answer_markdown(answer("A sentence. [1]"))
    assert 'class="cmo-cite" data-marker="1" href="#source-1"' in chat
    assert "id='source-1'" in presentation.sources_html(answer("A sentence. [1]"))


def test_supporting_sentences_are_highlighted() -> None:
    shown = presentation.sources_html(answer("x [1]"))
    assert "<mark>Supporting sentence.</mark>" in shown


def test_a_refusal_shows_the_nearest_sections_as_passages_not_citations() -> None:
    near = ClosestPassage("policies/p.md", "Leave <b>", "Length of Leave > Limits", HOSTILE, 0.5, "policy")
    refusal = replace(answer("I can't answer that.", answered=False), closest=(near,))
    chat = presentation.answer_markdown(refusal)
    assert 'class="cmo-refusal"' in chat
    assert "The nearest the sources come: Leave &lt;b&gt; &rsaquo; Length of Leave &rsaquo; Limits." in chat
    panel = presentation.sources_html(refusal)
    assert "do not answer this question" in panel and "id='closest-1'" in panel
    assert "cmo-marker'>[" not in panel  # not cited: no marker
    assert "<script>" not in panel and "&lt;script&gt;" in panel


def test_a_kept_conversation_lists_the_nearest_sections_of_a_refusal() -> None:
    near = ClosestPassage("policies/leave.pdf", "Leave", "Length of Leave", "x", 0.5, "policy")
    refusal = replace(answer("I can't answer that.", answered=False), closest=(near,))
    kept = presentation.conversation_markdown([("how much bereavement leave?", refusal)])
    assert "The nearest the sources come:\n- Leave, Length of Leave (policies/leave.pdf)" in kept


def test_a_first_heading_that_repeats_the_title_is_not_shown_twice() -> None:
    near = ClosestPassage(
        "p.docx", "On-Call Coverage", "On-Call Coverage > Related Policies", "x", 0.5, "policy"
    )
    refusal = replace(answer("I can't answer that.", answered=False), closest=(near,))
    assert "The nearest the sources come: On-Call Coverage &rsaquo; Related Policies." in (
        presentation.answer_markdown(refusal)
    )
    assert "<div class='cmo-section'>Related Policies</div>" in presentation.sources_html(refusal)


def test_refusal_looks_different_from_an_answer() -> None:
    refusal = presentation.answer_markdown(answer("I can't answer that.", answered=False))
    assert 'class="cmo-refusal"' in refusal
    assert "cmo-refusal" not in presentation.answer_markdown(answer("An answer. [1]"))
    assert "do not cover" in presentation.sources_html(answer("no", answered=False))


def test_conversation_export_keeps_citations() -> None:
    text = presentation.conversation_markdown([("What is it?", answer("It is. [1]"))])
    assert "**Question:** What is it?" in text and "It is. [1]" in text
    assert "[1] Title <b>, Policy > Rules (policies/p.md)" in text and "Supporting sentence." in text


def test_document_view_is_escaped() -> None:
    shown = presentation.document_html("T", HOSTILE)
    assert "<script>" not in shown and "&lt;script&gt;" in shown


#: every element a document may be shown with: formatting only, nothing that links, loads or runs
DOCUMENT_TAGS = frozenset(
    {
        "article",
        "section",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "ul",
        "ol",
        "li",
        "blockquote",
        "strong",
        "em",
    }
)


def test_document_view_is_formatted_from_its_markdown_and_stays_inert() -> None:
    text = (
        "## Purpose\n\nThis policy sets <b>rules</b>.\nSecond line.\n\n### Steps\n"
        f"- Report the event\n- Tell the {HOSTILE}\n  and the manager\n\n1. First\n2. Second\n\n"
        "> An example policy.\n\nThe **CMO** decides; *always* in 2 * 3 hours <em>.\n"
    )
    shown = presentation.document_html("Safety <i>Reporting</i>", text)
    assert "## Purpose" not in shown, "a Markdown heading is shown raw"
    assert "<h2>Safety &lt;i&gt;Reporting&lt;/i&gt;</h2>" in shown
    assert "<h4>Purpose</h4>" in shown and "<h5>Steps</h5>" in shown
    assert "<p>This policy sets &lt;b&gt;rules&lt;/b&gt;.<br>Second line.</p>" in shown
    items = re.findall(r"<li>(.*?)</li>", shown)
    assert (
        items[0] == "Report the event"
        and items[1].endswith("and the manager")
        and items[2:] == ["First", "Second"]
    )
    assert "<ul>" in shown and "<ol>" in shown
    assert "<blockquote>An example policy.</blockquote>" in shown
    assert "<p>The <strong>CMO</strong> decides; <em>always</em> in 2 * 3 hours &lt;em&gt;.</p>" in shown
    assert "<script>" not in shown and "<img" not in shown and "&lt;script&gt;" in shown
    tags = set(re.findall(r"</?([a-z0-9]+)", shown))
    assert tags <= DOCUMENT_TAGS, tags


def test_a_document_with_pages_is_shown_page_by_page_in_order() -> None:
    pages = [
        "## 1. Purpose\n\nBadges are returned and lost ones reported to",
        f"security within one hour. {HOSTILE}",
        "",
    ]
    shown = presentation.document_html("Visitor Badges", "the whole text, not shown", pages)
    assert "the whole text" not in shown
    sections = re.findall(r"<section class='cmo-page'>(.*?)</section>", shown)
    assert [re.search(r"<h3[^>]*>(.*?)</h3>", s).group(1) for s in sections] == [  # type: ignore[union-attr]
        "Page 1 of 3",
        "Page 2 of 3",
        "Page 3 of 3",
    ]
    assert "<h5>1. Purpose</h5>" in sections[0]  # below its page's heading
    assert "<p>security within one hour. " in sections[1] and "&lt;script&gt;" in sections[1]
    assert "No text on this page." in sections[2]
    tags = set(re.findall(r"</?([a-z0-9]+)", shown))
    assert tags <= DOCUMENT_TAGS, tags


def test_document_list_filter_matches_every_word_of_title_kind_or_id() -> None:
    stats = {
        "per_document": [
            {"title": "Peer Review", "kind": "policy", "chunks": 3, "doc_id": "policies/qm-201.md"},
            {"title": "What Does a CMO Do?", "kind": "article", "chunks": 5, "doc_id": "sources/cmo.md"},
        ]
    }
    assert len(presentation.document_rows(stats)) == 2
    assert [r[0] for r in presentation.document_rows(stats, "  PEER  ")] == ["Peer Review"]
    assert [r[0] for r in presentation.document_rows(stats, "article cmo")] == ["What Does a CMO Do?"]
    assert [r[0] for r in presentation.document_rows(stats, "qm-201")] == ["Peer Review"]
    assert presentation.document_rows(stats, "peer article") == []


def test_markers_are_labelled_with_their_source_for_screen_readers() -> None:
    chat = presentation.answer_markdown(answer("A sentence. [1]"))
    assert 'aria-label="Source 1: Title &lt;b&gt;"' in chat
    assert ">[1]</a>" in chat


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\x\\policy.docx", "policy.docx"),
        (".hidden.md", "hidden.md"),
        ("<script>.html", "_script_.html"),
        ("..", "document"),
    ],
)
def test_upload_names_cannot_leave_the_uploads_folder(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.slow
def test_upload_is_answerable_at_once_and_removal_forgets_it(make_assistant) -> None:
    assistant = make_assistant()
    (assistant.settings.corpus_dir / "base.md").write_text(
        "# Base\n\nThe Credentials Committee meets monthly.\n"
    )
    assistant.ingest()
    report = assistant.add_document(
        "../parking.md", b"# Parking\n\nOn-call physicians park in Garage B on level 2.\n"
    )
    assert "uploads/parking.md" in report.added
    assert (assistant.settings.uploads_dir / "parking.md").is_file()
    found = assistant.ask("Where do on-call physicians park?")
    assert found.answered and found.citations[0].doc_id == "uploads/parking.md"
    assistant.remove_document("uploads/parking.md")
    assert "uploads/parking.md" not in assistant.manifest.documents()
    with pytest.raises(QuestionError, match="only uploads"):
        assistant.remove_document("base.md")
    with pytest.raises(QuestionError, match="unsupported file type"):
        assistant.add_document("x.exe", b"MZ")
    with pytest.raises(QuestionError, match="empty"):
        assistant.add_document("empty.md", b"   ")


def test_conversation_download_is_written_in_the_data_dir_and_old_ones_are_removed(tmp_path: Path) -> None:
    import os
    import tempfile

    from assistant.web.ui import EXPORT_MAX_AGE_S, _export

    folder = tmp_path / "data" / "gradio" / "exports"
    folder.mkdir(parents=True)
    stale = folder / "cmo-conversation-old.md"
    stale.write_text("an earlier download", encoding="utf-8")
    os.utime(stale, (0, 0))
    recent = folder / "cmo-conversation-recent.md"
    recent.write_text("a download a minute ago", encoding="utf-8")
    history = [{"role": "user", "content": "What does a CMO do?"}, {"role": "assistant", "content": "x"}]
    shared_before = set(Path(tempfile.gettempdir()).glob("cmo-conversation-*"))

    written = Path(_export({1: answer("A CMO leads [1].")}, history, folder))

    assert written.parent == folder, "never the machine-wide temp folder"
    assert "What does a CMO do?" in written.read_text("utf-8")
    assert not stale.exists(), f"downloads older than {EXPORT_MAX_AGE_S} s are removed"
    assert recent.exists()
    assert set(Path(tempfile.gettempdir()).glob("cmo-conversation-*")) == shared_before
