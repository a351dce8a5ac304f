"""One settings object. Precedence: explicit argument > environment (``CMO_ASSISTANT_*``) > default.

Validated at construction, so a bad value fails at start-up with a sentence that names the setting.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from assistant.errors import ConfigError

ENV_PREFIX = "CMO_ASSISTANT_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Passages are cut to at most this many word pieces, [CLS] and [SEP] included (the bundled all-mpnet-base-v2
#: reads up to 384; 256 keeps passages short enough to quote and to read on a phone).
MODEL_MAX_TOKENS = 256


_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def redact_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``
    (``http://admin:secret@host`` -> ``http://***@host``), for anything shown or logged."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def _default_corpus_dir() -> Path:
    return PROJECT_ROOT / "corpus"


def _default_prompts_dir() -> Path:
    return PROJECT_ROOT / "prompts"


QueryEncoderChoice = Literal["auto", "torch"]
FusionChoice = Literal["rrf", "weighted"]
LLMChoice = Literal["extractive", "openai", "ollama"]
ExamplesChoice = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class RetrievalSettings:
    """What the retriever reads (``settings.retrieval``)."""

    top_k: int
    candidates: int
    fusion: FusionChoice
    fusion_dense_weight: float
    sentence_weight: float
    rrf_k: int
    max_per_document: int


@dataclass(frozen=True)
class AnsweringSettings:
    """What the extractive answerer reads (``settings.answering``)."""

    min_sentence_similarity: float
    min_answer_units: int
    max_answer_units: int


@dataclass(frozen=True)
class LLMSettings:
    """The LLM endpoint (``settings.llm_endpoint``); ``backend`` is "extractive" when none is used."""

    backend: LLMChoice
    base_url: str
    model: str
    api_key: str = field(repr=False)
    temperature: float
    timeout_s: float
    max_retries: int
    context_window: int
    answer_tokens: int


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured, flat (each field ``name`` reads ``CMO_ASSISTANT_<NAME>`` from the
    environment), and grouped by concern for the components: storage (paths, Chroma), ``retrieval``,
    ``answering``, ``llm_endpoint``, and the server (host, port, users file)."""

    # -- storage ------------------------------------------------------------------------------------------

    data_dir: Path = Path("data")
    corpus_dir: Path = field(default_factory=_default_corpus_dir)
    #: Extra folders of documents (the environment variable separates them with ``os.pathsep``).
    sources: tuple[Path, ...] = ()
    prompts_dir: Path = field(default_factory=_default_prompts_dir)
    #: A local path or a sentence-transformers model name; empty means the bundled all-mpnet-base-v2.
    embedding_model: str = ""
    #: How questions are embedded: "auto" (an ONNX Runtime export of the model, made at ingest, so answering
    #: needs no torch; ingests after the first embed passages through it too) or "torch" (always the
    #: sentence-transformers model).
    query_encoder: QueryEncoderChoice = "auto"
    #: Where that export (a few hundred MB) is kept; empty means ``data_dir/models``. Data dirs that share a
    #: folder share one export: it is keyed by the model's fingerprint and written atomically.
    model_cache_dir: str = ""
    #: ``http://host:port`` of a Chroma server; empty means an embedded database in ``data_dir``. Credentials
    #: in it are never shown (``redact_credentials``).
    chroma_url: str = field(default="", repr=False)
    #: Seconds to wait for the Chroma server on each request before reporting it unreachable.
    chroma_timeout_s: float = 30.0
    collection: str = "cmo_assistant"
    #: SQLAlchemy URL of the database holding the index's record, feedback and uploaded originals, shared by
    #: every replica (``postgresql://user:password@host/db``). Empty: SQLite files in ``data_dir``, as before.
    #: Never printed whole: the password is masked in messages.
    database_url: str = field(default="", repr=False)
    max_file_mb: float = 10.0
    #: Memory (address space) the process that parses documents may use; a file needing more is skipped.
    parse_memory_mb: float = 2048.0
    #: Seconds one file may take to parse; a slower one is stopped and skipped.
    parse_timeout_s: float = 60.0
    #: The example policies shipped in corpus/policies: "auto" indexes them only while the organization has no
    #: documents of its own (no source folder, no upload); "always" or "never" decide it outright.
    example_policies: ExamplesChoice = "auto"
    chunk_tokens: int = 160
    chunk_overlap_tokens: int = 32
    # -- server -------------------------------------------------------------------------------------------
    #: Where the web app listens; 127.0.0.1 keeps it on this machine.
    host: str = "127.0.0.1"
    port: int = 7860
    #: Megabytes one user may upload through the app in 24 hours, and uploads a minute.
    upload_mb_per_day: float = 200.0
    uploads_per_minute: int = 10
    #: JSON file of web app users and their API keys, written by `cmo-assistant users`; empty: no sign-in.
    users_file: str = ""
    #: A sign-in lasts this long; then the user signs in again.
    session_hours: float = 12.0
    #: Threads answering API questions at once (CPU work; more requests wait for one). One is fastest on 2 cores:
    #: the embedding already uses both, and a second thread only contends for the GIL (benchmarks/api_load.py).
    api_workers: int = 1
    # -- LLM ----------------------------------------------------------------------------------------------
    #: Answer backend: "extractive" (offline, default), "openai" (any OpenAI-compatible endpoint) or "ollama".
    llm: LLMChoice = "extractive"
    llm_base_url: str = ""
    llm_model: str = ""
    #: Never printed: excluded from repr, masked in messages.
    llm_api_key: str = field(default="", repr=False)
    llm_temperature: float = 0.0
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2
    #: Tokens the model reads at most; history and passages are fitted into it (cl100k_base counts).
    llm_context_window: int = 4096
    #: Tokens kept free for the model's answer: sent to the server as its limit (``max_tokens`` and
    #: ``max_completion_tokens``); a streamed answer longer than this is cut.
    llm_answer_tokens: int = 512
    #: Characters of a model's answer read at most; a longer answer is cut with a notice.
    llm_answer_max_chars: int = 12000
    #: Seconds one model answer may take in all (the stream is cut then, with a notice).
    llm_answer_deadline_s: float = 120.0
    #: Megabytes of one HTTP response from the model's endpoint read at most.
    llm_response_max_mb: float = 4.0
    # -- retrieval ----------------------------------------------------------------------------------------
    top_k: int = 5
    candidates: int = 20
    fusion: FusionChoice = "weighted"
    #: Chosen on the dev split with the bundled all-mpnet-base-v2 (evals/README.md): dense and BM25 weigh the
    #: same (0.3, chosen with the smaller all-MiniLM-L6-v2, found less: dev hit@5 0.799 against 0.872).
    fusion_dense_weight: float = 0.5
    #: The dense score of a passage mixes its own vector's similarity with its best sentence's (this share): a
    #: question phrased unlike a passage often still matches one of its sentences closely (dev hit@5 0.811 ->
    #: 0.872 at fusion_dense_weight 0.5).
    sentence_weight: float = 0.3
    rrf_k: int = 60
    #: At most this many passages of one document in the top_k (0: no limit), so one long article cannot
    #: crowd out the others.
    max_per_document: int = 2
    # -- answering ----------------------------------------------------------------------------------------
    max_question_chars: int = 2000
    #: Sentences below 0.8x this similarity to the question join an answer only to reach min_answer_units
    #: (whether to answer at all is the answerability model's call: assistant/answer/answerability.py).
    min_sentence_similarity: float = 0.35
    min_answer_units: int = 3
    max_answer_units: int = 6

    def __post_init__(self) -> None:
        for name in ("data_dir", "corpus_dir", "prompts_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)).expanduser())
        object.__setattr__(self, "sources", tuple(Path(p).expanduser() for p in self.sources))
        self._check_storage()
        self._check_server()
        self._check_retrieval()
        self._check_answering()
        self._check_llm()

    def _check_storage(self) -> None:
        self._check(
            self.example_policies in ("auto", "always", "never"),
            "example_policies must be 'auto', 'always' or 'never'",
            self.example_policies,
        )
        self._check(
            self.query_encoder in ("auto", "torch"),
            "query_encoder must be 'auto' or 'torch'",
            self.query_encoder,
        )
        self._check(
            32 <= self.chunk_tokens <= MODEL_MAX_TOKENS - 16,
            f"chunk_tokens must be between 32 and {MODEL_MAX_TOKENS - 16} (passages are at most "
            f"{MODEL_MAX_TOKENS} word pieces)",
            self.chunk_tokens,
        )
        self._check(
            0 <= self.chunk_overlap_tokens < self.chunk_tokens // 2,
            "chunk_overlap_tokens must be at least 0 and less than half of chunk_tokens",
            self.chunk_overlap_tokens,
        )
        self._check(
            math.isfinite(self.max_file_mb) and self.max_file_mb > 0,
            "max_file_mb must be a number above 0",
            self.max_file_mb,
        )
        self._check(
            math.isfinite(self.parse_memory_mb) and self.parse_memory_mb >= 256,
            "parse_memory_mb must be at least 256",
            self.parse_memory_mb,
        )
        self._check(
            math.isfinite(self.parse_timeout_s) and self.parse_timeout_s > 0,
            "parse_timeout_s must be a number above 0",
            self.parse_timeout_s,
        )
        self._check(
            self.chroma_timeout_s > 0, "chroma_timeout_s must be greater than 0", self.chroma_timeout_s
        )
        if self.database_url and not self.database_url.startswith(("postgresql", "postgres://", "sqlite:")):
            raise ConfigError(
                "database_url must be a PostgreSQL or SQLite URL (for example "
                "postgresql://cmo:secret@db.example.org/cmo or sqlite:////srv/cmo/state.sqlite3), or empty for "
                "the SQLite files in the data dir. Currently, it starts with "
                f"{self.database_url.split(':', 1)[0]!r}."
            )
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"chroma_url must start with http:// or https:// (for example http://127.0.0.1:8000). "
                f"Currently, chroma_url is {redact_credentials(self.chroma_url)!r}."
            )

    def _check_server(self) -> None:
        self._check(0 < self.port < 65536, "port must be between 1 and 65535", self.port)
        self._check(
            math.isfinite(self.upload_mb_per_day) and self.upload_mb_per_day > 0,
            "upload_mb_per_day must be a number above 0",
            self.upload_mb_per_day,
        )
        self._check(
            self.uploads_per_minute >= 1, "uploads_per_minute must be at least 1", self.uploads_per_minute
        )
        self._check(1 <= self.api_workers <= 64, "api_workers must be between 1 and 64", self.api_workers)
        self._check(
            math.isfinite(self.session_hours) and self.session_hours > 0,
            "session_hours must be a number above 0",
            self.session_hours,
        )

    def _check_retrieval(self) -> None:
        self._check(self.top_k > 0, "top_k must be greater than 0", self.top_k)
        self._check(self.candidates >= self.top_k, "candidates must be at least top_k", self.candidates)
        self._check(self.fusion in ("rrf", "weighted"), "fusion must be 'rrf' or 'weighted'", self.fusion)
        self._check(
            self.max_per_document >= 0, "max_per_document must be 0 (no limit) or more", self.max_per_document
        )
        self._check(self.rrf_k > 0, "rrf_k must be greater than 0", self.rrf_k)

    def _check_answering(self) -> None:
        for name in ("min_sentence_similarity", "fusion_dense_weight", "sentence_weight"):
            value = getattr(self, name)
            self._check(
                math.isfinite(value) and 0.0 <= value <= 1.0, f"{name} must be between 0 and 1", value
            )
        self._check(
            self.max_question_chars >= 20, "max_question_chars must be at least 20", self.max_question_chars
        )
        self._check(
            1 <= self.min_answer_units <= self.max_answer_units,
            "min_answer_units must be between 1 and max_answer_units",
            self.min_answer_units,
        )

    def _check_llm(self) -> None:
        self._check(
            self.llm in ("extractive", "openai", "ollama"),
            "llm must be 'extractive', 'openai' or 'ollama'",
            self.llm,
        )
        if self.llm != "extractive" and not self.llm_model:
            raise ConfigError(
                f"llm is {self.llm!r}, so llm_model must name the model (CMO_ASSISTANT_LLM_MODEL)."
            )
        self._check(self.llm_timeout_s > 0, "llm_timeout_s must be greater than 0", self.llm_timeout_s)
        self._check(
            0 <= self.llm_max_retries <= 10, "llm_max_retries must be between 0 and 10", self.llm_max_retries
        )
        self._check(
            0.0 <= self.llm_temperature <= 2.0,
            "llm_temperature must be between 0 and 2",
            self.llm_temperature,
        )
        self._check(
            self.llm_context_window >= 1024,
            "llm_context_window must be at least 1024",
            self.llm_context_window,
        )
        self._check(
            0 < self.llm_answer_tokens < self.llm_context_window // 2,
            "llm_answer_tokens must be above 0 and below half of llm_context_window",
            self.llm_answer_tokens,
        )
        self._check(
            self.llm_answer_max_chars >= 100,
            "llm_answer_max_chars must be at least 100",
            self.llm_answer_max_chars,
        )
        self._check(
            math.isfinite(self.llm_answer_deadline_s) and self.llm_answer_deadline_s > 0,
            "llm_answer_deadline_s must be a number above 0",
            self.llm_answer_deadline_s,
        )
        self._check(
            math.isfinite(self.llm_response_max_mb) and self.llm_response_max_mb > 0,
            "llm_response_max_mb must be a number above 0",
            self.llm_response_max_mb,
        )

    @staticmethod
    def _check(ok: bool, rule: str, value: Any) -> None:
        if not ok:
            raise ConfigError(f"{rule}. Currently, it is {value!r}.")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from the environment, with keyword arguments taking precedence."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(
            self.top_k,
            self.candidates,
            self.fusion,
            self.fusion_dense_weight,
            self.sentence_weight,
            self.rrf_k,
            self.max_per_document,
        )

    @property
    def answering(self) -> AnsweringSettings:
        return AnsweringSettings(self.min_sentence_similarity, self.min_answer_units, self.max_answer_units)

    @property
    def llm_endpoint(self) -> LLMSettings:
        return LLMSettings(
            self.llm,
            self.llm_base_url,
            self.llm_model,
            self.llm_api_key,
            self.llm_temperature,
            self.llm_timeout_s,
            self.llm_max_retries,
            self.llm_context_window,
            self.llm_answer_tokens,
        )

    @property
    def uploads_dir(self) -> Path:
        """Where documents added through the app are kept (always one of the indexed sources)."""
        return self.data_dir / "uploads"

    @property
    def store_location(self) -> str:
        """Where the vector store is, as shown to people (a server's URL without its credentials)."""
        return redact_credentials(self.chroma_url) if self.chroma_url else str(self.chroma_dir)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        """The model exported for questions (ONNX), made at ingest."""
        return Path(self.model_cache_dir).expanduser() if self.model_cache_dir else self.data_dir / "models"

    @property
    def corpus_index_dir(self) -> Path:
        """Saved corpus indexes (passages, BM25), one per set of committed passages; kept per host even when
        the vector store is a server, and rebuilt from the store when missing."""
        return self.data_dir / "corpus-index"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.sqlite3"

    @property
    def llm_response_max_bytes(self) -> int:
        return int(self.llm_response_max_mb * 1024 * 1024)

    @property
    def upload_max_bytes_per_day(self) -> int:
        return int(self.upload_mb_per_day * 1024 * 1024)

    @property
    def shared(self) -> bool:
        """Whether the index's record, feedback and uploads are in a database (possibly shared by replicas)
        rather than the data dir's own files."""
        return bool(self.database_url)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def source_roots(self, extra: tuple[Path, ...] = ()) -> list[Path]:
        """All folders the index mirrors: the corpus, the uploads folder, configured and extra (remembered)
        sources."""
        roots = [self.corpus_dir, self.uploads_dir, *self.sources, *extra]
        unique: list[Path] = []
        for root in roots:
            resolved = root.resolve()
            if resolved not in unique:
                unique.append(resolved)
        return unique


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    name = ENV_PREFIX + f.name.upper()
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "tuple[Path, ...]":
            return tuple(Path(p) for p in raw.split(os.pathsep) if p)
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number. Currently, it is {raw!r}.") from None
    return raw
