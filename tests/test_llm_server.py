"""The OpenAI backend through the real ChatOpenAI client, against an OpenAI-compatible server on 127.0.0.1.

The server (tests/openai_stub.py) is scripted per test: a reply, a streamed reply, HTTP 500 or 429 every time,
a reply slower than the client's timeout. Whatever the endpoint does, a question gets an answer within a bounded
time: the model's, checked against the passages it was sent, or the offline extractive one with a notice. The
last test runs against a real endpoint when asked to (CMO_ASSISTANT_LIVE_LLM_BASE_URL and _MODEL).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai_stub import Endless, Fail, Huge, OpenAIStub, Reply, Stall, free_port, pieces

from assistant.answer.citations import markers, problems
from assistant.pipeline import Assistant
from assistant.types import Answer

pytestmark = pytest.mark.slow

# Read at import: conftest removes every CMO_ASSISTANT_* variable before each test.
LIVE_BASE_URL = os.environ.get("CMO_ASSISTANT_LIVE_LLM_BASE_URL", "")
LIVE_MODEL = os.environ.get("CMO_ASSISTANT_LIVE_LLM_MODEL", "")
LIVE_API_KEY = os.environ.get("CMO_ASSISTANT_LIVE_LLM_API_KEY", "")
LIVE_LLM = os.environ.get("CMO_ASSISTANT_LIVE_LLM", "openai")  # or "ollama"

KEY = "sk-test"
TIMEOUT_S = 1.0
RETRIES = 1
QUESTION = "What does a chief medical officer do?"
COULD_NOT_ANSWER = "language model could not answer"
ANSWER = "A chief medical officer leads the medical staff and oversees the quality and safety of clinical care. [1]"


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server


def make_assistant(shipped: Assistant, **overrides: Any) -> Assistant:
    """An Assistant over the shipped index (sharing its loaded model) answering with an LLM."""
    settings = {
        "llm": "openai",
        "llm_model": "stub",
        "llm_api_key": KEY,
        "llm_timeout_s": TIMEOUT_S,
        "llm_max_retries": RETRIES,
        **overrides,
    }
    assistant = Assistant.build(shipped.settings.replace(**settings), embedder=shipped.embedder)
    return assistant


@pytest.fixture(scope="module")
def assistant(shipped: Assistant, stub: OpenAIStub) -> Assistant:
    return make_assistant(shipped, llm_base_url=stub.base_url)


@pytest.fixture(scope="module")
def extractive(shipped: Assistant) -> Answer:
    """What the offline assistant answers to QUESTION."""
    return shipped.ask(QUESTION)


def passage_sent(content: str, number: int) -> str:
    """The text of passage ``number`` in a user message as the server received it."""
    match = re.search(rf'<passage number="{number}"[^\n]*\n(.*?)\n</passage>', content, re.S)
    assert match, f"passage [{number}] is not in the request"
    return match.group(1)


def assert_fell_back(answer: Answer, extractive: Answer) -> str:
    """The answer is the extractive one, with one notice saying why; returns that notice."""
    assert answer.answer == extractive.answer
    assert answer.answered == extractive.answered
    assert answer.citations == extractive.citations
    notices = [n for n in answer.notices if COULD_NOT_ANSWER in n]
    assert len(notices) == 1, answer.notices
    assert KEY not in " ".join(answer.notices)
    return notices[0]


def test_reply_citing_1_cites_the_first_passage_sent(assistant: Assistant, stub: OpenAIStub) -> None:
    stub.script(Reply(ANSWER))
    answer = assistant.ask(QUESTION)
    assert answer.answered
    assert answer.answer == ANSWER
    assert answer.notices == ()
    (request,) = stub.chat_requests()
    assert request.headers.get("authorization") == f"Bearer {KEY}"
    assert request.body["model"] == "stub"
    assert request.body.get("stream") is True  # read piece by piece, so a runaway answer can be cut
    # deterministic, and bounded to the tokens the prompt budget kept free, under both names of the limit
    assert request.body.get("temperature") == 0.0
    assert request.body.get("max_completion_tokens") == 512
    assert request.body.get("max_tokens") == 512
    roles = [m["role"] for m in request.messages]
    assert roles == ["system", "user"]
    first = passage_sent(request.content("user"), 1)
    (citation,) = answer.citations
    assert citation.marker == 1
    assert citation.text == first == answer.retrieved[0].chunk.text
    assert citation.highlights and all(0 <= s < e <= len(citation.text) for s, e in citation.highlights)


def test_streamed_reply_arrives_in_pieces_then_one_checked_answer(
    assistant: Assistant, stub: OpenAIStub
) -> None:
    reply = "A chief medical officer leads the medical staff [2]. The CMO also oversees clinical quality. [1]"
    stub.script(Reply(reply))
    items = list(assistant.ask_stream(QUESTION))
    (request,) = stub.chat_requests()
    assert request.body.get("stream") is True
    *drafts, final = items
    assert isinstance(final, Answer)
    assert all(isinstance(p, str) for p in drafts)
    assert len([p for p in drafts if p]) == len(pieces(reply)) >= 3  # word by word, as the server sent it
    assert "".join(drafts) == reply
    assert final.answered
    assert markers(final.answer) == [1, 2]
    assert problems(final.answer, final.citations) == []
    assert [c.text for c in final.citations] == [
        passage_sent(request.content("user"), 2),
        passage_sent(request.content("user"), 1),
    ]


def test_follow_up_is_condensed_through_the_endpoint(assistant: Assistant, stub: OpenAIStub) -> None:
    rewritten = "How often are medical staff members reappointed under the credentialing policy?"
    stub.script(Reply(rewritten), Reply("Members are reappointed at least every two years. [1]"))
    history = [
        {"role": "user", "content": "What does the credentialing policy say about reappointment?"},
        {"role": "assistant", "content": "Members of the medical staff are reappointed periodically. [1]"},
    ]
    answer = assistant.ask("And how often does that happen?", history=history)
    condense, answering = stub.chat_requests()
    assert "And how often does that happen?" in condense.content("user")
    assert history[0]["content"] in condense.content("user")
    assert answer.standalone_question == rewritten
    assert [m["role"] for m in answering.messages] == ["system", "user", "assistant", "user"]
    assert answer.answered


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (Fail(500, f"upstream exploded while using key {KEY}"), "500"),
        (Fail(429, "Rate limit reached, retry later", {"Retry-After": "0"}), "429"),
    ],
    ids=["500", "429"],
)
def test_endpoint_failing_every_time_gives_the_extractive_answer_after_bounded_retries(
    assistant: Assistant, stub: OpenAIStub, extractive: Answer, failure: Fail, status: str
) -> None:
    stub.script(default=failure)
    started = time.monotonic()
    answer = assistant.ask(QUESTION)
    elapsed = time.monotonic() - started
    assert len(stub.chat_requests()) == 1 + RETRIES
    assert elapsed < 5.0
    notice = assert_fell_back(answer, extractive)
    assert status in notice


def test_streaming_from_a_failing_endpoint_ends_with_the_extractive_answer(
    assistant: Assistant, stub: OpenAIStub, extractive: Answer
) -> None:
    stub.script(default=Fail(500))
    items = list(assistant.ask_stream(QUESTION))
    assert len(stub.chat_requests()) == 1 + RETRIES
    assert all(isinstance(p, str) for p in items[:-1]) and isinstance(items[-1], Answer)
    assert_fell_back(items[-1], extractive)


def test_reply_slower_than_the_timeout_gives_the_extractive_answer_within_seconds(
    assistant: Assistant, stub: OpenAIStub, extractive: Answer
) -> None:
    stub.script(default=Stall(10.0, ANSWER))
    started = time.monotonic()
    answer = assistant.ask(QUESTION)
    elapsed = time.monotonic() - started
    assert len(stub.chat_requests()) == 1 + RETRIES
    assert elapsed < (1 + RETRIES) * TIMEOUT_S + 3.0
    assert_fell_back(answer, extractive)


@pytest.mark.parametrize("llm", ["openai", "ollama"])
def test_nothing_listening_gives_the_extractive_answer_at_once(
    shipped: Assistant, extractive: Answer, llm: str
) -> None:
    path = "/v1" if llm == "openai" else ""  # Ollama's API is at the root
    closed = make_assistant(shipped, llm=llm, llm_base_url=f"http://127.0.0.1:{free_port()}{path}")
    closed.corpus_index()  # built before the clock starts: the index, not the endpoint
    started = time.monotonic()
    answer = closed.ask(QUESTION)
    assert time.monotonic() - started < 5.0
    assert_fell_back(answer, extractive)


# -- a model that will not stop (SECURITY.md, case 6) ------------------------------------------------------------
CITED = "The chief medical officer leads the medical staff [1]. "


def client_hung_up(stub: OpenAIStub) -> bool:
    """Whether the client closed every answer the stub was still sending (waits a few seconds for it)."""
    requests = stub.chat_requests()
    return all(r.delivery.finished.wait(10.0) and r.delivery.client_left for r in requests)


def test_an_endless_stream_is_cut_at_the_character_limit_with_a_notice(
    shipped: Assistant, stub: OpenAIStub
) -> None:
    capped = make_assistant(shipped, llm_base_url=stub.base_url, llm_answer_max_chars=2000)
    stub.script(default=Endless(CITED))
    started = time.monotonic()
    *drafts, final = capped.ask_stream(QUESTION)
    assert time.monotonic() - started < 30.0
    assert isinstance(final, Answer)
    text = "".join(str(d) for d in drafts)
    body, notice = text.rsplit("\n\n", 1)
    assert len(body) == 2000 and body.startswith(CITED)
    assert "cut off at 2,000 characters" in notice and "LLM_ANSWER_MAX_CHARS" in notice
    assert final.answered and final.citations  # what was written is still checked and cited
    assert len(final.answer) <= 2000
    assert any("cut off at 2,000 characters" in n for n in final.notices)
    assert len(stub.chat_requests()) == 1
    assert client_hung_up(stub)  # the connection was closed, so the server can stop


def test_a_server_ignoring_the_token_limit_is_cut_at_it(shipped: Assistant, stub: OpenAIStub) -> None:
    capped = make_assistant(shipped, llm_base_url=stub.base_url, llm_answer_tokens=64)
    stub.script(default=Endless(CITED))
    answer = capped.ask(QUESTION)
    assert answer.answered
    assert answer.answer.count("[1]") <= 64 // len(pieces(CITED))
    assert any("cut off at 64 tokens" in n for n in answer.notices), answer.notices
    (request,) = stub.chat_requests()
    assert request.body.get("max_tokens") == request.body.get("max_completion_tokens") == 64
    assert client_hung_up(stub)


def test_a_slow_endless_stream_is_cut_at_the_deadline(shipped: Assistant, stub: OpenAIStub) -> None:
    capped = make_assistant(shipped, llm_base_url=stub.base_url, llm_answer_deadline_s=1.5)
    stub.script(default=Endless("The CMO leads the staff [1]. ", interval=0.05))
    capped.corpus_index()
    started = time.monotonic()
    answer = capped.ask(QUESTION)
    assert time.monotonic() - started < 1.5 + TIMEOUT_S + 5.0
    assert any("cut off after 1.5 s" in n for n in answer.notices), answer.notices
    assert client_hung_up(stub)


def test_a_huge_answer_is_not_read_past_the_response_limit(
    shipped: Assistant, stub: OpenAIStub, extractive: Answer
) -> None:
    capped = make_assistant(shipped, llm_base_url=stub.base_url, llm_response_max_mb=1)
    stub.script(default=Huge(50))
    started = time.monotonic()
    answer = capped.ask(QUESTION)
    assert time.monotonic() - started < 30.0
    notice = assert_fell_back(answer, extractive)
    assert "longer than 1,048,576 bytes" in notice
    (request,) = stub.chat_requests()
    assert client_hung_up(stub)
    # what the socket buffers took before the client hung up, not the 50 MB
    assert request.delivery.bytes_sent < 20 * 1024 * 1024


@pytest.mark.skipif(
    not (LIVE_BASE_URL and LIVE_MODEL),
    reason="set CMO_ASSISTANT_LIVE_LLM_BASE_URL and CMO_ASSISTANT_LIVE_LLM_MODEL to run against a real endpoint",
)
def test_live_endpoint_answers_a_corpus_question_with_citations(shipped: Assistant) -> None:
    live = make_assistant(
        shipped,
        llm=LIVE_LLM,
        llm_base_url=LIVE_BASE_URL,
        llm_model=LIVE_MODEL,
        llm_api_key=LIVE_API_KEY,
        llm_timeout_s=120.0,
        llm_max_retries=1,
    )
    answer = live.ask(
        "Which committee does the credentialing and privileging policy say reviews applications?"
    )
    assert not any(COULD_NOT_ANSWER in n for n in answer.notices), answer.notices
    assert answer.answered, answer.answer
    assert answer.citations
    assert problems(answer.answer, answer.citations) == []
    retrieved = {p.chunk.text for p in answer.retrieved}
    assert all(c.text in retrieved for c in answer.citations)
    if LIVE_API_KEY:
        assert LIVE_API_KEY not in " ".join(answer.notices)
