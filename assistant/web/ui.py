"""The only gradio import: ``build_app(assistant)`` returns the Blocks app without launching it.

A thin adapter: answers, documents and feedback come from the Assistant (and the feedback store), every piece of
HTML from assistant.presentation, which escapes all document text. The only script is ours: it makes the ``[n]``
markers bring their passage into view.

The events are handled by :class:`ChatHandlers` (the Chat tab) and :class:`DocumentHandlers` (the Documents
tab), which take plain values (the signed-in user's name, not gradio's request); ``build_app`` lays out the
components and wires the events to them. Sign-in (the users file) is :mod:`assistant.web.auth`.

Gradio itself is imported only inside functions: ``launch`` first points its upload folder into the data dir,
and some gradio modules read that setting when they are imported.

No ``from __future__ import annotations`` here: gradio reads the handlers' annotations (gr.Request, gr.LikeData)
at runtime to know what to pass them. Handlers given to gradio have comments, not docstrings: gradio publishes a
handler's docstring as the description of its API endpoint.
"""

import contextlib
import html
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount

from assistant.answer.query import unreadable_removed
from assistant.errors import AssistantError, ConfigError
from assistant.ingest.readers import supported_suffixes
from assistant.pipeline import Assistant
from assistant.types import Answer
from assistant.web import presentation
from assistant.web.auth import FailureLimiter, SignInGuard, Users
from assistant.web.auth import is_loopback as _is_loopback
from assistant.web.feedback import FeedbackStore
from assistant.web.quota import UploadQuota

if TYPE_CHECKING:
    import gradio as gr

__all__ = [
    "CSS",
    "EXPORT_MAX_AGE_S",
    "JS",
    "KINDS",
    "MAX_HISTORY_CHARS",
    "MAX_HISTORY_TURNS",
    "ChatHandlers",
    "DocumentHandlers",
    "NoDeepLinks",
    "PageTitle",
    "SecurityHeaders",
    "Users",
    "build_app",
    "launch",
]

#: The page's own style and its one script (the ``[n]`` markers, the Sources panel and sheet, the passage preview,
#: plain-text labels for the chat's messages), kept as files beside this module.
_STATIC = Path(__file__).parent / "static"
CSS = (_STATIC / "app.css").read_text(encoding="utf-8")
JS = (_STATIC / "app.js").read_text(encoding="utf-8")
KINDS = {"All documents": None, "Articles only": "article", "Policies only": "policy"}
#: Gradio's copies of uploads and downloads are deleted after a day (checked hourly).
CACHE_CLEANUP_S = (3600, 86400)
#: Conversation files for the download button are deleted after this long (Gradio serves its own copy).
EXPORT_MAX_AGE_S = 3600

#: The most chat history one question may come with: messages, and characters in all of them. The history comes
#: from the browser (or any API caller); a longer one is refused before anything else is done with it.
MAX_HISTORY_TURNS = 50
MAX_HISTORY_CHARS = 100_000

#: A chat message as the app shows it: ``{"role": "user" | "assistant", "content": markdown}``.
Message = dict[str, str]
#: What the Chat tab's outputs get: the chat, the question box, sources, timings, the answers by chat position
#: (a gr.State) and the conversation file for the download button.
ChatUpdate = tuple[list[Message], str, str, str, dict[int, Answer], str | None]
#: What the document listing's outputs get: the table, then an update of the "remove" dropdown.
Listing = tuple[list[list[object]], dict[str, Any]]
#: What an upload or a removal shows: a status line, then the listing.
DocumentsUpdate = tuple[str, list[list[object]], dict[str, Any]]


