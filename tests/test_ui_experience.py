"""The web app as a new user meets it, in a real headless Chromium at desktop size (1366x768) and on a phone
(390x844): the first screen, citations that keep the answer in view, a live answer with Stop, ratings with their
conversation, the Documents tab, roles and sign-out, and axe-core's accessibility check.

One open app and one app with sign-in (a users file) per module; each test opens a fresh page at each size.
Screenshots for the README: docs/screenshot-desktop.png and docs/screenshot-phone.png (an answer, a marker
clicked, its passage shown).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import docx
import pytest
from app_process import PROJECT_ROOT, AppServer, serve
from browser import (
    DESKTOP,
    PHONE,
    QUESTION_BOX,
    UI_TIMEOUT_MS,
    ask,
    bot_messages,
    box_of,
    inside_viewport,
    launched_browser,
    serious_violations,
    wait_for_answer,
)
from playwright.sync_api import Browser, Locator, Page, expect
from users_files import accounts_file

pytestmark = pytest.mark.slow

SIZES = {"desktop": DESKTOP, "phone": PHONE}
SCREENSHOTS = PROJECT_ROOT / "docs"
SETTLE_MS = 500
COMPARISON = "How is a hospital CMO different from an FQHC CMO?"
#: an answer of prose quoting two sources that fits on a phone's screen with the sheet open (a comparison is a
#: table, taller than a phone's screen; "what does a hospital CMO focus on?" now brings a paragraph's context)
TWO_SOURCES = "What does a hospital CMO do?"
USERS = {
    "admin": {"password": "a-long-password", "role": "admin"},
    "reader": {"password": "another-password", "role": "user"},
}


@pytest.fixture(scope="module")
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from serve(request, tmp_path_factory, "ui-experience")


@pytest.fixture(scope="module")
def secured_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    accounts = accounts_file(tmp_path_factory, "ui-experience", USERS)
    yield from serve(request, tmp_path_factory, "ui-experience-secured", users_file=accounts)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def new_page(browser: Browser, size: str) -> Iterator[Callable[[str], Page]]:
    """Opens a page at ``url`` in a fresh browser context of the test's screen size."""
    contexts = []

    def open_page(url: str) -> Page:
        context = browser.new_context(viewport=SIZES[size], accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(url, wait_until="load")  # never "networkidle": gradio keeps a connection open
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture()
def page(app: AppServer, new_page: Callable[[str], Page]) -> Page:
    """The open app, loaded and ready for a question."""
    opened = new_page(app.url + "/")
    opened.locator(QUESTION_BOX).first.wait_for(state="visible")
    return opened


def send_button(page: Page):
    return page.locator("#question").get_by_role("button", name="Send")


def stop_button(page: Page):
    return page.locator("#stop")


def assert_accessible(page: Page, where: str) -> None:
    """axe-core on the page once it has settled: while an event runs, Gradio lays a translucent bar over the
    component it updates (.eta-bar) or dims it (.pending), and text under either is measured at that contrast."""
    expect(page.locator(".eta-bar, .pending")).to_have_count(0, timeout=15_000)
    found = serious_violations(page)
    assert not found, f"axe-core finds serious or critical problems on {where}: {json.dumps(found, indent=1)}"


# --- the first screen ----------------------------------------------------------------------------------------


def test_first_screen_guides_and_a_starter_question_asks_it(page: Page) -> None:
    chat = page.locator("#chat")
    expect(chat).to_contain_text("Ask about the Chief Medical Officer role or your organization's policies")
    starters = chat.locator(".example")
    assert 4 <= starters.count() <= 6, starters.all_inner_texts()
    assert any("polic" in text.lower() for text in starters.all_inner_texts()), starters.all_inner_texts()
    assert inside_viewport(page, starters.first), "the starter questions are below the fold"
    expect(send_button(page)).to_be_visible()
    assert inside_viewport(page, send_button(page))
    expect(page.locator("#feedback-comment")).to_have_count(0)  # no comment box before any answer

    # Enter (or Send) on an empty box does nothing: no empty bubble, no error message.
    page.locator(QUESTION_BOX).first.press("Enter")
    send_button(page).click()
    page.wait_for_timeout(1000)
    expect(page.locator('#chat [data-testid="user"]')).to_have_count(0)
    expect(bot_messages(page)).to_have_count(0)
    expect(page.locator(".toast-body")).to_have_count(0)

    policy = starters.filter(has_text=re.compile("polic", re.I)).first
    asked = policy.inner_text().split(":", 1)[-1].strip()
    policy.click()
    answer = wait_for_answer(page, 0, asked)
    expect(page.locator('#chat [data-testid="user"]').first).to_contain_text(asked)
    assert answer.locator(".cmo-cite").count() >= 1, (
        f"the starter question got no cited answer: {answer.inner_text()}"
    )


# --- markers, the Sources panel, previews, accessibility -----------------------------------------------------


def test_clicking_a_marker_keeps_the_question_and_marker_in_view_and_shows_its_passage(
    page: Page, size: str
) -> None:
    answer = ask(page, TWO_SOURCES)
    question = page.locator('#chat [data-testid="user"]').last
    markers = answer.locator(".cmo-cite")
    assert markers.count() >= 2, answer.inner_text()
    labels = page.locator("#chat [aria-label]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert not any("<" in label for label in labels), f"a message's label holds markup: {labels}"

    for i in range(markers.count()):
        marker = markers.nth(i)
        n = marker.get_attribute("data-marker")
        card = page.locator(f"#sources #source-{n}")
        title = card.locator(".cmo-source-head strong").text_content()
        assert marker.get_attribute("aria-label") == f"Source {n}: {title}"
        assert marker.get_attribute("href") == f"#source-{n}"
        scrolled = page.evaluate("window.scrollY")
        marker.click()
        expect(card).to_have_class(re.compile(r"\bcmo-source-active\b"))
        page.wait_for_timeout(SETTLE_MS)
        assert page.evaluate("window.scrollY") == scrolled, "clicking a marker scrolled the page"
        assert inside_viewport(page, question), f"[{n}] moved the question out of view: {box_of(question)}"
        assert inside_viewport(page, marker), f"[{n}] moved itself out of view: {box_of(marker)}"
        expect(card).to_be_in_viewport()
        assert page.locator(".cmo-source-active").count() == 1
        if i == 0:
            page.screenshot(path=str(SCREENSHOTS / f"screenshot-{size}.png"))
        if size == "phone":
            # The passage opens in a bottom sheet, below the question and the marker; it stays open for the next.
            sheet = page.locator("#sources-panel")
            expect(sheet).to_have_class(re.compile(r"\bcmo-sheet-open\b"))
            assert_above_sheet(page, question, f"after [{n}], the question")
            assert_above_sheet(page, marker, f"[{n}]")
    if size == "phone":
        sheet.get_by_role("button", name="Close").click()
        expect(sheet).not_to_have_class(re.compile(r"\bcmo-sheet-open\b"))
        expect(sheet).not_to_be_in_viewport()

    # A preview of the passage on focus (and hover), gone with Escape.
    first = markers.first
    n = first.get_attribute("data-marker")
    first.focus()
    preview = page.locator("#cmo-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text(str(page.locator(f"#source-{n} .cmo-source-head strong").text_content()))
    expect(preview).to_contain_text(str(page.locator(f"#source-{n} mark").first.text_content())[:40])
    assert first.get_attribute("aria-describedby") == "cmo-preview"
    assert_accessible(page, f"the chat with an answer ({size})")

    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()
    if size == "desktop":
        page.mouse.move(0, 0)
        markers.last.hover()
        expect(preview).to_be_visible()


#: an answer whose markers run down the whole chat on a phone (below where a 40% sheet would open)
LONG_ANSWER = "What does a Chief Medical Officer do?"
#: the Sources sheet on a phone is never shorter than this share of the screen
SHEET_LEAST = 0.22


def sheet_top(page: Page) -> float:
    return box_of(page.locator("#sources-panel"))["y"]


def assert_above_sheet(page: Page, locator: Locator, what: str) -> None:
    """The element is whole between the top of the chat and the top of the open Sources sheet."""
    box, chat = box_of(locator), box_of(page.locator("#chat"))
    top = sheet_top(page)
    assert box["y"] >= chat["y"] - 0.5 and box["y"] + box["height"] <= top + 0.5, (
        f"{what} is not in view above the Sources sheet: {box}, the chat starts at {chat['y']}, "
        f"the sheet at {top}"
    )


def swipe_above_sheet(page: Page, marker: Locator) -> None:
    """Scroll the chat up as a finger would, over the messages, until ``marker`` is above the open sheet."""
    chat = box_of(page.locator("#chat"))
    page.mouse.move(chat["x"] + chat["width"] / 2, chat["y"] + 40)
    for _ in range(20):
        if box_of(marker)["y"] + box_of(marker)["height"] <= sheet_top(page) - 4:
            return
        page.mouse.wheel(0, 60)
        page.wait_for_timeout(100)
    raise AssertionError(f"the chat cannot be scrolled to bring {box_of(marker)} above the sheet")


@pytest.mark.parametrize("size", ["phone"])
def test_on_a_phone_each_marker_is_clicked_in_turn_with_the_sources_sheet_open(page: Page) -> None:
    answer = ask(page, LONG_ANSWER)
    question = page.locator('#chat [data-testid="user"]').last
    markers = answer.locator(".cmo-cite")
    sheet = page.locator("#sources-panel")
    screen = PHONE["height"]
    chat_bottom = box_of(page.locator("#chat"))["y"] + box_of(page.locator("#chat"))["height"]
    bottoms = [box_of(markers.nth(i))["y"] + box_of(markers.nth(i))["height"] for i in range(markers.count())]
    # the markers a sheet of its least height leaves in view with the question: clicked without scrolling
    in_view = [
        i for i, bottom in enumerate(bottoms) if bottom <= min(chat_bottom, (1 - SHEET_LEAST) * screen - 12)
    ]
    assert len(in_view) >= 3 and bottoms[in_view[-1]] > 0.6 * screen, (
        f"the answer's markers do not reach below where a 40% sheet opens: {bottoms}"
    )
    assert len(bottoms) > len(in_view), f"no marker needs the chat scrolled: {bottoms}"
    for i in range(markers.count()):
        marker = markers.nth(i)
        n = marker.get_attribute("data-marker")
        if i in in_view:
            if i:
                assert_above_sheet(page, marker, f"[{n}], in view before the sheet opened,")
        else:
            swipe_above_sheet(page, marker)  # a later marker: the chat scrolls above the sheet
        marker.click()
        expect(page.locator(f"#sources #source-{n}")).to_have_class(re.compile(r"\bcmo-source-active\b"))
        expect(sheet).to_have_class(re.compile(r"\bcmo-sheet-open\b"))
        page.wait_for_timeout(SETTLE_MS)
        assert_above_sheet(page, marker, f"[{n}] once clicked")
        if i in in_view:
            assert_above_sheet(page, question, f"after [{n}], the question")
        assert screen - sheet_top(page) >= SHEET_LEAST * screen - 1, "the sheet is too short to read"
        expect(page.locator(f"#sources #source-{n} .cmo-source-head")).to_be_in_viewport()


# --- a live answer, Stop -------------------------------------------------------------------------------------

RECORD_ANSWER_TEXTS = """() => {
  window.answerTexts = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('#chat [data-testid="bot"]');
    const text = answers.length ? answers[answers.length - 1].innerText.trim() : "";
    if (text && window.answerTexts[window.answerTexts.length - 1] !== text) window.answerTexts.push(text);
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


def test_the_answer_appears_sentence_by_sentence_with_a_stop_button(page: Page) -> None:
    page.evaluate(RECORD_ANSWER_TEXTS)
    box = page.locator(QUESTION_BOX).first
    box.fill(COMPARISON)
    box.press("Enter")
    expect(stop_button(page)).to_be_visible()
    answer = wait_for_answer(page, 0, COMPARISON)
    final = answer.inner_text().strip()
    shown: list[str] = page.evaluate("window.answerTexts")
    partial = [t for t in shown if t != final and final.startswith(t.rstrip("\u2026"))]
    assert len(partial) >= 2, f"the answer was not shown progressively; the chat showed: {shown}"
    expect(send_button(page)).to_be_visible()
    expect(stop_button(page)).to_have_count(0)

    # Stop while an answer is being written: the box is ready for the next question at once.
    box.fill("What leadership skills does a CMO need?")
    box.press("Enter")
    stop = stop_button(page)
    expect(stop).to_be_visible()
    stop.click()
    expect(send_button(page)).to_be_visible()
    expect(stop_button(page)).to_have_count(0)


#: how far below the top of the chat's visible area a new question may start
QUESTION_AT_TOP_PX = 40
#: at least this much of the answer's start (two lines or so) shows below its question
ANSWER_START_PX = 40


def test_a_second_question_goes_to_the_top_of_the_chat_with_its_answer_reading_down_from_it(
    page: Page,
) -> None:
    ask(page, TWO_SOURCES)
    second = "What leadership skills does a CMO need?"
    answer = ask(page, second)
    page.wait_for_timeout(SETTLE_MS)
    question = page.locator('#chat [data-testid="user"]').last
    expect(question).to_contain_text(second)
    chat, asked, answered = box_of(page.locator("#chat")), box_of(question), box_of(answer)
    assert chat["y"] - 0.5 <= asked["y"] <= chat["y"] + QUESTION_AT_TOP_PX, (
        f"the second question is not at the top of the chat: it is at {asked}, the chat starts at {chat['y']}"
    )
    screen = page.viewport_size
    assert screen is not None
    chat_bottom = min(chat["y"] + chat["height"], screen["height"])
    assert asked["y"] + asked["height"] <= answered["y"] + 0.5, f"the answer {answered} is above {asked}"
    assert answered["y"] + ANSWER_START_PX <= chat_bottom, (
        f"the start of the answer is not in view: it is at {answered}, the chat ends at {chat_bottom}"
    )

    # The reader scrolls back while the next answer is written: the chat stays where they put it.
    box = page.locator(QUESTION_BOX).first
    box.fill(COMPARISON)
    box.press("Enter")
    third = page.locator('#chat [data-testid="user"]').nth(2)
    expect(third).to_contain_text(COMPARISON)
    page.mouse.move(chat["x"] + chat["width"] / 2, chat["y"] + chat["height"] / 2)
    page.mouse.wheel(0, -200)
    wait_for_answer(page, 2, COMPARISON)
    page.wait_for_timeout(SETTLE_MS)
    assert box_of(third)["y"] >= chat["y"] + QUESTION_AT_TOP_PX + 100, (
        f"the chat was scrolled back to the question the reader scrolled away from: {box_of(third)}"
    )


# --- ratings -------------------------------------------------------------------------------------------------


def thumbs(page: Page, answer_index: int, name: str):
    """The Like or Dislike button under the answer at ``answer_index`` (the buttons follow their message)."""
    row = (
        bot_messages(page).nth(answer_index).locator("xpath=ancestor::div[contains(@class,'message-row')][1]")
    )
    return row.locator("xpath=following-sibling::div[1]").get_by_role("button", name=name, exact=True)


def test_thumbs_under_answers_a_comment_after_a_thumbs_down_and_the_conversation_stored(
    page: Page, app: AppServer, size: str
) -> None:
    first_question = "What does a Chief Medical Officer do?"
    follow_up = "What leadership skills does a CMO need?"
    ask(page, first_question)
    ask(page, follow_up)
    comment_box = page.locator("#feedback-comment")
    expect(comment_box).to_have_count(0)

    thumbs(page, 0, "Like").click()
    expect(page.locator("#feedback-status")).to_contain_text("saved")
    expect(comment_box).to_have_count(0)

    thumbs(page, 1, "Dislike").click()
    expect(comment_box).to_be_visible()
    comment = f"It leaves out budgeting ({size})."
    comment_box.locator("textarea").fill(comment)
    page.locator("#send-comment").click()
    expect(page.locator("#feedback-status")).to_contain_text("comment was saved")
    expect(comment_box).to_have_count(0)

    with closing(sqlite3.connect(app.data_dir / "feedback.sqlite3")) as db:
        rows = db.execute(
            "SELECT id, rating, comment, question, history FROM feedback ORDER BY id"
        ).fetchall()
    disliked = [r for r in rows if r[2] == comment]
    assert len(disliked) == 1 and disliked[0][1] == -1 and disliked[0][3] == follow_up, rows
    liked = [r for r in rows if r[0] < disliked[0][0] and r[3] == first_question]
    assert liked and liked[-1][1] == 1 and liked[-1][2] == "" and json.loads(liked[-1][4]) == [], rows
    history = json.loads(disliked[0][4])
    assert [t["role"] for t in history] == ["user", "assistant"], history
    assert history[0]["content"] == first_question and "[1]" in history[1]["content"], history

    # An error message is not an answer: it has no thumbs.
    before = bot_messages(page).count()
    box = page.locator(QUESTION_BOX).first
    box.fill("?!?")
    box.press("Enter")
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).last.locator(".cmo-error")).to_have_count(1)
    expect(thumbs(page, before, "Like")).to_be_hidden()
    expect(thumbs(page, before, "Dislike")).to_be_hidden()


# --- the Documents tab ---------------------------------------------------------------------------------------

ORGANIZATION = "Riverside Community Health Network"
ARTICLE = "What Does a Chief Medical Officer Do?"
#: the example policy shipped as a four-page PDF
PDF_POLICY = "Escalation of Clinical Concerns"


def hygiene_policy(path: Path, size: str) -> str:
    """A .docx whose first line is the organization's name, its title in its properties and first heading."""
    title = f"Hand Hygiene Compliance Monitoring ({size})"
    document = docx.Document()
    document.core_properties.title = title
    document.add_paragraph(ORGANIZATION)
    document.add_heading(title, level=1)
    document.add_heading("Purpose", level=2)
    document.add_paragraph(
        f"Infection prevention staff observe hand hygiene on every {size} ward each month."
    )
    document.add_heading("Procedure", level=2)
    document.add_paragraph("Observers record moments before patient contact.", style="List Bullet")
    document.add_paragraph("Results go to the quality committee within ten days.", style="List Bullet")
    document.save(str(path))
    return title


def open_documents(page: Page) -> None:
    page.get_by_role("tab", name="Documents", exact=True).click()
    page.locator("#documents").wait_for(state="visible")


def test_documents_tab_lists_titles_filters_and_opens_a_row_formatted_and_a_pdf_by_page(
    page: Page, size: str, tmp_path: Path
) -> None:
    path = tmp_path / f"hand-hygiene-{size}.docx"
    title = hygiene_policy(path, size)
    open_documents(page)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#upload-status")).to_contain_text(f"{path.name}: added", timeout=60_000)
    table = page.locator("#documents")
    expect(table).to_contain_text(title)
    assert ORGANIZATION not in table.inner_text(), "the .docx is listed under its first line"

    page.locator("#doc-filter textarea, #doc-filter input").first.fill(f"hygiene {size}")
    shown = table.get_by_text(title, exact=True).filter(visible=True)
    expect(shown).to_have_count(1)
    expect(table.get_by_text(ARTICLE, exact=True).filter(visible=True)).to_have_count(0)
    shown.click()
    view = page.locator("#doc-view")
    expect(view.locator("h2")).to_have_text(title)
    expect(view.locator("h3, h4, h5, h6").filter(has_text="Purpose")).to_have_count(1)
    expect(view.locator("li")).to_have_count(2)
    expect(view.locator("li").first).to_have_text("Observers record moments before patient contact.")
    expect(view).to_be_in_viewport()

    # A Markdown policy opens formatted: headings, not "## Purpose".
    page.locator("#doc-filter textarea, #doc-filter input").first.fill("patient safety event")
    row_title = "Patient Safety Event Reporting"
    policy = table.get_by_text(re.compile(row_title)).filter(visible=True)
    expect(policy).to_have_count(1)
    policy.click()
    expect(view.locator("h2")).to_contain_text(row_title)
    assert view.locator("h3, h4").count() >= 2, view.inner_html()[:500]
    assert "## " not in view.inner_text() and "# " not in view.inner_text()
    assert view.locator("script, img, a[href]").count() == 0

    # A PDF opens page by page: its pages in order, each labelled, each with its own text.
    page.locator("#doc-filter textarea, #doc-filter input").first.fill("escalation")
    table.get_by_text(re.compile(PDF_POLICY)).filter(visible=True).click()
    expect(view.locator("h2")).to_contain_text(PDF_POLICY)
    pages = view.locator("section.cmo-page")
    expect(pages).to_have_count(4)
    expect(view.locator(".cmo-page-number")).to_have_text([f"Page {n} of 4" for n in range(1, 5)])
    second = pages.nth(1)
    expect(second.locator("h4, h5, h6").first).to_have_text("4. Escalation Levels")
    second.locator(".cmo-page-number").scroll_into_view_if_needed()
    expect(second.locator(".cmo-page-number")).to_be_in_viewport()
    assert_accessible(page, f"the Documents tab ({size})")


# --- roles, sign-in, sign-out --------------------------------------------------------------------------------


def sign_in(page: Page, name: str) -> None:
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(str(USERS[name]["password"]))
    page.get_by_role("button", name="Login").click()
    page.locator(QUESTION_BOX).first.wait_for(state="visible")


def test_roles_are_shown_and_only_admins_get_upload_and_remove(
    secured_app: AppServer, new_page: Callable[[str], Page], size: str
) -> None:
    page = new_page(secured_app.url + "/")
    page.get_by_label("username").wait_for()
    assert page.title() == "CMO Assistant"
    assert_accessible(page, f"the sign-in page ({size})")

    sign_in(page, "reader")
    expect(page.locator("#signed-in")).to_contain_text("Signed in as reader")
    open_documents(page)
    expect(page.locator("#documents")).to_contain_text(ARTICLE)
    for control in ("#manage-documents", "#upload", "#remove-doc", "#remove-select"):
        assert page.locator(control).count() == 0, f"an ordinary user's page has {control}"

    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_label("username")).to_be_visible()

    sign_in(page, "admin")
    expect(page.locator("#signed-in")).to_contain_text("Signed in as admin")
    open_documents(page)
    expect(page.locator("#upload")).to_have_count(1)
    expect(page.locator("#remove-doc")).to_have_count(1)
    expect(page.locator("#upload input[type=file]")).to_have_count(1)


def test_the_server_says_where_it_runs_without_a_share_hint(app: AppServer) -> None:
    app.check_alive()
    output = app.stdout_path.read_text("utf-8", "replace") + app.stderr_path.read_text("utf-8", "replace")
    assert f"CMO Assistant is running at {app.url}" in output, output[-2000:]
    assert "share=True" not in output and "public link" not in output, output[-2000:]
