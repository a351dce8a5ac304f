"""Bounds on what a language model may send back: bytes per HTTP response, characters, pieces (tokens) and
seconds per answer.

A model endpoint is not trusted to stop: a server may ignore the token limit it was sent, stream for ever, or
answer with a body of many megabytes. Two guards, one at each level:

- :class:`CappedTransport`, the HTTP transport of the model's client, stops reading any one response after
  ``max_bytes`` (raising :class:`ResponseTooLarge`), so a huge JSON body is never held in memory whole.
- :class:`AnswerReading` reads a streamed answer piece by piece and stops at the first of ``max_chars``
  characters, ``max_pieces`` pieces (an OpenAI-compatible server streams one token per piece) or
  ``deadline_s`` seconds; the stream is then closed, which closes the connection, so the server can stop
  generating instead of queueing the next question behind an answer no one reads. ``cut`` says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from assistant.config import Settings


class ResponseTooLarge(Exception):
    """The model's endpoint sent more bytes in one response than the client reads."""


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, max_bytes: int) -> None:
        self.inner = inner
        self.max_bytes = max_bytes

    def __iter__(self) -> Iterator[bytes]:
        read = 0
        for part in self.inner:
            read += len(part)
            if read > self.max_bytes:
                self.close()
                raise ResponseTooLarge(
                    f"the response was longer than {self.max_bytes:,} bytes, so it was not read further "
                    "(CMO_ASSISTANT_LLM_RESPONSE_MAX_MB)"
                )
            yield part

    def close(self) -> None:
        self.inner.close()


class CappedTransport(httpx.HTTPTransport):
    """An HTTP transport whose responses end with :class:`ResponseTooLarge` after ``max_bytes``."""

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        response.stream = _CappedStream(stream, self.max_bytes)
        return response


def capped_http_client(settings: Settings) -> httpx.Client:
    """The HTTP client the model's client uses: responses capped, the configured timeout."""
    return httpx.Client(
        transport=CappedTransport(settings.llm_response_max_bytes), timeout=settings.llm_timeout_s
    )


@dataclass(frozen=True)
class AnswerLimits:
    max_chars: int
    max_pieces: int
    deadline_s: float

    @classmethod
    def of(cls, settings: Settings) -> AnswerLimits:
        return cls(settings.llm_answer_max_chars, settings.llm_answer_tokens, settings.llm_answer_deadline_s)

    def reading(self) -> AnswerReading:
        return AnswerReading(self)


class AnswerReading:
    """One answer read within :class:`AnswerLimits`; ``cut`` is the notice when it was cut short (else None)."""

    def __init__(self, limits: AnswerLimits) -> None:
        self.limits = limits
        self.cut: str | None = None
        self.chars = 0

    def pieces(self, stream: Iterator[Any], text: Callable[[Any], str]) -> Iterator[str]:
        """The text pieces of ``stream`` up to the limits (the last one shortened to ``max_chars``)."""
        limits = self.limits
        deadline = time.monotonic() + limits.deadline_s
        count = 0
        try:
            for chunk in stream:
                piece = text(chunk)
                if not piece:
                    continue
                count += 1
                room = limits.max_chars - self.chars
                if len(piece) > room:
                    piece = piece[:room]
                    self.cut = f"it was cut off at {limits.max_chars:,} characters (CMO_ASSISTANT_LLM_ANSWER_MAX_CHARS)"
                elif count > limits.max_pieces:
                    self.cut = (
                        f"it was cut off at {limits.max_pieces:,} tokens, the limit the model was sent and did "
                        "not keep (CMO_ASSISTANT_LLM_ANSWER_TOKENS)"
                    )
                    return
                self.chars += len(piece)
                yield piece
                if self.cut:
                    return
                if time.monotonic() > deadline:
                    self.cut = (
                        f"it was cut off after {limits.deadline_s:g} s (CMO_ASSISTANT_LLM_ANSWER_DEADLINE_S)"
                    )
                    return
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # a generator's close ends the HTTP response: the server sees the connection go

    def notice(self) -> str | None:
        """What to tell the user about a cut answer."""
        if self.cut is None:
            return None
        return f"The model's answer did not end within the limits: {self.cut}. What it wrote until then is shown."
