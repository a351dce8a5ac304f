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
    "SecurityHeaders",
    "Users",
    "build_app",
    "launch",
]

CSS = """
.cmo-source {border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px;}
.cmo-source-active {border-color: #0969da; box-shadow: 0 0 0 2px #0969da33;}
.cmo-source-head {font-size: 0.95em;} .cmo-marker {color: #0969da; font-weight: 600;}
.cmo-kind {font-size: 0.75em; padding: 1px 6px; border-radius: 8px; background: #eef2f6; margin-left: 4px;}
.cmo-section {font-size: 0.8em; color: #57606a;} .cmo-doc {font-size: 0.75em; color: #57606a; margin-top: 4px;}
.cmo-passage {font-size: 0.9em; margin-top: 6px;} .cmo-passage mark {background: #fff3b0; padding: 0 1px;}
.cmo-empty {color: #57606a;} .cmo-cite {text-decoration: none; font-weight: 600; cursor: pointer;}
.cmo-refusal {font-weight: 600; color: #9a6700;} .cmo-error {font-weight: 600; color: #cf222e;}
"""
# Clicking a [n] marker brings source card n into view and marks it (event delegation: answers arrive later).
JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".cmo-cite");
    if (!link) return;
    event.preventDefault();
    const card = document.getElementById("source-" + link.dataset.marker);
    if (!card) return;
    document.querySelectorAll(".cmo-source-active").forEach((el) => el.classList.remove("cmo-source-active"));
    card.classList.add("cmo-source-active");
    card.scrollIntoView({behavior: "smooth", block: "center"});
  }, true);
}
"""
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
#: What the document listing's outputs get: the table, then updates of the "open" and "remove" dropdowns.
Listing = tuple[list[list[object]], dict[str, Any], dict[str, Any]]
#: What an upload or a removal shows: a status line, then the listing.
DocumentsUpdate = tuple[str, list[list[object]], dict[str, Any], dict[str, Any]]


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

    # The /ask endpoint: the model's draft while it is being written, then the checked answer and its sources.
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
        draft = ""
        try:
            for item in self.assistant.ask_stream(message, history=turns, kind=KINDS.get(kind_label)):
                if isinstance(item, str):
                    draft += item
                    yield _drafting(shown, draft, answers)
                else:
                    answer = item
        except AssistantError as exc:
            yield _failed(shown, str(exc), answers)
            return
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
        comment: str,
        user: str | None,
    ) -> tuple[str, str]:
        """A thumbs up or down on the chat message at ``index``, with the comment typed for it (then cleared).

        Returns the feedback status line and the comment box's new text. Only answers can be rated.
        """
        answer = answers.get(index if isinstance(index, int) else index[0])
        if answer is None:
            return "Only answers can be rated.", comment
        self.feedback.record(answer, 1 if liked else -1, comment, user=user or "")
        return "Thanks, your feedback was saved.", ""

    # "New conversation": an empty chat, question box, sources, timings and answers; nothing to download.
    @staticmethod
    def new_conversation() -> ChatUpdate:
        return [], "", presentation.sources_html(None), "", {}, None


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
    """The Documents tab's events: the listing, a document opened for reading, uploads and removals.

    With sign-in (a users file), only administrators may add or remove documents; without it, anyone may.
    """

    def __init__(self, assistant: Assistant, users: Users | None) -> None:
        self.assistant = assistant
        self.users = users
        self.quota = UploadQuota(assistant.settings)

    def may_manage(self, user: str | None) -> bool:
        """Whether ``user`` (None: nobody signed in) may add and remove documents."""
        return self.users is None or self.users.is_admin(user)

    # The /documents endpoint: the table, every document to open, and the uploads (only those can be removed).
    def documents(self) -> Listing:
        import gradio as gr

        stats = self.assistant.stats() if self.assistant.has_index() else {"per_document": []}
        rows = presentation.document_rows(stats)
        ids = [str(row[3]) for row in rows]
        uploads = [i for i in ids if i.startswith(f"{self.assistant.settings.uploads_dir.name}/")]
        return rows, gr.update(choices=ids), gr.update(choices=uploads, value=None)

    # A document shown whole for reading (escaped), or why it cannot be.
    def open_document(self, doc_id: str | None) -> str:
        if not doc_id:
            return ""
        try:
            return presentation.document_html(*self.assistant.document_text(doc_id))
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


@dataclass(frozen=True)
class _ChatTab:
    """The Chat tab's components that events read or write."""

    chat: "gr.Chatbot"
    question: "gr.Textbox"
    kind: "gr.Radio"
    new_chat: "gr.Button"
    download: "gr.DownloadButton"
    timings: "gr.Markdown"
    comment: "gr.Textbox"
    feedback_status: "gr.Markdown"
    sources: "gr.HTML"