class ChatHandlers:
    """The Chat tab's events: a question answered (streamed), a rating of an answer, a new conversation.

    The chat comes back from the browser (or any API caller) on every turn: nothing in it is trusted. Every
    message is rendered again here, user text escaped, answers from the server's own record of them (the
    ``answers`` state: the Answer shown at each chat position).
    """

    def __init__(self, assistant: Assistant, feedback: FeedbackStore, exports: Path) -> None:
        self.assistant = assistant
        self.feedback = feedback
        self.exports = exports

    # The /ask endpoint: the question at once, then the answer as it is written, then the checked answer and
    # its sources. An answerer that writes the whole text at once (the extractive default) is shown sentence by
    # sentence, so the answer reads as live; an LLM's draft is shown as it streams in.
    def respond(
        self, message: str, history: list[dict[str, Any]], kind_label: str, answers: dict[int, Answer]
    ) -> Iterator[ChatUpdate]:
        too_long = _history_too_long(history)
        if too_long:
            yield _failed([_user_message(message)], too_long, {})
            return
        turns = [
            {"role": m["role"], "content": _plain(m["content"])}
            for m in history
            if m["role"] in ("user", "assistant")
        ]
        # Nothing sent back is trusted: every message is rendered again (see the class docstring).
        shown = [*_rendered(turns, answers), _user_message(message)]
        yield shown, "", presentation.sources_html(None), "", answers, None
        draft, pieces = "", 0
        try:
            for item in self.assistant.ask_stream(message, history=turns, kind=KINDS.get(kind_label)):
                if isinstance(item, str):
                    draft, pieces = draft + item, pieces + 1
                    if pieces > 1:
                        yield _drafting(shown, draft, answers)
                else:
                    answer = item
        except AssistantError as exc:
            yield _failed(shown, str(exc), answers)
            return
        if pieces <= 1:
            yield from _revealed(shown, answer, answers)
        yield self._answered(shown, answer, answers)

    def _answered(self, shown: list[Message], answer: Answer, answers: dict[int, Answer]) -> ChatUpdate:
        """The checked answer after the chat so far, recorded at its position, with its sources and a download."""
        answer = replace(answer, retrieved=())
        answers = {**answers, len(shown): answer}
        final = [*shown, {"role": "assistant", "content": presentation.answer_markdown(answer)}]
        notices = "".join(f"\n\n_{presentation.draft_markdown(n)}_" for n in answer.notices)
        return (
            final,
            "",
            presentation.sources_html(answer),
            presentation.timings_line(answer) + notices,
            answers,
            _export(answers, final, self.exports),
        )

    def rate(
        self,
        index: int | tuple[int, int],
        liked: bool | str,
        answers: dict[int, Answer],
        chat: list[dict[str, Any]],
        user: str | None,
    ) -> tuple[str, int | None]:
        """A thumbs up or down on the chat message at ``index``, stored with the conversation before it.

        Returns the feedback status line and the stored rating's id (None when nothing was stored). Only
        answers can be rated.
        """
        position = index if isinstance(index, int) else index[0]
        answer = answers.get(position)
        if answer is None:
            return "Only answers can be rated.", None
        up = liked is True or (isinstance(liked, str) and liked.lower() == "like")
        # The turns before the question: an exported case replays the question in its conversation.
        history = [
            {"role": m["role"], "content": _plain(m["content"])}
            for m in chat[: max(position - 1, 0)]
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        try:
            row = self.feedback.record(answer, 1 if up else -1, "", history=history, user=user or "")
        except AssistantError as exc:
            return f"Your rating was not saved. {exc}", None
        if up:
            return "Thanks, your feedback was saved.", row
        return "Thanks. What was wrong with this answer? A comment helps (optional).", row

    def comment(self, rating_id: int | None, text: str) -> tuple[str, str]:
        """The comment typed after a thumbs-down, added to that rating. Returns the status and the box's text."""
        if rating_id is None:
            return "Rate an answer with a thumbs-down first, then add a comment.", text
        if not text.strip():
            return "Type a comment first (or leave it: your rating is saved).", text
        try:
            self.feedback.add_comment(rating_id, text)
        except AssistantError as exc:
            return f"Your comment was not saved. {exc}", text
        return "Thanks, your comment was saved with your rating.", ""

    # "New conversation": an empty chat, question box, sources, timings and answers; nothing to download.
    @staticmethod
    def new_conversation() -> ChatUpdate:
        return [], "", presentation.sources_html(None), "", {}, None


#: Pause between the sentences of an answer shown progressively: quick to read, yet visibly live.
REVEAL_PAUSE_S = 0.08
#: Where an answer may be cut while it is revealed: after a sentence's end and its markers, or a line.
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+\])*(?=\s)|\n")


