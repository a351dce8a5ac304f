"""LLM answer backends through LangChain chat models: an OpenAI-compatible endpoint or Ollama.

The only langchain chat-model import. The model writes; this module checks. Passages go to the model fenced and
labelled as untrusted reference text, numbered [1]..[n]; what comes back is held to the same citation contract as
the extractive answer: markers that point at no given passage are removed, the rest renumbered (by the
pipeline), sentences without a citation are reported, the fixed refusal phrase makes ``answered`` false. A model
that cannot be reached (down, timeout, 429, 5xx after bounded retries) never hangs the question: the extractive
answer is given instead, with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answer.citations import MARKER, answer_sentences, remove_markers
from assistant.answer.limits import AnswerLimits, AnswerReading, CappedTransport, capped_http_client
from assistant.answer.prompts import Prompts
from assistant.answer.protocols import Answerer, AnswerRequest, Composition
from assistant.answer.tokens import count_tokens
from assistant.config import Settings
from assistant.errors import BackendError
from assistant.types import Citation, ScoredChunk, Turn

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

Encoder = Callable[[Sequence[str]], np.ndarray]
#: How many earlier turns go into the prompt at most (then the budget decides).
MAX_HISTORY_TURNS = 6


def chat_model(settings: Settings) -> BaseChatModel:
    """The configured LangChain chat model (OpenAI-compatible or Ollama), with bounded retries and a timeout."""
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url or None,
            api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_answer_tokens,  # type: ignore[call-arg]
            # sent as max_completion_tokens, which llama.cpp's server ignores: the old name too
            extra_body={"max_tokens": settings.llm_answer_tokens},
            http_client=capped_http_client(settings),
        )
    if settings.llm == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=settings.llm_model,
            base_url=settings.llm_base_url or None,
            temperature=settings.llm_temperature,
            num_predict=settings.llm_answer_tokens,
            client_kwargs={"timeout": settings.llm_timeout_s},
            sync_client_kwargs={"transport": CappedTransport(settings.llm_response_max_bytes)},
        )
    raise BackendError(f"No language model is configured (llm is {settings.llm!r}).")


@dataclass(frozen=True)
class Prompt:
    messages: list[BaseMessage]
    #: the passages given to the model, in the order of their numbers ([1] is passages[0])
    passages: tuple[ScoredChunk, ...]
    tokens: int


class PromptBuilder:
    """System prompt + history + fenced passages, fitted into the context window with tiktoken.

    The lowest-ranked passages are dropped first, then the oldest history turns; a passage is never cut.
    """

    def __init__(self, settings: Settings, prompts: Prompts) -> None:
        self.settings = settings
        self.prompts = prompts

    def build(self, question: str, passages: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> Prompt:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        system = self.prompts.render("system", refusal=self.prompts.phrase("refusal"))
        budget = self.settings.llm_context_window - self.settings.llm_answer_tokens
        turns = list(history)[-MAX_HISTORY_TURNS:]
        kept = list(passages)

        def assemble() -> tuple[list[BaseMessage], int]:
            blocks = [
                self.prompts.render(
                    "passage",
                    number=i,
                    title=_attr(p.chunk.title),
                    section=_attr(p.chunk.section_label),
                    text=_fence(p.chunk.text),
                )
                for i, p in enumerate(kept, start=1)
            ]
            user = self.prompts.render(
                "answer", passages="\n\n".join(blocks) or "(no passages were found)", question=question
            )
            messages: list[BaseMessage] = [SystemMessage(system)]
            for turn in turns:
                messages.append(
                    HumanMessage(turn.content) if turn.role == "user" else AIMessage(turn.content)
                )
            messages.append(HumanMessage(user))
            return messages, sum(count_tokens(str(m.content)) + 4 for m in messages)

        messages, tokens = assemble()
        while tokens > budget and (kept or turns):
            if len(kept) > 1 or not turns:
                kept.pop()
            else:
                turns.pop(0)
            messages, tokens = assemble()
        if tokens > budget:
            raise BackendError(
                f"The question alone needs {tokens} tokens, more than the {budget} the context window leaves "
                "(raise CMO_ASSISTANT_LLM_CONTEXT_WINDOW or ask a shorter question)."
            )
        return Prompt(messages, tuple(kept), tokens)


class LLMAnswerer:
    """Answers with a chat model and verifies what it wrote; falls back to ``fallback`` when the model fails."""

    streams = True
    condenses = True

    def __init__(
        self,
        settings: Settings,
        prompts: Prompts,
        model: BaseChatModel,
        encode: Encoder,
        fallback: Answerer,
    ) -> None:
        self.name: str = settings.llm
        self.settings = settings
        self.prompts = prompts
        self.model = model
        self.encode = encode
        self.fallback = fallback
        self.builder = PromptBuilder(settings, prompts)
        self.limits = AnswerLimits.of(settings)

    def answer(self, request: AnswerRequest) -> Composition:
        items = list(self.stream(request))
        final = items[-1]
        assert isinstance(final, Composition)
        return final

    def stream(self, request: AnswerRequest) -> Iterator[str | Composition]:
        """Yields text pieces as the model writes them, then the verified Composition (always last). An answer
        cut at a limit ends with a piece saying so."""
        prompt = self.builder.build(request.question, request.passages, request.history)
        reading = self.limits.reading()
        pieces: list[str] = []
        try:
            for piece in reading.pieces(self.model.stream(prompt.messages), self._text):
                pieces.append(piece)
                yield piece
        except Exception as exc:  # connection errors, timeouts, HTTP errors from any provider client
            yield self._fallback(request, exc)
            return
        composition = self.postprocess("".join(pieces), prompt.passages)
        notice = reading.notice()
        if notice:
            yield f"\n\n({notice})"
            composition = Composition(
                composition.text, composition.answered, composition.citations, (*composition.notices, notice)
            )
        yield composition

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A follow-up rewritten by the model as a standalone question; None when the model fails (the caller
        then resolves it offline)."""
        if not history:
            return question
        transcript = "\n".join(f"{t.role}: {t.content}" for t in list(history)[-MAX_HISTORY_TURNS:])
        from langchain_core.messages import HumanMessage

        # A rewritten question longer than this is not used anyway: nothing more is read.
        limits = AnswerLimits(4 * len(question) + 200, self.limits.max_pieces, self.limits.deadline_s)
        reading = AnswerReading(limits)
        message = HumanMessage(self.prompts.render("condense", history=transcript, question=question))
        try:
            reply = "".join(reading.pieces(self.model.stream([message]), self._text))
        except Exception:
            return None
        if reading.cut:
            return None
        reply = reply.strip().splitlines()[0].strip().strip("\"'“”") if reply.strip() else ""
        return reply if 3 <= len(reply) <= 4 * len(question) + 200 else None

    # -- internals ---------------------------------------------------------------------------------------------
    def _fallback(self, request: AnswerRequest, exc: Exception) -> Composition:
        reason = _redact(f"{exc.__class__.__name__}: {exc}", self.settings.llm_api_key)[:300]
        composition = self.fallback.answer(request)
        notice = (
            f"The language model could not answer ({reason}); this is the offline extractive answer instead."
        )
        return Composition(
            composition.text, composition.answered, composition.citations, (*composition.notices, notice)
        )

    @staticmethod
    def _text(message: Any) -> str:
        content = getattr(message, "content", message)
        if isinstance(content, list):
            return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
        return str(content)

    def postprocess(self, text: str, passages: Sequence[ScoredChunk]) -> Composition:
        """Check the model's answer against the passages it was given (see the module docstring)."""
        refusal = self.prompts.phrase("refusal")
        stripped = text.strip()
        if not stripped or _normal(refusal) in _normal(stripped) or not passages:
            return Composition(refusal, False, ())
        numbers = {int(m) for m in MARKER.findall(stripped)}
        valid = sorted(n for n in numbers if 1 <= n <= len(passages))
        notices: list[str] = []
        invalid = sorted(numbers - set(valid))
        if invalid:
            notices.append(f"Removed citation markers that pointed at no passage: {invalid}.")
            stripped = remove_markers(stripped, valid)
        sentences = [(text, set(markers)) for text, markers in answer_sentences(stripped)]
        uncited = [s for s, ms in sentences if not ms]
        if uncited:
            notices.append(
                f"{len(uncited)} sentence(s) of this answer cite no passage: check them before relying on them."
            )
        citations = tuple(
            self._citation(n, passages[n - 1], [s for s, ms in sentences if n in ms]) for n in valid
        )
        if not citations:
            # Claims that rest on no passage are not shown at all.
            notices.append("The model's answer cited none of the passages, so it is not shown.")
            return Composition(refusal, False, (), tuple(notices))
        return Composition(stripped, True, citations, tuple(notices))

    def _citation(self, number: int, passage: ScoredChunk, claims: list[str]) -> Citation:
        """The passage behind marker ``number``, with the units most similar to the claims citing it highlighted."""
        chunk = passage.chunk
        units = [(u.start, u.end) for u in chunk.units] or [(0, len(chunk.text))]
        highlights: set[tuple[int, int]] = set()
        if claims:
            unit_vectors = self.encode([chunk.text[s:e] for s, e in units])
            for claim_vector in self.encode(claims):
                highlights.add(units[int(np.argmax(unit_vectors @ claim_vector))])
        return Citation(
            marker=number,
            doc_id=chunk.doc_id,
            title=chunk.title,
            source=chunk.source_path,
            section=chunk.section_label,
            text=chunk.text,
            highlights=tuple(sorted(highlights)),
            score=passage.score,
            kind=chunk.kind,
        )


def _fence(text: str) -> str:
    """Passage text (and its title and headings) cannot open or close a fence."""
    return re.sub(r"<\s*/?\s*passage\b", lambda m: m.group(0).replace("<", "‹"), text, flags=re.I)


def _attr(text: str) -> str:
    return _fence(text).replace('"', "'").replace("\n", " ")


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
