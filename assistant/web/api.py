"""The REST API, mounted at ``/api`` in the web app's server: ``build_api(assistant, users, limiter)``.

- ``POST /api/v1/ask``: ``{"question", "history", "kind", "doc_id"}`` -> the JSON of ``cmo-assistant ask --json``
  (:meth:`Answer.to_dict`). With ``Accept: text/event-stream`` the answer comes as server-sent events: ``draft``
  events while an LLM writes it (``{"text": ...}``), then one ``answer`` event (the same JSON); with the
  extractive answerer, which does not stream, the ``answer`` event alone.
- ``GET /api/v1/documents``: the indexed documents. ``GET /api/v1/health``: whether the index is ready.
- ``GET /api/docs``: the routes, read from ``GET /api/openapi.json`` (a page of our own: Swagger UI would load
  its scripts from a CDN, which the app's Content-Security-Policy forbids and an offline machine cannot reach).

With a users file every call but ``health`` needs an API key (``Authorization: Bearer <key>``, issued by
``cmo-assistant users key NAME``); wrong keys count as failed sign-ins from the caller's address (429 after five in
a minute). Without a users file the API answers loopback callers only, like the app. Errors are JSON,
``{"error": "<the sentence the CLI prints>"}``: 400 a malformed request, 401 no or a wrong key, 413 too large,
429 too many failures, 503 no index or a service down.

Answers are CPU work of about 10-12 ms (the ONNX embedding, which uses both cores, then Python holding the
GIL); they run on a pool of ``api_workers`` threads (1 by default: measured on 2 cores, one thread answers about
15% more per second than two, which only contend for the GIL), so concurrent requests queue for it instead of
contending in dozens of threads. An LLM backend waits on the network instead, so its answers use the server's
larger thread pool.

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at runtime, and their
dependencies are local to :func:`build_api`.
"""

import asyncio
import html
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException

from assistant.errors import AssistantError, ConfigError, IndexStateError, InputError, UnavailableError
from assistant.pipeline import Assistant
from assistant.types import Answer
from assistant.web.auth import FailureLimiter, Users, client_address, is_loopback, too_many_attempts
from assistant.web.ui import MAX_HISTORY_CHARS
from assistant.web.ui import _history_too_long as history_too_long

__all__ = ["AskRequest", "build_api", "max_body_bytes"]

#: JSON escapes a character in at most 6 bytes (\\uXXXX); the rest of a request's structure fits in this.
_ENVELOPE_BYTES = 65_536
_EXAMPLE = '{"question": "What does a CMO do?"}'
DESCRIPTION = (
    "Cited answers about the Chief Medical Officer role and your organization's policies. With a users file, "
    "send an API key (`cmo-assistant users key NAME`) as `Authorization: Bearer <key>`. Errors are JSON: "
    '{"error": "<what went wrong and what to do>"}.'
)


class AskRequest(BaseModel):
    """A question, the conversation before it (for follow-ups), and what to search."""

    model_config = ConfigDict(extra="forbid")

    question: str
    #: earlier turns, ``[{"role": "user" | "assistant", "content": "..."}]``
    history: list[Any] | None = None
    #: "article" or "policy" to search only one kind of document
    kind: str | None = None
    #: search only this document (an id from GET /api/v1/documents)
    doc_id: str | None = None


class CitationOut(BaseModel):
    marker: int
    doc_id: str
    title: str
    source: str
    section: str
    text: str
    highlights: list[list[int]]
    score: float


class ClosestOut(BaseModel):
    """A section shown with a refusal: the nearest the sources come to the question (not a citation)."""

    doc_id: str
    title: str
    section: str
    text: str
    similarity: float


class AnswerOut(BaseModel):
    """The JSON of ``cmo-assistant ask --json``."""

    question: str
    answer: str
    answered: bool
    citations: list[CitationOut]
    #: with a refusal, the sections nearest the question (empty for an answer)
    closest: list[ClosestOut]
    timings_ms: dict[str, float]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    kind: str
    chunks: int


class HealthOut(BaseModel):
    status: str
    documents: int


class ErrorOut(BaseModel):
    error: str