def _revealed(shown: list[Message], answer: Answer, answers: dict[int, Answer]) -> Iterator[ChatUpdate]:
    """The checked answer, one more sentence at a time (markers linked, sources shown), before it is complete."""
    text = answer.answer
    cuts = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text.rstrip())]
    if not answer.answered or not cuts:
        return
    sources = presentation.sources_html(answer)
    for cut in cuts:
        partial = presentation.answer_markdown(replace(answer, answer=text[:cut].rstrip()))
        yield [*shown, {"role": "assistant", "content": partial}], "", sources, "", answers, None
        time.sleep(REVEAL_PAUSE_S)


def _history_too_long(history: Any) -> str:
    """Why the chat history sent with a question is refused (too many messages or characters); "" if it is not."""
    if not isinstance(history, list):
        return "The conversation sent with the question is not a list of messages. Start a new conversation."
    if len(history) > MAX_HISTORY_TURNS:
        return (
            f"The conversation is too long ({len(history)} messages; at most {MAX_HISTORY_TURNS}). "
            "Start a new conversation."
        )
    chars = sum(len(_plain(m.get("content", ""))) if isinstance(m, dict) else len(str(m)) for m in history)
    if chars > MAX_HISTORY_CHARS:
        return (
            f"The conversation is too long ({chars:,} characters; at most {MAX_HISTORY_CHARS:,}). "
            "Start a new conversation."
        )
    return ""


def _drafting(shown: list[Message], draft: str, answers: dict[int, Answer]) -> ChatUpdate:
    """The chat with the model's draft, escaped, while it is being written; the checked answer replaces it."""
    chat = [*shown, {"role": "assistant", "content": presentation.draft_markdown(draft)}]
    return chat, "", presentation.sources_html(None), "", answers, None


def _failed(shown: list[Message], message: str, answers: dict[int, Answer]) -> ChatUpdate:
    """The chat with the reason the question could not be answered in place of an answer."""
    chat = [*shown, {"role": "assistant", "content": presentation.error_markdown(message)}]
    return chat, "", presentation.sources_html(None), "", answers, None


class DocumentHandlers:
    """The Documents tab's events: the listing (filtered), a document opened for reading, uploads and removals.

    With sign-in (a users file), only administrators may add or remove documents; without it, anyone may.
    """

    def __init__(self, assistant: Assistant, users: Users | None) -> None:
        self.assistant = assistant
        self.users = users
        self.quota = UploadQuota(assistant.settings)

    def may_manage(self, user: str | None) -> bool:
        """Whether ``user`` (None: nobody signed in) may add and remove documents."""
        return self.users is None or self.users.is_admin(user)

    # The /documents endpoint: the table (only the rows the filter matches) and the uploads (only those can be
    # removed).
    def documents(self, query: str = "") -> Listing:
        import gradio as gr

        stats = self.assistant.stats() if self.assistant.has_index() else {"per_document": []}
        every = presentation.document_rows(stats)
        uploads = [
            str(r[3]) for r in every if str(r[3]).startswith(f"{self.assistant.settings.uploads_dir.name}/")
        ]
        return presentation.document_rows(stats, query), gr.update(choices=uploads, value=None)

    # A document shown whole for reading (formatted, escaped; a PDF page by page), or why it cannot be.
    def open_document(self, doc_id: str | None) -> str:
        if not doc_id:
            return ""
        try:
            doc = self.assistant.document(doc_id)
            return presentation.document_html(doc.title, doc.text, doc.pages)
        except AssistantError as exc:
            return presentation.error_markdown(str(exc))

    def upload(self, files: list[str] | None, user: str | None) -> DocumentsUpdate:
        """Add the uploaded files (gradio's copies) to the index, one status line per file, then the listing."""
        if not self.may_manage(user):
            return ("Only an administrator can add documents.", *self.documents())
        messages = [self._added(Path(path), user) for path in files or []]
        return ("\n\n".join(messages) or "Choose a file to upload.", *self.documents())

    def _added(self, path: Path, user: str | None) -> str:
        """Index one uploaded file (within the user's upload quota); says whether it is searchable now, or why
        not."""
        name = path.name
        try:
            self.quota.take(user, path.stat().st_size)
            report = self.assistant.add_document(name, path.read_bytes())
        except AssistantError as exc:
            return f"{name}: not added. {exc}"
        problems = [f"{Path(p).name}: {why}" for p, why in report.skipped if Path(p).name == name]
        if self.assistant.uploads.doc_id(name) in report.unchanged:  # e.g. sent twice at once
            return f"{name}: already there, with the same content; nothing was changed."
        message = f"{name}: " + ("; ".join(problems) if problems else "added and searchable now.")
        if report.removed:  # e.g. the example policies, once the organization has documents of its own
            message += " No longer indexed: " + ", ".join(report.removed) + "."
        return message

    def remove(self, doc_id: str | None, user: str | None) -> DocumentsUpdate:
        """Remove an uploaded document from the index and the uploads folder, then the listing."""
        if not self.may_manage(user):
            return ("Only an administrator can remove documents.", *self.documents())
        if not doc_id:
            return ("Choose an uploaded document to remove.", *self.documents())
        try:
            self.assistant.remove_document(doc_id)
        except AssistantError as exc:
            return (str(exc), *self.documents())
        return (f"{doc_id} removed.", *self.documents())


