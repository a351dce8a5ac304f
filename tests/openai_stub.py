"""A small OpenAI-compatible chat server for the LLM backend tests (stdlib only, 127.0.0.1 only).

``POST /v1/chat/completions`` answers from a scripted queue of behaviours, in JSON or, when the request says
``"stream": true``, as server-sent events (``data: {chunk}`` per piece, then ``data: [DONE]``). What it can do:

* ``Reply(text)``: a normal answer (streamed word by word when asked to stream);
* ``Fail(status, message, headers)``: an HTTP error with an OpenAI-shaped error body (500, 429 with
  ``Retry-After: 0``...);
* ``Stall(seconds, text)``: wait longer than the client's timeout before answering;
* ``Huge(megabytes)``: a JSON answer of that size, whether a stream was asked for or not;
* ``Endless(word)``: stream ``word`` for ever (as fast as the client reads), never ``[DONE]``, whatever
  ``max_tokens`` said.

When the queue is empty, ``default`` is used, so "fail every time" is ``stub.default = Fail(500)``. Every request
received is recorded (path, headers, JSON body) in ``requests``, with what became of the answer
(``delivery``: bytes sent, whether the client hung up before the end).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class Fail:
    status: int
    message: str = "the stub was told to fail"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stall:
    seconds: float
    text: str = "Too late."


@dataclass(frozen=True)
class Huge:
    megabytes: float


@dataclass(frozen=True)
class Endless:
    word: str = "more "
    #: seconds between repeats of ``word`` (0: as fast as the client reads)
    interval: float = 0.0


Behaviour = Reply | Fail | Stall | Huge | Endless


@dataclass
class Delivery:
    """What the stub sent for one request: bytes of the body, and whether the client hung up first."""

    bytes_sent: int = 0
    client_left: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


NOTHING_SCRIPTED = Reply("The stub has nothing scripted.")


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    delivery: Delivery = field(default_factory=Delivery)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        """All the text the request sent with ``role``, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


def pieces(text: str) -> list[str]:
    """How a reply is streamed: word by word, whitespace kept, so the pieces join back to the text."""
    return [p for p in re.split(r"(?<=\s)", text) if p]


class OpenAIStub:
    """Start with ``with OpenAIStub() as stub:``; ``stub.base_url`` is what an OpenAI client needs."""

    def __init__(self) -> None:
        self.queue: list[Behaviour] = []
        self.default: Behaviour = NOTHING_SCRIPTED
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-stub", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def script(self, *behaviours: Behaviour, default: Behaviour = NOTHING_SCRIPTED) -> None:
        """Forget earlier requests and behaviours; answer the next requests with ``behaviours`` in order, then
        every later one with ``default``."""
        with self._lock:
            self.queue = list(behaviours)
            self.requests = []
            self.default = default

    def chat_requests(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- the server side -----------------------------------------------------------------------------------
    def _next(self, request: Request) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            return self.queue.pop(0) if self.queue else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"
            delivery = Delivery()

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.delivery = request.delivery
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    stub._next(request)
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                behaviour = stub._next(request)
                try:
                    self._respond(behaviour, body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: recorded
                    request.delivery.client_left = True
                finally:
                    request.delivery.finished.set()

            def _send(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                self.delivery.bytes_sent += len(data)

            def _respond(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
                if isinstance(behaviour, Fail):
                    error = {"message": behaviour.message, "type": "server_error", "code": behaviour.status}
                    self._json(behaviour.status, {"error": error}, behaviour.headers)
                    return
                if isinstance(behaviour, Stall) and stub._stopping.wait(behaviour.seconds):
                    return  # the stub is stopping
                if isinstance(behaviour, Huge):
                    self._huge(int(behaviour.megabytes * 1024 * 1024))
                    return
                if isinstance(behaviour, Endless):
                    self._endless(behaviour)
                    return
                text = behaviour.text
                model = str(body.get("model", "stub"))
                if body.get("stream"):
                    self._stream(model, text, bool((body.get("stream_options") or {}).get("include_usage")))
                else:
                    self._json(200, completion(model, text))

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self._send(data)

            def _stream(self, model: str, text: str, usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for event in stream_events(model, text, usage):
                    self._send(f"data: {event}\n\n".encode())
                self._send(b"data: [DONE]\n\n")

            def _huge(self, size: int) -> None:
                """A completion whose content is ``size`` bytes of words, sent in 64 KB writes."""
                head, tail = json.dumps(completion("stub", "@@")).encode().split(b"@@")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(head) + size + len(tail)))
                self.end_headers()
                self._send(head)
                block = b"word " * (65536 // 5)
                left = size
                while left > 0 and not stub._stopping.is_set():
                    self._send(block[:left])
                    left -= len(block)
                self._send(tail)

            def _endless(self, endless: Endless) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                first, *events, _ = stream_events("stub", endless.word, False)
                self._send(f"data: {first}\n\n".encode())
                data = b"".join(f"data: {event}\n\n".encode() for event in events)
                while not stub._stopping.is_set():
                    self._send(data)
                    if endless.interval:
                        stub._stopping.wait(endless.interval)

        return Handler


def _usage(text: str) -> dict[str, int]:
    completion_tokens = len(text.split())
    return {
        "prompt_tokens": 10,
        "completion_tokens": completion_tokens,
        "total_tokens": 10 + completion_tokens,
    }


def completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": _usage(text),
    }


def stream_events(model: str, text: str, usage: bool) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""}, None)
    for piece in pieces(text):
        yield chunk({"content": piece}, None)
    yield chunk({}, "stop")
    if usage:
        yield json.dumps(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": _usage(text),
            }
        )