@dataclass
class ApiError(Exception):
    """An error answer: its status, the sentence, extra headers."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def max_body_bytes(max_question_chars: int) -> int:
    """The largest request body read: the question and history caps, every character escaped, plus room."""
    return 6 * (max_question_chars + MAX_HISTORY_CHARS) + _ENVELOPE_BYTES


def _status(exc: AssistantError) -> int:
    if isinstance(exc, IndexStateError | UnavailableError):
        return 503
    return 400 if isinstance(exc, InputError) else 500


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [
        (400, "malformed request"),
        (401, "no API key, or a wrong one"),
        (413, "request too large"),
        (429, "too many failed attempts"),
        (503, "no index yet, or a service down"),
    ]
}


def build_api(assistant: Assistant, users: Users | None, limiter: FailureLimiter) -> FastAPI:
    """The API as a FastAPI app, to mount at ``/api`` (its docs link to ``/api/openapi.json``)."""
    api = FastAPI(
        title="CMO Assistant API",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    pool = ThreadPoolExecutor(max_workers=assistant.settings.api_workers, thread_name_prefix="api-answer")
    caller = _caller(users, limiter)

    _add_error_handlers(api)

    async def run(function: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking call: answers on the answer pool, or the server's threads when an LLM answers."""
        if assistant.answerer.streams:
            return await anyio.to_thread.run_sync(function, *args)
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    @api.post(
        "/v1/ask",
        summary="Answer a question with cited passages",
        response_model=AnswerOut,
        responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AskRequest.model_json_schema()}},
            }
        },
    )
    async def ask(request: Request, _user: Annotated[str | None, Depends(caller)]) -> Response:
        """The answer as ``cmo-assistant ask --json`` prints it; ``Accept: text/event-stream`` streams it."""
        body = await _ask_request(request, assistant.settings.max_question_chars)
        args: dict[str, Any] = {
            "history": body.history,
            "kind": body.kind or None,
            "doc_id": body.doc_id or None,
        }
        if assistant.answerer.streams and "text/event-stream" in request.headers.get("accept", ""):
            stream = await run(lambda: _started(assistant.ask_stream(body.question, **args)))
            return StreamingResponse(_events(stream, run), media_type="text/event-stream")
        answer = await run(lambda: _answering(assistant.ask, body.question, **args))
        if "text/event-stream" in request.headers.get("accept", ""):  # an answerer that does not stream
            return Response(_event("answer", answer.to_dict()), media_type="text/event-stream")
        return JSONResponse(answer.to_dict())

    _add_listing_routes(api, assistant, caller)
    return api


def _add_error_handlers(api: FastAPI) -> None:
    """Every error answered as ``{"error": sentence}``: ours, Starlette's (404, 405) and the unexpected."""

    @api.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @api.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @api.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        # A bug, not a bad request: the kind of error only (its text may hold data), in the JSON shape.
        message = f"The assistant failed unexpectedly ({exc.__class__.__name__}). Try again; if it keeps failing, report it."
        return JSONResponse({"error": message}, status_code=500)


def _add_listing_routes(api: FastAPI, assistant: Assistant, caller: Callable[..., Any]) -> None:
    """``GET /v1/documents``, ``GET /v1/health`` and the ``/docs`` page."""

    @api.get(
        "/v1/documents",
        summary="The indexed documents",
        response_model=list[DocumentOut],
        responses={code: _ERRORS[code] for code in (401, 429, 503)},
    )
    async def documents(_user: Annotated[str | None, Depends(caller)]) -> Any:
        if not await anyio.to_thread.run_sync(assistant.has_index):
            raise ApiError(503, _NO_INDEX)
        stats = await anyio.to_thread.run_sync(assistant.stats)
        return stats["per_document"]

    @api.get(
        "/v1/health",
        summary="Whether the index is ready",
        response_model=HealthOut,
        responses={503: _ERRORS[503]},
    )
    async def health() -> Any:
        if not await anyio.to_thread.run_sync(assistant.has_index):
            return JSONResponse({"status": "no index", "documents": 0}, status_code=503)
        return {
            "status": "ok",
            "documents": len(await anyio.to_thread.run_sync(assistant.manifest.documents)),
        }

    @api.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return HTMLResponse(_docs_page(api.openapi()))


_NO_INDEX = "There is no index yet. Build it with `cmo-assistant ingest` (the app builds it when it starts)."


