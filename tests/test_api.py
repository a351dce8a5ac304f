"""The REST API (``/api/v1``) and sign-in hardening.

In-process (a Starlette test client over ``build_api`` and the real Assistant over the shipped corpus): answers
equal ``cmo-assistant ask --json``, errors are JSON sentences with the right status codes, the docs list every
route, server-sent events, loopback-only without a users file. Against the real app (``python app.py`` in a
subprocess): the API mounted behind the security headers, keys, 429 after failed sign-ins, a removed user
refused without a restart, sessions that expire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_process import AppServer, serve
from cli_runner import run
from openai_stub import OpenAIStub, Reply
from starlette.testclient import TestClient
from test_readme import readme_questions
from users_files import write_users

from assistant.pipeline import Assistant
from assistant.web.accounts import UsersFile
from assistant.web.api import build_api, max_body_bytes
from assistant.web.auth import FailureLimiter, Users
from assistant.web.ui import MAX_HISTORY_TURNS

pytestmark = pytest.mark.slow

ACCOUNTS = {
    "ann": {"password": "ann-has-a-long-password", "role": "admin"},
    "bo": {"password": "bo-has-a-long-password", "role": "user"},
    "temp": {"password": "temp-has-a-long-password", "role": "user"},
}
LOCAL = ("127.0.0.1", 50000)
ROUTES = {("post", "/v1/ask"), ("get", "/v1/documents"), ("get", "/v1/health")}


def error_of(response: httpx.Response, status: int) -> str:
    """The error sentence of a JSON error answer with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"][-1] in ".?", body
    return str(body["error"])


@pytest.fixture(scope="module")
def users_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_users(tmp_path_factory.mktemp("api-users") / "users.json", ACCOUNTS)


@pytest.fixture(scope="module")
def key(users_path: Path) -> str:
    return UsersFile(users_path).issue_key("bo")


