"""Shared by the browser tests: Debian's Chromium under Playwright, the two screen sizes, asking a question and
waiting for its whole answer, and where an element is on the screen."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import Browser, Locator, Page, sync_playwright
except ImportError:  # pragma: no cover - only when the venv was not set up by `make test`
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ANSWER_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 15_000
QUESTION_BOX = "#question textarea, #question input"


def launched_browser() -> Iterator[Browser]:
    """Body of a module-scoped fixture: headless Chromium, closed afterwards; a clear failure without it."""
    if sync_playwright is None:
        pytest.fail(
            "Playwright is not installed in this venv. Run `make test`, which installs it (the dev extra).",
            pytrace=False,
        )
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium was not found ({CHROMIUM}). Run `make test`, which installs it with "
            "`apt-get install -y chromium chromium-driver` when it is missing.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def bot_messages(page: Page) -> Locator:
    return page.locator('#chat [data-testid="bot"]')


def ask(page: Page, question: str) -> Locator:
    """Type ``question`` into #question, press Enter, and wait for the whole answer (its timings line).

    :returns: the locator of the new answer in #chat.
    """
    before = bot_messages(page).count()
    box = page.locator(QUESTION_BOX).first
    box.fill(question)
    box.press("Enter")
    return wait_for_answer(page, before, question)


def wait_for_answer(page: Page, before: int, question: str) -> Locator:
    """Wait until #chat holds more than ``before`` answers and #timings has a figure (the answer is complete)."""
    # Every update before the complete answer clears #timings, so a new answer with a figure there is complete.
    try:
        page.wait_for_function(
            """([selector, before]) =>
                 document.querySelectorAll(selector).length > before &&
                 /\\d\\s*ms/.test(document.querySelector('#timings')?.innerText ?? '')""",
            arg=['#chat [data-testid="bot"]', before],
            timeout=ANSWER_TIMEOUT_MS,
        )
    except Exception as exc:
        chat = page.locator("#chat").inner_text() if page.locator("#chat").count() else "(no #chat)"
        raise AssertionError(
            f"No complete answer to {question!r} within {ANSWER_TIMEOUT_MS / 1000:.0f} s "
            f"(waiting for a new message in #chat and a timings line in #timings). #chat shows:\n{chat}"
        ) from exc
    return bot_messages(page).nth(before)


def box_of(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def inside_viewport(page: Page, locator: Locator) -> bool:
    """Whether the whole element is on the screen (its bounding box inside the viewport)."""
    box, size = box_of(locator), page.viewport_size
    assert size is not None
    return (
        box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now (none expected)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