def _answering(ask: Callable[..., Answer], question: str, **args: Any) -> Answer:
    try:
        return ask(question, **args)
    except AssistantError as exc:
        raise ApiError(_status(exc), str(exc)) from None


def _started(stream: Any) -> tuple[Any, Any]:
    """The stream with its first item taken, so a bad question is answered with its status, not a 200."""
    try:
        return next(stream), stream
    except AssistantError as exc:
        raise ApiError(_status(exc), str(exc)) from None


async def _events(started: tuple[Any, Any], run: Callable[..., Any]) -> AsyncIterator[str]:
    """Server-sent events: ``draft`` for each piece of text, ``answer`` last (``error`` if it failed)."""
    item, stream = started
    done = object()
    while item is not done:
        if isinstance(item, Answer):
            yield _event("answer", item.to_dict())
            return
        yield _event("draft", {"text": item})
        try:
            item = await run(next, stream, done)
        except AssistantError as exc:
            yield _event("error", {"error": str(exc)})
            return


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _ask_request(request: Request, max_question_chars: int) -> AskRequest:
    """The request body read (at most :func:`max_body_bytes`), parsed and checked."""
    limit = max_body_bytes(max_question_chars)
    too_large = f"The request is too large (more than {limit:,} bytes). Send a shorter question or history."
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, too_large)
        chunks.append(chunk)
    try:
        raw = json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(
            400, f"The request body is not valid JSON ({exc}). Send JSON like {_EXAMPLE}."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("question"), str):
        raise ApiError(400, f'The request must give the question as a string in "question", like {_EXAMPLE}.')
    try:
        body = AskRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(400, f"{where}: {first['msg']}. Send JSON like {_EXAMPLE}.") from None
    too_long = history_too_long(body.history or [])
    if too_long:
        raise ApiError(413, too_long)
    return body


def _caller(users: Users | None, limiter: FailureLimiter) -> Callable[..., Any]:
    """The dependency that admits a caller: a good API key with a users file, a loopback address without."""
    bearer = HTTPBearer(auto_error=False, description="an API key from `cmo-assistant users key NAME`")

    async def caller(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> str | None:
        address = client_address(request.scope)
        if users is None:
            if not is_loopback(address):
                raise ApiError(
                    403,
                    "Without a users file the API answers this machine only. Set CMO_ASSISTANT_USERS_FILE.",
                )
            return None
        wait = limiter.retry_after(f"addr:{address}")
        if wait > 0:
            status, headers, body = too_many_attempts(wait)
            raise ApiError(status, json.loads(body)["error"], headers)
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or not credentials.credentials.strip():
            raise ApiError(
                401,
                "This API needs a key: send the header `Authorization: Bearer <key>`. An administrator issues "
                "keys with `cmo-assistant users key NAME`.",
                challenge,
            )
        try:
            users.accounts()
        except ConfigError as exc:
            raise ApiError(503, str(exc)) from None
        owner = await anyio.to_thread.run_sync(users.key_owner, credentials.credentials.strip())
        if owner is None:
            limiter.failed(f"addr:{address}")
            raise ApiError(
                401,
                "The API key is not valid: mistyped, revoked, or its user was removed. An administrator issues a new "
                "one with `cmo-assistant users key NAME`.",
                challenge,
            )
        return owner

    return caller


def _docs_page(schema: dict[str, Any]) -> str:
    """The API's routes as a plain HTML page (no script), from its OpenAPI schema."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            codes = ", ".join(sorted(operation.get("responses", {})))
            rows.append(
                f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>/api{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation.get('summary', ''))}<br><small>{html.escape(operation.get('description', ''))}</small></td>"
                f"<td>{html.escape(codes)}</td></tr>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CMO Assistant API</title></head><body>"
        f"<h1>{html.escape(schema['info']['title'])}</h1>"
        "<p>The schema: <a href='/api/openapi.json'>/api/openapi.json</a>. Send an API key as "
        "<code>Authorization: Bearer &lt;key&gt;</code>.</p>"
        "<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th><th>status codes</th></tr>"
        + "".join(rows)
        + f"</table><p>{html.escape(schema['info'].get('description', ''))}</p></body></html>"
    )
