"""Answer feedback: thumbs up/down on an answer, kept in a database and exported as eval cases for review.

One row per rating holds everything needed to replay the question (question, history) and to label it
(the answer, its citations with their highlighted sentences). ``export`` turns the rows into lines of the
golden-set format (evals/README.md) so a reviewer can promote them into ``evals/golden.jsonl``.

Kept in ``<data dir>/feedback.sqlite3`` by default (WAL mode with a busy timeout: several worker processes on
the same file), or in the database of ``CMO_ASSISTANT_DATABASE_URL``, where the ratings of every replica meet
(:mod:`assistant.database`).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assistant import database
from assistant.answer.conversation import parse_history
from assistant.config import Settings
from assistant.errors import AssistantError, QuestionError
from assistant.files import write_atomic
from assistant.types import Answer

__all__ = [
    "MAX_COMMENT_CHARS",
    "MIN_QUOTE_CHARS",
    "ExportReport",
    "FeedbackError",
    "FeedbackRecord",
    "FeedbackStore",
    "SkippedFeedback",
    "feedback_path",
]

MAX_COMMENT_CHARS = 2000
MAX_USER_CHARS = 200
#: Shorter highlights ("Budgeting.") would make almost any passage "relevant" in the eval; used only when
#: an answer has nothing longer.
MIN_QUOTE_CHARS = 40
_SCHEMA_VERSION = 1
_METADATA = sa.MetaData()
# AUTOINCREMENT (SQLite) / a sequence (PostgreSQL): a row id is never reused, so "feedback-<id>" names one rating
# for good.
_FEEDBACK = sa.Table(
    "feedback",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("rating", sa.Integer, sa.CheckConstraint("rating IN (-1, 1)"), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("citations", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    #: the conversation before the question, JSON: [{"role": ..., "content": ...}]
    sa.Column("history", sa.Text, nullable=False),
    sa.Column("user", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)


class FeedbackError(AssistantError):
    """Feedback could not be recorded, read or exported."""


def feedback_path(settings: Settings) -> Path:
    """Where feedback is kept by default: ``<data_dir>/feedback.sqlite3``."""
    return settings.data_dir / "feedback.sqlite3"


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored rating. ``citations`` are ``Citation.to_dict()`` dicts as they were when rated."""

    id: int
    created_at: datetime
    rating: int
    question: str
    answer: str
    answered: bool
    citations: tuple[dict[str, Any], ...]
    comment: str
    history: tuple[dict[str, str], ...]
    user: str

    @property
    def case_id(self) -> str:
        return f"feedback-{self.id}"


@dataclass(frozen=True)
class SkippedFeedback:
    """A rating that could not become an eval case, and why."""

    id: int
    reason: str


@dataclass(frozen=True)
class ExportReport:
    path: Path
    written: int
    skipped: tuple[SkippedFeedback, ...] = ()