def signed_in_html(user: str | None, users: Users | None) -> str:
    """Who is signed in, their role and a Sign out link; nothing without sign-in."""
    if users is None or not user:
        return ""
    role = "administrator" if users.is_admin(user) else "user"
    return (
        f"<div class='cmo-user'>Signed in as <strong>{presentation.inert(user)}</strong> ({role})"
        "<a href='/logout'>Sign out</a></div>"
    )


@dataclass(frozen=True)
class _ChatTab:
    """The Chat tab's components that events read or write."""

    chat: "gr.Chatbot"
    question: "gr.Textbox"
    stop: "gr.Button"
    kind: "gr.Radio"
    new_chat: "gr.Button"
    download: "gr.DownloadButton"
    timings: "gr.Markdown"
    comment_box: "gr.Group"
    comment: "gr.Textbox"
    send_comment: "gr.Button"
    feedback_status: "gr.Markdown"
    sources: "gr.HTML"


@dataclass(frozen=True)
class _DocumentsTab:
    """The Documents tab's components that events read or write."""

    search: "gr.Textbox"
    table: "gr.Dataframe"
    chosen: "gr.Textbox"
    viewer: "gr.HTML"
    manage: "gr.Column"
    remover: "gr.Dropdown"
    remove_button: "gr.Button"
    files: "gr.File"
    status: "gr.Markdown"


#: The chat's first screen: what it answers, and starter questions (by topic) that ask when clicked.
EMPTY_STATE = (
    "**Ask about the Chief Medical Officer role or your organization's policies.**\n\n"
    "Every sentence of an answer is cited: click a **[n]** to see its passage. Try one of these:"
)
STARTERS = [
    ("CMO duties", "What does a Chief Medical Officer do?"),
    ("Leadership skills", "What leadership skills does a CMO need?"),
    ("Hospital vs FQHC", "How is a hospital CMO different from an FQHC CMO?"),
    ("Career paths", "What qualifications do I need to become a CMO?"),
    ("Our policies", "How often are clinical policies reviewed?"),
    ("Our policies", "How quickly must a patient safety event be reported?"),
]


