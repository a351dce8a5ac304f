"""Two replicas of the real app (``python app.py``), each with its own data dir, sharing one PostgreSQL database and
one ``chroma run`` server, as deploy/compose.yaml runs them: what one does, the other sees without a restart.

An upload on A is cited by B within 5 s; a removal on B disappears from A; ratings given in both land in one
``feedback export``; killing A in the middle of an upload leaves B answering from the previous generation."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from app_process import PROJECT_ROOT, AppServer, app_environment, free_port
from chroma_server import ChromaServer
from gradio_client import Client, handle_file
from postgres_server import PostgresServer

pytestmark = pytest.mark.slow

CONVERGE_S = 5.0
VISITORS = """---
title: Visitor Hours
kind: policy
---
# Visitor Hours

Visitors are welcome on the wards between 9 am and 8 pm. Children under twelve visit with an adult.
"""
PIANO_TITLE = "Lobby Piano Tuning"
PIANO = f"""---
title: {PIANO_TITLE}
kind: policy
---
# {PIANO_TITLE}

The lobby piano is tuned on the first Friday of every month by the facilities team.
"""
PIANO_QUESTION = "When is the lobby piano tuned?"


@dataclass
class Replicas:
    a: AppServer
    b: AppServer
    url: str
    env: dict[str, str]
    root: Path


def settings_env(url: str, chroma: ChromaServer, corpus: Path) -> dict[str, str]:
    return {
        "CMO_ASSISTANT_DATABASE_URL": url,
        "CMO_ASSISTANT_CHROMA_URL": chroma.url,
        "CMO_ASSISTANT_CORPUS_DIR": str(corpus),
    }


@pytest.fixture(scope="module")
def replicas(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    corpus = root / "corpus" / "policies"
    corpus.mkdir(parents=True)
    (corpus / "visitors.md").write_text(VISITORS, encoding="utf-8")
    chroma = ChromaServer(root / "chroma-data", root / "chroma.log")
    chroma.start()
    url = postgres.create_database()
    env = settings_env(url, chroma, root / "corpus")
    ingest = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", "--quiet"],
        cwd=PROJECT_ROOT,
        env=app_environment(root / "a", free_port(), extra=env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    a, b = AppServer(root / "a", env=env), AppServer(root / "b", env=env)
    try:
        a.wait_ready()
        b.wait_ready()
        yield Replicas(a, b, url, env, root)
    finally:
        a.stop()
        b.stop()
        chroma.kill()


def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False, download_files=False, analytics_enabled=False)


def sources(server: AppServer, question: str) -> str:
    """The sources HTML of the app's answer to ``question`` (through /ask)."""
    api = client(server)
    returns = api.view_api(print_info=False, return_format="dict")["named_endpoints"]["/ask"]["returns"]
    result = api.predict(question, [], "All documents", api_name="/ask")
    return str(result[[r["component"] for r in returns].index("Html")])


def until(condition: Any, seconds: float) -> float:
    """Seconds until ``condition()`` held (polled); fails after ``seconds``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not within {seconds:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


def test_an_upload_on_one_replica_is_cited_by_the_other_within_seconds(replicas: Replicas) -> None:
    assert "Visitor Hours" in sources(replicas.b, "When can visitors come?")
    assert PIANO_TITLE not in sources(replicas.b, PIANO_QUESTION)
    piano = replicas.root / "lobby-piano.md"
    piano.write_text(PIANO, encoding="utf-8")
    status = client(replicas.a).predict([handle_file(str(piano))], api_name="/upload")[0]
    assert "lobby-piano.md" in str(status), status
    until(lambda: PIANO_TITLE in sources(replicas.b, PIANO_QUESTION), CONVERGE_S)
    listing = json.dumps(client(replicas.b).predict(api_name="/documents"))
    assert PIANO_TITLE in listing  # and B lists it among the documents (it can be opened there too)


def test_a_removal_on_one_replica_disappears_from_the_other(replicas: Replicas) -> None:
    until(lambda: PIANO_TITLE in sources(replicas.a, PIANO_QUESTION), CONVERGE_S)
    status = client(replicas.b).predict("uploads/lobby-piano.md", api_name="/remove")[0]
    assert "remov" in str(status).lower(), status
    until(lambda: PIANO_TITLE not in sources(replicas.a, PIANO_QUESTION), CONVERGE_S)
    assert "Visitor Hours" in sources(replicas.a, "When can visitors come?")


def test_ratings_given_on_both_replicas_are_in_one_feedback_export(
    replicas: Replicas, tmp_path: Path
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        try:
            for server, question in (
                (replicas.a, "When can visitors come?"),
                (replicas.b, "Who visits with an adult?"),
            ):
                rate(browser, server, question)
        finally:
            browser.close()
    out = tmp_path / "cases.jsonl"
    exported = subprocess.run(
        [sys.executable, "-m", "assistant", "feedback", "export", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=app_environment(tmp_path / "cli-data", free_port(), extra=replicas.env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    questions = [json.loads(line)["question"] for line in out.read_text("utf-8").splitlines()]
    assert questions == ["When can visitors come?", "Who visits with an adult?"]


def rate(browser: Any, server: AppServer, question: str) -> None:
    """Ask ``question`` in the app's page and give its answer a thumbs up."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/", wait_until="load")
        from browser import ask, bot_messages

        ask(page, question)
        row = bot_messages(page).last.locator("xpath=ancestor::div[contains(@class,'message-row')][1]")
        row.locator("xpath=following-sibling::div[1]").get_by_role("button", name="Like", exact=True).click()
        page.locator("#feedback-status").filter(has_text="saved").wait_for()
    finally:
        context.close()


def test_killing_a_replica_in_the_middle_of_an_upload_leaves_the_other_on_the_previous_generation(
    replicas: Replicas,
) -> None:
    engine = sa.create_engine(replicas.url.replace("postgresql://", "postgresql+psycopg://"))
    generation = sa.text("SELECT value FROM meta WHERE key = 'generation'")
    with engine.connect() as conn:
        before = conn.execute(generation).scalar()
    # Long enough that embedding it takes a while: A is killed once the upload is saved, while it is indexed.
    paragraphs = "\n\n".join(
        f"Section {i}: the formulary committee reviews medication {i} for cost, safety and use at every site."
        for i in range(400)
    )
    big = replicas.root / "formulary.md"
    big.write_text(f"---\ntitle: Formulary Reviews\nkind: policy\n---\n# Formulary Reviews\n\n{paragraphs}\n")
    client(replicas.a).submit([handle_file(str(big))], api_name="/upload")
    saved = sa.text("SELECT count(*) FROM uploads WHERE name = 'formulary.md'")

    def upload_saved() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(saved).scalar())

    until(upload_saved, 60)
    replicas.a.process.kill()
    replicas.a.process.wait(timeout=10)

    with engine.connect() as conn:
        assert conn.execute(generation).scalar() == before  # nothing of the upload was committed
    assert "Formulary Reviews" not in sources(
        replicas.b, "How does the formulary committee review medication?"
    )
    assert "Visitor Hours" in sources(replicas.b, "When can visitors come?")
    # The writer lock went with A's connection: B writes, and finishes the upload A accepted.
    piano = replicas.root / "lobby-piano.md"
    status = client(replicas.b).predict([handle_file(str(piano))], api_name="/upload")[0]
    assert "lobby-piano.md" in str(status), status
    assert "Formulary Reviews" in sources(replicas.b, "How does the formulary committee review medication?")
    engine.dispose()