@dataclass(frozen=True)
class _DocumentsTab:
    """The Documents tab's components that events read or write."""

    table: "gr.Dataframe"
    opener: "gr.Dropdown"
    remover: "gr.Dropdown"
    remove_button: "gr.Button"
    files: "gr.File"
    status: "gr.Markdown"
    viewer: "gr.HTML"


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
        gr.Markdown(
            "## CMO Assistant\nAnswers about the Chief Medical Officer role and your organization's policies, "
            "each sentence cited to the passage it comes from. Click a **[n]** to see the passage."
        )
        chat_tab = _chat_tab()
        documents_tab = _documents_tab(assistant.settings.max_file_mb)
        _wire_chat(chat, chat_tab, answers)
        _wire_documents(app, documents, documents_tab)
    return app


def _chat_tab() -> _ChatTab:
    import gradio as gr

    with gr.Tab("Chat"), gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Conversation", height=460, elem_id="chat", sanitize_html=False)
            question = gr.Textbox(
                label="Your question",
                placeholder="What does a CMO do?",
                max_length=4000,
                elem_id="question",
            )
            with gr.Row():
                kind = gr.Radio(list(KINDS), value="All documents", label="Search", elem_id="kind")
                new_chat = gr.Button("New conversation", elem_id="new-chat")
                download = gr.DownloadButton("Download conversation", elem_id="download", value=None)
            timings = gr.Markdown(elem_id="timings", elem_classes=["cmo-empty"])
            with gr.Row():
                comment = gr.Textbox(
                    label="Comment for your next rating (optional)",
                    max_length=2000,
                    elem_id="feedback-comment",
                )
                feedback_status = gr.Markdown(elem_id="feedback-status")
            for topic, examples in presentation.EXAMPLES.items():
                gr.Examples(examples, inputs=question, label=topic)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(presentation.sources_html(None), elem_id="sources")
    return _ChatTab(chat, question, kind, new_chat, download, timings, comment, feedback_status, sources)


def _documents_tab(max_file_mb: float) -> _DocumentsTab:
    import gradio as gr

    suffixes = list(supported_suffixes())
    with gr.Tab("Documents"):
        table = gr.Dataframe(
            headers=["Title", "Kind", "Chunks", "Document id"], interactive=False, elem_id="documents"
        )
        with gr.Row():
            opener = gr.Dropdown(label="Open a document", choices=[], elem_id="open-doc")
            remover = gr.Dropdown(
                label="Uploaded document to remove",
                choices=[],
                elem_id="remove-select",
                allow_custom_value=True,
            )
            remove_button = gr.Button("Remove", elem_id="remove-doc", variant="stop")
        files = gr.File(
            label=f"Add policy documents ({', '.join(suffixes)}; up to {max_file_mb:g} MB each)",
            file_types=suffixes,
            file_count="multiple",
            elem_id="upload",
        )
        status = gr.Markdown(elem_id="upload-status")
        viewer = gr.HTML(elem_id="doc-view")
    return _DocumentsTab(table, opener, remover, remove_button, files, status, viewer)


def _wire_chat(handlers: ChatHandlers, tab: _ChatTab, answers_state: "gr.State") -> None:
    """The Chat tab's events: /ask, "New conversation", and a rating (with the comment typed before it)."""
    import gradio as gr

    def on_like(
        data: gr.LikeData, answers: dict[int, Answer], comment: str, request: gr.Request
    ) -> tuple[str, str]:
        return handlers.rate(data.index, data.liked, answers, comment, _username(request))

    outputs = [tab.chat, tab.question, tab.sources, tab.timings, answers_state, tab.download]
    inputs = [tab.question, tab.chat, tab.kind, answers_state]
    tab.question.submit(handlers.respond, inputs, outputs, api_name="ask")
    tab.new_chat.click(handlers.new_conversation, None, outputs, api_visibility="private")
    rating = [answers_state, tab.comment]
    tab.chat.like(on_like, rating, [tab.feedback_status, tab.comment], api_visibility="private")


def _wire_documents(app: "gr.Blocks", handlers: DocumentHandlers, tab: _DocumentsTab) -> None:
    """The Documents tab's events: the listing on page load (/documents), opening, /upload and /remove."""
    import gradio as gr

    # Adding and removing need the signed-in user, which gradio passes to a parameter typed gr.Request.
    def upload(files: list[str] | None, request: gr.Request) -> DocumentsUpdate:
        return handlers.upload(files, _username(request))

    def remove(doc_id: str | None, request: gr.Request) -> DocumentsUpdate:
        return handlers.remove(doc_id, _username(request))

    listing = [tab.table, tab.opener, tab.remover]
    app.load(handlers.documents, None, listing, api_name="documents")
    tab.opener.change(handlers.open_document, tab.opener, tab.viewer, api_visibility="private")
    tab.files.upload(upload, tab.files, [tab.status, *listing], api_name="upload")
    tab.remove_button.click(remove, tab.remover, [tab.status, *listing], api_name="remove")


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
            "middleware": [Middleware(SecurityHeaders), Middleware(NoDeepLinks), guard],
            "routes": [Mount("/api", app=build_api(assistant, users, limiter))],
        },
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