def build_app(assistant: Assistant, users: Users | None = None) -> "gr.Blocks":
    """The app's components laid out in two tabs (Chat, Documents), their events wired to the handlers."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    chat = ChatHandlers(
        assistant,
        FeedbackStore.from_settings(assistant.settings),
        exports=assistant.settings.data_dir / "gradio" / "exports",
    )
    documents = DocumentHandlers(assistant, users)
    app = gr.Blocks(title="CMO Assistant", delete_cache=CACHE_CLEANUP_S)
    with app:
        answers = gr.State({})
        with gr.Row(elem_id="cmo-header"):
            gr.Markdown("# CMO Assistant", elem_id="cmo-title")
            user_line = gr.HTML("", elem_id="signed-in")
        gr.Markdown(
            "Answers about the Chief Medical Officer role and your organization's policies, each sentence cited "
            "to the passage it comes from.",
            elem_id="cmo-intro",
        )
        chat_tab = _chat_tab()
        documents_tab = _documents_tab(assistant.settings.max_file_mb)
        _wire_chat(chat, chat_tab, answers)
        _wire_documents(app, documents, documents_tab)

        # Who is signed in, and the add/remove controls only for those who may use them (hidden controls are
        # not rendered at all: an ordinary user's page holds none).
        def on_load(request: gr.Request) -> tuple[str, dict[str, Any]]:
            user = _username(request)
            return signed_in_html(user, users), gr.update(visible=documents.may_manage(user))

        app.load(on_load, None, [user_line, documents_tab.manage], api_visibility="private")
    return app


def _chat_tab() -> _ChatTab:
    import gradio as gr

    with gr.Tab("Chat"), gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            chat = gr.Chatbot(
                label="Conversation",
                show_label=False,
                height="58vh",
                min_height=320,
                elem_id="chat",
                sanitize_html=False,
                autoscroll=False,
                placeholder=EMPTY_STATE,
                examples=[{"text": q, "display_text": f"{topic}: {q}"} for topic, q in STARTERS],
                feedback_options=("Like", "Dislike"),
                buttons=["copy"],
            )
            question = gr.Textbox(
                label="Your question",
                placeholder="Ask a question, e.g. What does a CMO do?",
                max_length=4000,
                elem_id="question",
                submit_btn="Send",
            )
            # Shown only while an answer is being written. A button of its own: changing the question box
            # while a question is sent could lose the question typed in it.
            stop = gr.Button("Stop", elem_id="stop", visible=False, size="sm", variant="secondary")
            with gr.Group(visible=False, elem_id="feedback-comment-box") as comment_box:
                comment = gr.Textbox(
                    label="What was wrong with this answer? (optional)",
                    max_length=2000,
                    lines=2,
                    elem_id="feedback-comment",
                )
                send_comment = gr.Button("Send comment", elem_id="send-comment", size="sm")
            feedback_status = gr.Markdown(elem_id="feedback-status")
            with gr.Row():
                kind = gr.Radio(list(KINDS), value="All documents", label="Search", elem_id="kind")
                new_chat = gr.Button("New conversation", elem_id="new-chat")
                download = gr.DownloadButton("Download conversation", elem_id="download", value=None)
            timings = gr.Markdown(elem_id="timings", elem_classes=["cmo-empty"])
        sources = _sources_panel()
    return _ChatTab(
        chat,
        question,
        stop,
        kind,
        new_chat,
        download,
        timings,
        comment_box,
        comment,
        send_comment,
        feedback_status,
        sources,
    )


def _sources_panel() -> "gr.HTML":
    """The Sources panel beside the chat (a bottom sheet on a phone, with its Close button); returns its cards."""
    import gradio as gr

    with gr.Column(scale=2, min_width=300, elem_id="sources-panel"):
        gr.HTML(
            "<div class='cmo-sheet-bar'><h2>Sources</h2>"
            "<button type='button' class='cmo-sheet-close'>Close</button></div>"
        )
        return gr.HTML(presentation.sources_html(None), elem_id="sources")


def _documents_tab(max_file_mb: float) -> _DocumentsTab:
    import gradio as gr

    suffixes = list(supported_suffixes())
    with gr.Tab("Documents"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                search = gr.Textbox(
                    label="Filter documents",
                    placeholder="A word of the title, kind or id",
                    elem_id="doc-filter",
                )
                table = gr.Dataframe(
                    headers=["Title", "Kind", "Chunks", "Document id"],
                    interactive=False,
                    elem_id="documents",
                    label="Documents (click a row to read it)",
                )
            with gr.Column(scale=1, min_width=320):
                viewer = gr.HTML(
                    "<p class='cmo-empty'>Click a document in the list to read it here.</p>",
                    elem_id="doc-view",
                )
                chosen = gr.Textbox(visible="hidden", label="Document id")  # carries the row to open
        with gr.Column(visible=False, elem_id="manage-documents") as manage:
            files = gr.File(
                label=f"Add policy documents ({', '.join(suffixes)}; up to {max_file_mb:g} MB each)",
                file_types=suffixes,
                file_count="multiple",
                elem_id="upload",
            )
            status = gr.Markdown(elem_id="upload-status")
            with gr.Row():
                remover = gr.Dropdown(
                    label="Uploaded document to remove",
                    choices=[],
                    elem_id="remove-select",
                    allow_custom_value=True,
                )
                remove_button = gr.Button("Remove", elem_id="remove-doc", variant="stop")
    return _DocumentsTab(search, table, chosen, viewer, manage, remover, remove_button, files, status)


def _wire_chat(handlers: ChatHandlers, tab: _ChatTab, answers_state: "gr.State") -> None:
    """The Chat tab's events: /ask (from the box, Send or a starter question), Stop, "New conversation", and a
    rating (a comment box after a thumbs-down)."""
    import gradio as gr

    outputs = [tab.chat, tab.question, tab.sources, tab.timings, answers_state, tab.download]
    inputs = [tab.question, tab.chat, tab.kind, answers_state]

    def busy() -> dict[str, Any]:
        return gr.update(visible=True)

    def idle() -> dict[str, Any]:
        return gr.update(visible=False)

    def starter(data: gr.SelectData) -> str:
        return str(data.value.get("text", "")) if isinstance(data.value, dict) else ""

    private: dict[str, Any] = {"api_visibility": "private"}
    asked = tab.question.submit(_require_question, tab.question, None, queue=False, **private)
    picked = tab.chat.example_select(starter, None, tab.question, queue=False, **private)
    running = [
        asked.success(handlers.respond, inputs, outputs, api_name="ask"),
        picked.success(handlers.respond, inputs, outputs, **private),
    ]
    for started in (asked, picked):
        started.success(busy, None, tab.stop, queue=False, **private)
    for event in running:
        event.then(idle, None, tab.stop, queue=False, **private)
    tab.stop.click(idle, None, tab.stop, cancels=running, queue=False, **private)
    tab.new_chat.click(handlers.new_conversation, None, outputs, **private)
    tab.chat.clear(handlers.new_conversation, None, outputs, **private)  # the chat's own bin button
    _wire_rating(handlers, tab, answers_state)


def _require_question(question: str) -> None:
    # Nothing is asked for an empty box (the page's script already keeps Enter from sending one).
    import gradio as gr

    if not question.strip():
        raise gr.Error("Type a question first.", visible=False, print_exception=False)


def _wire_rating(handlers: ChatHandlers, tab: _ChatTab, answers_state: "gr.State") -> None:
    """Thumbs under each answer store the rating with its conversation; a thumbs-down opens a comment box."""
    import gradio as gr

    rating = gr.State(None)

    def on_like(
        data: gr.LikeData, answers: dict[int, Answer], chat: list[dict[str, Any]], request: gr.Request
    ) -> tuple[str, int | None, dict[str, Any], str]:
        status, row = handlers.rate(data.index, data.liked, answers, chat, _username(request))
        down = row is not None and data.liked is not True and str(data.liked).lower() != "like"
        return status, row, gr.update(visible=down), ""

    def on_comment(row: int | None, text: str) -> tuple[str, str, dict[str, Any]]:
        status, left = handlers.comment(row, text)
        return status, left, gr.update(visible=bool(left))

    liked = [tab.feedback_status, rating, tab.comment_box, tab.comment]
    tab.chat.like(on_like, [answers_state, tab.chat], liked, api_visibility="private")
    commented = [tab.feedback_status, tab.comment, tab.comment_box]
    tab.send_comment.click(on_comment, [rating, tab.comment], commented, api_visibility="private")
    tab.comment.submit(on_comment, [rating, tab.comment], commented, api_visibility="private")


def _wire_documents(app: "gr.Blocks", handlers: DocumentHandlers, tab: _DocumentsTab) -> None:
    """The Documents tab's events: the listing on page load (/documents), the filter, a row opened, /upload and
    /remove."""
    import gradio as gr

    # Adding and removing need the signed-in user, which gradio passes to a parameter typed gr.Request.
    def upload(files: list[str] | None, request: gr.Request) -> DocumentsUpdate:
        return handlers.upload(files, _username(request))

    def remove(doc_id: str | None, request: gr.Request) -> DocumentsUpdate:
        return handlers.remove(doc_id, _username(request))

    # A click on any cell of a row chooses that row's document (its id is the last column); it is then opened.
    def chosen(data: gr.SelectData) -> str:
        row = data.row_value if isinstance(data.row_value, list) else []
        return str(row[3]) if len(row) > 3 else ""

    listing = [tab.table, tab.remover]
    app.load(handlers.documents, None, listing, api_name="documents")
    tab.search.change(handlers.documents, tab.search, listing, api_visibility="private")
    tab.table.select(chosen, None, tab.chosen, queue=False, api_visibility="private").then(
        handlers.open_document, tab.chosen, tab.viewer, api_visibility="private"
    )
    # Once added (or refused), the files leave the upload area: the status line and the list say what happened.
    tab.files.upload(upload, tab.files, [tab.status, *listing], api_name="upload").then(
        _emptied, None, tab.files, queue=False, api_visibility="private"
    )
    tab.remove_button.click(remove, tab.remover, [tab.status, *listing], api_name="remove")


def _emptied() -> None:
    # The upload area's new value: no files.
    return None


def _username(request: "gr.Request | None") -> str | None:
    """The signed-in user's name; None without sign-in (or outside a request)."""
    return None if request is None else request.username