class FeedbackStore:
    """Feedback in a database. Cheap to construct: the database is opened (a file created) on first use.

    :param location: a SQLite file (:func:`feedback_path` gives the default location) or a database URL.
    """

    def __init__(self, location: Path | str) -> None:
        self.path, self.url = database.locate(location)
        #: where the ratings are, fit to show (a password masked)
        self.where = database.display(self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(settings.database_url or feedback_path(settings))

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between calls; kept so a store can be used in a ``with`` block."""

    def record(
        self,
        answer: Answer,
        rating: int,
        comment: str = "",
        history: Sequence[Mapping[str, str]] | None = None,
        user: str = "",
    ) -> int:
        """Store a rating of ``answer``.

        :param rating: ``1`` (thumbs up) or ``-1`` (thumbs down).
        :param comment: free text; surrounding whitespace is trimmed and it is cut to 2,000 characters.
        :param history: the turns before the question, ``[{"role": "user"|"assistant", "content": ...}]``;
            other keys of each turn (a UI's metadata) are dropped.
        :param user: who rated, if the app knows (cut to 200 characters).
        :returns: the new row's id.
        :raises FeedbackError: the rating, comment or history is invalid, or the file cannot be written.
        """
        if type(rating) is not int or rating not in (1, -1):
            raise FeedbackError(
                f"rating must be 1 (thumbs up) or -1 (thumbs down). Currently, it is {rating!r}."
            )
        if not isinstance(comment, str):
            raise FeedbackError(f"comment must be text. Currently, it is {type(comment).__name__}.")
        if not isinstance(user, str):
            raise FeedbackError(f"user must be text. Currently, it is {type(user).__name__}.")
        row = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rating": rating,
            "question": answer.question,
            "answer": answer.answer,
            "answered": int(answer.answered),
            "citations": json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False),
            "comment": comment.strip()[:MAX_COMMENT_CHARS].rstrip(),
            "history": json.dumps(_clean_history(history), ensure_ascii=False),
            "user": user.strip()[:MAX_USER_CHARS],
        }
        with self._db() as engine, engine.begin() as conn:
            row_id = conn.execute(sa.insert(_FEEDBACK).values(row).returning(_FEEDBACK.c.id)).scalar_one()
        return int(row_id)

    def add_comment(self, rating_id: int, comment: str) -> None:
        """Set the comment of the stored rating ``rating_id`` (a thumbs-down is stored first, its comment after).

        :param comment: free text, trimmed and cut to 2,000 characters like :meth:`record`'s.
        :raises FeedbackError: the comment is not text, no rating has that id, or the file cannot be written.
        """
        if not isinstance(comment, str):
            raise FeedbackError(f"comment must be text. Currently, it is {type(comment).__name__}.")
        text = comment.strip()[:MAX_COMMENT_CHARS].rstrip()
        with self._db() as engine, engine.begin() as conn:
            result = conn.execute(
                sa.update(_FEEDBACK).where(_FEEDBACK.c.id == int(rating_id)).values(comment=text)
            )
        if result.rowcount != 1:
            raise FeedbackError(f"No rating has the id {rating_id}; rate the answer again, then comment.")

    def list(self, limit: int = 100) -> builtins.list[FeedbackRecord]:
        """The most recent ratings, newest first.

        :raises FeedbackError: ``limit`` is below 1, or the file cannot be read.
        """
        if type(limit) is not int or limit < 1:
            raise FeedbackError(f"limit must be 1 or more. Currently, it is {limit!r}.")
        return self._select(sa.select(_FEEDBACK).order_by(_FEEDBACK.c.id.desc()).limit(limit))

    def count(self) -> int:
        if not self._ready():
            return 0
        with self._db() as engine, engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(_FEEDBACK)).scalar_one()
        return int(n)

    def export_cases(self, path: Path) -> int:
        """Write every rating that makes a valid eval case to ``path`` (JSONL); see :meth:`export`.

        :returns: the number of cases written.
        """
        return self.export(path).written

    def export(self, path: Path) -> ExportReport:
        """Write the ratings as golden-set cases (evals/README.md) to ``path``, atomically, oldest first.

        A thumbs-up on an answer becomes an answerable case whose quotes are the highlighted sentences of
        the cited passages; a thumbs-up on a refusal, a must-refuse case; a thumbs-down on an answer, an
        answerable case marked ``"needs_review": true`` with the comment in ``"note"``. A rating that would
        give an answerable case without quotes (a thumbs-down on a refusal, an answer without highlights)
        is skipped and listed in the report. ``key_facts`` is left empty for a reviewer to fill.

        :raises FeedbackError: the database cannot be read or ``path`` cannot be written.
        """
        path = Path(path)
        records = self._select(sa.select(_FEEDBACK).order_by(_FEEDBACK.c.id))
        lines: builtins.list[str] = []
        skipped: builtins.list[SkippedFeedback] = []
        for record in records:
            case = to_case(record)
            if isinstance(case, str):
                skipped.append(SkippedFeedback(record.id, case))
            else:
                lines.append(json.dumps(case, ensure_ascii=False) + "\n")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, "".join(lines).encode("utf-8"))
        except OSError as exc:
            raise FeedbackError(
                f"Cannot write the feedback cases to {path}: {exc.strerror or exc}."
            ) from None
        return ExportReport(path=path, written=len(lines), skipped=tuple(skipped))

    def _ready(self) -> bool:
        """False while no feedback file exists: reading must not create one (or its folder)."""
        return self.path is None or self.path.exists()

    def _select(self, query: sa.Select[Any]) -> builtins.list[FeedbackRecord]:
        if not self._ready():
            return []
        with self._db() as engine, engine.connect() as conn:
            rows = conn.execute(query).all()
        try:
            return [_record(tuple(row)) for row in rows]
        except (ValueError, TypeError) as exc:
            raise FeedbackError(
                f"The feedback database {self.where} holds a malformed row ({exc})."
            ) from None

    @contextmanager
    def _db(self) -> Iterator[sa.Engine]:
        """The database's engine; its errors become FeedbackError."""
        try:
            yield self._connect()
        except (database.DatabaseError, sqlite3.DatabaseError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            if self.path is None:
                raise FeedbackError(
                    f"The feedback database {self.where} cannot be used ({detail}). Check that it is running "
                    "and reachable and that CMO_ASSISTANT_DATABASE_URL is right, then try again."
                ) from None
            raise FeedbackError(
                f"The feedback database {self.where} cannot be used ({detail}). If another process holds it, "
                "try again; if the file is damaged, move it aside and a new one is created."
            ) from None

    def _connect(self) -> sa.Engine:
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FeedbackError(
                    f"Cannot create the folder {self.path.parent} for feedback: {exc.strerror or exc}."
                ) from None
        return database.open_database(self.url, _METADATA, user_version=_SCHEMA_VERSION)


def to_case(record: FeedbackRecord) -> dict[str, Any] | str:
    """The eval case for one rating, or the reason it cannot be one."""
    if not record.question.strip():
        return "the question is empty"
    base: dict[str, Any] = {
        "id": record.case_id,
        "split": "feedback",
        "category": "feedback-up" if record.rating > 0 else "feedback-down",
        "question": record.question,
        "history": [dict(turn) for turn in record.history],
    }
    if not record.answered:
        if record.rating < 0:
            return (
                "thumbs down on a refusal: the question may be answerable, but there are no quotes to "
                "label it with; add it to evals/golden.jsonl by hand if the sources answer it"
            )
        case = {**base, "answerable": False, "expected_docs": [], "quotes": [], "key_facts": []}
        if record.comment:
            case["note"] = record.comment
        return case
    quotes, long_enough = _quotes(record.citations)
    if not quotes:
        return "the answer has no highlighted sentences in its citations to use as quotes"
    docs: builtins.list[str] = []
    for c in record.citations:
        doc_id = c.get("doc_id")
        if isinstance(doc_id, str) and doc_id and doc_id not in docs:
            docs.append(doc_id)
    case = {**base, "answerable": True, "expected_docs": docs, "quotes": quotes, "key_facts": []}
    reasons = []
    if record.rating < 0:
        reasons.append("rated thumbs down: check that the cited passages answer the question")
    if not long_enough:
        reasons.append(f"every quote is shorter than {MIN_QUOTE_CHARS} characters: widen them")
    if reasons:
        case["needs_review"] = True
        case["review_reason"] = "; ".join(reasons)
    if record.rating < 0 or record.comment:
        case["note"] = record.comment
    return case


def _quotes(citations: Sequence[Mapping[str, Any]]) -> tuple[builtins.list[str], bool]:
    """Highlighted sentences of the cited passages, verbatim; the long ones if there are any.

    :returns: the quotes and whether they are all at least ``MIN_QUOTE_CHARS`` long.
    """
    long: builtins.list[str] = []
    short: builtins.list[str] = []
    for c in citations:
        text = c.get("text")
        if not isinstance(text, str):
            continue
        for span in c.get("highlights") or ():
            if not (isinstance(span, Sequence) and len(span) == 2):
                continue
            start, end = span
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                continue
            quote = text[start:end].strip()
            bucket = long if len(quote) >= MIN_QUOTE_CHARS else short
            if quote and quote not in bucket:
                bucket.append(quote)
    return (long, True) if long else (short, False)


def _clean_history(history: Sequence[Mapping[str, str]] | None) -> builtins.list[dict[str, str]]:
    """Only role and content of each turn, validated like a question's history."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise FeedbackError(
            'history must be a list of {"role": "user"|"assistant", "content": "..."} turns. '
            f"Currently, it is {type(history).__name__}."
        )
    try:
        turns = parse_history([dict(t) if isinstance(t, Mapping) else t for t in history])
    except QuestionError as exc:
        raise FeedbackError(str(exc)) from None
    return [{"role": t.role, "content": t.content} for t in turns]


def _record(row: tuple[Any, ...]) -> FeedbackRecord:
    id_, created, rating, question, answer, answered, citations, comment, history, user = row
    return FeedbackRecord(
        id=int(id_),
        created_at=datetime.fromisoformat(created),
        rating=int(rating),
        question=question,
        answer=answer,
        answered=bool(answered),
        citations=tuple(json.loads(citations)),
        comment=comment,
        history=tuple(json.loads(history)),
        user=user,
    )