@pytest.fixture(scope="module")
def api(shipped: Assistant, users_path: Path, key: str) -> Iterator[TestClient]:
    """The API with sign-in, over the shipped corpus, called from this machine with bo's key."""
    app = build_api(shipped, Users(users_path), FailureLimiter())
    with TestClient(app, client=LOCAL, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


# -- answers -----------------------------------------------------------------------------------------------------
README_QUESTIONS = readme_questions()[:4]


@pytest.mark.parametrize(
    ("question", "kind", "history"), README_QUESTIONS, ids=[q for q, _, _ in README_QUESTIONS]
)
def test_answers_equal_ask_json(
    api: TestClient,
    cli_env: Assistant,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    question: str,
    kind: str | None,
    history: list[dict[str, str]],
) -> None:
    argv = ["ask", question, "--json", *(["--kind", kind] if kind else [])]
    if history:
        (tmp_path / "turns.json").write_text(json.dumps(history), "utf-8")
        argv += ["--history", str(tmp_path / "turns.json")]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    expected = json.loads(out)
    response = api.post("/v1/ask", json={"question": question, "kind": kind, "history": history})
    assert response.status_code == 200, response.text
    got = response.json()
    assert set(got) == set(expected)
    assert got["answered"] and got["citations"]
    # The command line and the server may embed the question with different backends (the ONNX export or the
    # model itself), which agree within 1e-6: the passages' scores are compared at that precision.
    scores = []
    for answer in (got, expected):
        answer.pop("timings_ms")
        scores.append([citation.pop("score") for citation in answer["citations"]])
    assert got == expected
    assert scores[0] == pytest.approx(scores[1], abs=1e-5)


def test_a_document_filter_and_the_documents_listing(api: TestClient, shipped: Assistant) -> None:
    listed = api.get("/v1/documents").json()
    ids = {d["doc_id"] for d in listed}
    assert ids == set(shipped.manifest.documents()) and all(d["title"] and d["chunks"] > 0 for d in listed)
    policy = next(d["doc_id"] for d in listed if "patient-safety-event" in d["doc_id"])
    answer = api.post(
        "/v1/ask", json={"question": "How quickly must a safety event be reported?", "doc_id": policy}
    )
    assert answer.status_code == 200 and {c["doc_id"] for c in answer.json()["citations"]} == {policy}
    assert "No indexed document has the id" in error_of(
        api.post("/v1/ask", json={"question": "What is this?", "doc_id": "policies/none.md"}), 400
    )


def test_event_stream_without_a_streaming_answerer_is_one_answer_event(api: TestClient) -> None:
    question = "What does a CMO do?"
    response = api.post("/v1/ask", json={"question": question}, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    assert [name for name, _ in events] == ["answer"]
    plain = api.post("/v1/ask", json={"question": question}).json()
    assert {**events[0][1], "timings_ms": None} == {**plain, "timings_ms": None}


def parse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_an_llm_answer_streams_as_draft_events_then_the_answer(shipped: Assistant) -> None:
    reply = "A chief medical officer leads the medical staff and oversees the quality of clinical care. [1]"
    with OpenAIStub() as stub:
        stub.script(Reply(reply))
        settings = shipped.settings.replace(
            llm="openai",
            llm_model="stub",
            llm_api_key="sk-test",
            llm_base_url=stub.base_url,
            llm_max_retries=0,
        )
        llm = Assistant.build(settings, embedder=shipped.embedder)
        with TestClient(build_api(llm, None, FailureLimiter()), client=LOCAL) as client:
            response = client.post(
                "/v1/ask", json={"question": "What does a CMO do?"}, headers={"Accept": "text/event-stream"}
            )
    events = parse_events(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("draft") > 1, names
    assert "".join(data["text"] for name, data in events if name == "draft") == reply
    assert events[-1][1]["answer"] == reply and events[-1][1]["citations"][0]["marker"] == 1


# -- errors ------------------------------------------------------------------------------------------------------
def test_malformed_requests_get_a_sentence_and_400(api: TestClient) -> None:
    assert "not valid JSON" in error_of(api.post("/v1/ask", content=b"{question: 1"), 400)
    assert '"question"' in error_of(api.post("/v1/ask", json={"history": []}), 400)
    assert '"question"' in error_of(api.post("/v1/ask", json={"question": 42}), 400)
    assert '"question"' in error_of(api.post("/v1/ask", json=["What does a CMO do?"]), 400)
    assert "extra" in error_of(api.post("/v1/ask", json={"question": "Hi there", "top": 3}), 400).lower()
    assert error_of(api.post("/v1/ask", json={"question": "Why?", "kind": "blog"}), 400) == (
        "kind must be 'article' or 'policy'. Currently, it is 'blog'."
    )
    assert "History item 0" in error_of(
        api.post("/v1/ask", json={"question": "Why?", "history": [{"role": "x"}]}), 400
    )
    assert "empty" in error_of(api.post("/v1/ask", json={"question": "   "}), 400).lower()


def test_too_large_requests_get_413(api: TestClient, shipped: Assistant) -> None:
    limit = max_body_bytes(shipped.settings.max_question_chars)
    huge = {"question": "What does a CMO do?", "history": [{"role": "user", "content": "x" * limit}]}
    assert "too large" in error_of(api.post("/v1/ask", json=huge), 413)
    turns = [{"role": "user", "content": "hello"}] * (MAX_HISTORY_TURNS + 1)
    assert "conversation is too long" in error_of(
        api.post("/v1/ask", json={"question": "Why?", "history": turns}), 413
    )


def test_keys_are_required_and_checked(shipped: Assistant, users_path: Path, key: str) -> None:
    limiter = FailureLimiter()
    with TestClient(build_api(shipped, Users(users_path), limiter), client=("10.1.2.3", 4000)) as client:
        body = {"question": "What does a CMO do?"}
        missing = client.post("/v1/ask", json=body)
        assert "needs a key" in error_of(missing, 401) and missing.headers["www-authenticate"] == "Bearer"
        assert "needs a key" in error_of(client.get("/v1/documents"), 401)
        wrong = key[:-2] + ("aa" if not key.endswith("aa") else "bb")
        for _ in range(5):
            assert "not valid" in error_of(
                client.post("/v1/ask", json=body, headers={"Authorization": f"Bearer {wrong}"}), 401
            )
        blocked = client.post("/v1/ask", json=body, headers={"Authorization": f"Bearer {key}"})
        assert "Too many failed" in error_of(blocked, 429) and int(blocked.headers["retry-after"]) > 0
        assert client.get("/v1/health").json()["status"] == "ok", "health needs no key"


def test_without_a_users_file_only_this_machine_may_call(shipped: Assistant) -> None:
    with TestClient(build_api(shipped, None, FailureLimiter()), client=("192.168.1.20", 4000)) as remote:
        assert "this machine only" in error_of(
            remote.post("/v1/ask", json={"question": "What is a CMO?"}), 403
        )
    with TestClient(build_api(shipped, None, FailureLimiter()), client=LOCAL) as local:
        assert local.post("/v1/ask", json={"question": "What is a CMO?"}).status_code == 200


def test_no_index_is_503(make_assistant: Any) -> None:
    empty = make_assistant()
    with TestClient(build_api(empty, None, FailureLimiter()), client=LOCAL) as client:
        assert "cmo-assistant ingest" in error_of(
            client.post("/v1/ask", json={"question": "What is a CMO?"}), 503
        )
        assert "cmo-assistant ingest" in error_of(client.get("/v1/documents"), 503)
        assert client.get("/v1/health").status_code == 503


def test_the_docs_list_every_route(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    routes = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert routes == ROUTES
    page = api.get("/docs")
    assert page.status_code == 200 and "<script" not in page.text
    for method, path in routes:
        assert f"<code>{method.upper()}</code></td><td><code>/api{path}</code>" in page.text
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# -- the real app --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_users(tmp_path_factory.mktemp("app-users") / "users.json", ACCOUNTS)


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, app_users: Path
) -> Iterator[AppServer]:
    yield from serve(request, tmp_path_factory, "api", users_file=app_users)


@pytest.fixture(scope="module")
def short_sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, app_users: Path
) -> Iterator[AppServer]:
    """An app whose sign-ins last 7.2 s."""
    yield from serve(
        request,
        tmp_path_factory,
        "api-sessions",
        users_file=app_users,
        env={"CMO_ASSISTANT_SESSION_HOURS": "0.002"},
    )


def sign_in(
    session: httpx.Client, name: str, password: str | None = None, multipart: bool = False
) -> httpx.Response:
    """Gradio's sign-in, as gradio_client sends it (a urlencoded form) or the browser's page (multipart)."""
    form = {"username": name, "password": password or ACCOUNTS[name]["password"]}
    if multipart:
        return session.post("/login", files={k: (None, v) for k, v in form.items()})
    return session.post("/login", data=form)


def signed_in(session: httpx.Client) -> bool:
    """Whether the session's cookie signs it in (Gradio's own check)."""
    status = session.get("/gradio_api/login_check").status_code
    assert status in (200, 401), status
    return status == 200


def test_the_real_app_serves_the_api_behind_its_security_headers(app: AppServer, app_users: Path) -> None:
    key = UsersFile(app_users).issue_key("ann")
    with httpx.Client(base_url=app.url, timeout=60) as client:
        answer = client.post(
            "/api/v1/ask",
            json={"question": "What does a CMO do?"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 200 and answer.json()["answered"], answer.text
        assert (
            answer.headers["x-frame-options"] == "DENY"
            and "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        )
        assert "needs a key" in error_of(
            client.post("/api/v1/ask", json={"question": "What does a CMO do?"}), 401
        )
        docs = client.get("/api/docs")
        assert (
            docs.status_code == 200
            and "/api/v1/ask" in docs.text
            and docs.headers["x-frame-options"] == "DENY"
        )
        assert set(client.get("/api/openapi.json").json()["paths"]) == {path for _, path in ROUTES}


def test_a_removed_user_is_refused_without_a_restart(app: AppServer, app_users: Path) -> None:
    key = UsersFile(app_users).issue_key("temp")
    with httpx.Client(base_url=app.url, timeout=30) as session:
        assert sign_in(session, "temp").status_code == 200 and signed_in(session)
        ask = {"json": {"question": "What does a CMO do?"}, "headers": {"Authorization": f"Bearer {key}"}}
        assert session.post("/api/v1/ask", **ask).status_code == 200
        UsersFile(app_users).remove("temp")
        assert not signed_in(session), "the removed user's session still works"
        assert "not valid" in error_of(session.post("/api/v1/ask", **ask), 401)
        assert sign_in(session, "temp").status_code == 400, "the removed user signed in again"


def test_a_new_password_ends_the_users_sessions(app: AppServer, app_users: Path) -> None:
    with (
        httpx.Client(base_url=app.url, timeout=30) as session,
        httpx.Client(base_url=app.url, timeout=30) as other,
    ):
        assert sign_in(session, "bo").status_code == 200
        assert sign_in(other, "ann", multipart=True).status_code == 200
        UsersFile(app_users).add("bo", "bo-has-a-new-password", None)
        assert not signed_in(session), "a session outlived the password it was opened with"
        assert signed_in(other), "another user's session ended"
        assert sign_in(session, "bo", "bo-has-a-new-password").status_code == 200 and signed_in(session)


def test_a_session_expires(short_sessions: AppServer) -> None:
    with httpx.Client(base_url=short_sessions.url, timeout=30) as session:
        assert sign_in(session, "ann").status_code == 200
        started = time.monotonic()
        assert signed_in(session)
        time.sleep(max(0.0, 7.2 - (time.monotonic() - started)) + 0.5)
        assert not signed_in(session), "the session outlived session_hours"
        assert sign_in(session, "ann").status_code == 200 and signed_in(session), "signing in again works"


def test_sign_in_is_refused_with_429_after_five_failures(short_sessions: AppServer) -> None:
    with httpx.Client(base_url=short_sessions.url, timeout=30) as session:
        for attempt in range(5):
            assert sign_in(session, "bo", "a-wrong-password", multipart=attempt % 2 == 1).status_code == 400
        refused = sign_in(session, "bo")
        assert "Too many failed sign-ins" in error_of(refused, 429), (
            "the right password is not checked either"
        )
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-frame-options"] == "DENY"
        assert sign_in(session, "ann").status_code == 429, (
            "five failures from one address block it for everyone"
        )
        assert not signed_in(session)