def _user_message(text: str) -> Message:
    """A user's message for the chat: escaped and inert (it is shown with the app's own markup allowed), and
    without lone surrogates (bytes that were not UTF-8), which the app's JSON encoder refuses."""
    return {"role": "user", "content": presentation.user_markdown(unreadable_removed(text))}


def _rendered(turns: list[dict[str, str]], answers: dict[int, Answer]) -> list[Message]:
    """The conversation as the chat shows it, rebuilt from plain text: a user's turn escaped; an assistant's turn
    from the Answer the server recorded at that position, otherwise as escaped text."""
    shown: list[Message] = []
    for index, turn in enumerate(turns):
        if turn["role"] == "user":
            shown.append(_user_message(turn["content"]))
            continue
        answer = answers.get(index)
        content = (
            presentation.answer_markdown(answer)
            if answer is not None and turn["content"] == _plain(presentation.answer_markdown(answer))
            else presentation.draft_markdown(turn["content"])
        )
        shown.append({"role": "assistant", "content": content})
    return shown


def _plain(content: Any) -> str:
    """Chat content as text (gradio may hand back a list of parts); our markup is stripped."""
    if isinstance(content, list):
        content = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return html.unescape(re.sub(r"<[^>]+>", "", str(content)))


def _export(answers: dict[int, Answer], history: list[dict[str, Any]], folder: Path) -> str:
    """The conversation with its citations as a Markdown file for the download button.

    Written in the data dir (never the machine-wide temp folder); files older than an hour are removed first.
    """
    turns = [
        (_plain(history[i - 1]["content"]), a) for i, a in sorted(answers.items()) if 0 < i <= len(history)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - EXPORT_MAX_AGE_S
    for old in folder.glob("cmo-conversation-*.md"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
    handle, name = tempfile.mkstemp(prefix="cmo-conversation-", suffix=".md", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(presentation.conversation_markdown(turns))
    return name


def launch(assistant: Assistant, host: str, port: int) -> None:
    """Build the index if there is none, then serve the app (blocking).

    Refuses (ConfigError) to listen on anything but a loopback address without a users file: anyone who can
    reach the port could then ask, upload and remove documents.
    """
    if not assistant.settings.users_file and not _is_loopback(host):
        raise ConfigError(
            f"listening on {host} without a users file would let anyone on the network use it; "
            "set CMO_ASSISTANT_USERS_FILE to a users file (sign-in), or serve on 127.0.0.1."
        )
    # Gradio serves any file in its upload folder; by default that is /tmp/gradio, shared by every Gradio app on
    # the machine. Ours lives in the data dir (set before gradio is imported: some modules read it then).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(assistant.settings.data_dir.resolve() / "gradio"))
    users = Users.load(assistant.settings.users_file)
    report = assistant.ensure_index(progress=True)
    if report is not None:
        print(report.summary())
    app = build_app(assistant, users)
    app.queue(default_concurrency_limit=4, max_size=64)
    from assistant.web.api import build_api  # it imports this module's limits

    limiter = FailureLimiter()
    guard = Middleware(
        SignInGuard, users=users, limiter=limiter, session_s=assistant.settings.session_hours * 3600
    )
    app.launch(
        server_name=host,
        server_port=port,
        css=CSS,
        js=JS,
        show_error=False,
        max_file_size=f"{assistant.settings.max_file_mb:g}mb",
        # gradio awaits a coroutine function here (its type says a plain callable): bcrypt runs off the loop
        auth=users.sign_in if users else None,  # type: ignore[arg-type]
        auth_message="Sign in to CMO Assistant." if users else None,
        app_kwargs={
            "middleware": [
                Middleware(SecurityHeaders),
                Middleware(NoDeepLinks),
                Middleware(PageTitle),
                guard,
            ],
            "routes": [Mount("/api", app=build_api(assistant, users, limiter))],
        },
        theme=_theme(),
        footer_links=[],
        # Quiet: gradio's own lines suggest share=True, which this app (on a local address) must not use.
        quiet=True,
        prevent_thread_lock=True,
    )
    print(f"CMO Assistant is running at http://{host}:{port} (press Ctrl+C to stop).", flush=True)
    app.block_thread()


def _theme() -> "gr.themes.Base":
    """Gradio's default look with colours that keep text readable (WCAG AA contrast) on buttons and links."""
    import gradio as gr

    return gr.themes.Default(primary_hue="blue").set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        button_cancel_background_fill="#b42318",
        button_cancel_background_fill_hover="#912018",
        button_cancel_text_color="white",
        color_accent="*primary_700",
        color_accent_soft="*primary_50",
    )


#: Sent with every HTTP response. The page loads nothing from elsewhere (no remote image, script, frame or font),
#: cannot be framed, and sends no Referer. Gradio's page needs inline scripts and styles (and eval for its
#: bundles), blob: and data: for its workers, uploads and icons, and its own origin for the API and queue.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; "
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "media-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "worker-src 'self' blob:; "
        "frame-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every HTTP response, replacing any the app set itself."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()
        ]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                message = {**message, "headers": [*kept, *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)


class PageTitle:
    """ASGI middleware: the page's ``<title>`` is in the HTML itself. Gradio sets it from the app's settings once
    they have loaded, which the sign-in page never does: it would have no title for a screen reader or a tab."""

    TITLE = b"<title>CMO Assistant</title>"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope["path"].rstrip("/") != "":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def titled(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = bytes(body)
            if b"<title>" not in page and b"<head>" in page:
                page = page.replace(b"<head>", b"<head>" + self.TITLE, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, titled)


class NoDeepLinks:
    """ASGI middleware: Gradio's deep links are turned off. A deep link saves one session's components (its chat
    included) for anyone who opens the link, so one user's content would run in another's page, an admin's too.
    Creating one answers 404, and a page asked for with ``?deep_link=`` is refused."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _is_deep_link(scope["path"], scope.get("query_string", b"")):
            response = PlainTextResponse("Deep links are turned off in CMO Assistant.", status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_deep_link(path: str, query: bytes) -> bool:
    return path.rstrip("/").endswith("/deep_link") or "deep_link" in parse_qs(query.decode("latin-1"))
