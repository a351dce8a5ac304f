"""The only gradio import: ``build_app(assistant)`` returns the Blocks app without launching it.

A thin adapter: answers, documents and feedback come from the Assistant (and the feedback store), every piece of
HTML from assistant.presentation, which escapes all document text. The only script is ours: it makes the ``[n]``
markers bring their passage into view.

No ``from __future__ import annotations`` here: gradio reads the handlers' annotations (gr.Request, gr.LikeData)
at runtime to know what to pass them.
"""

import contextlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware

from assistant.answer.query import unreadable_removed
from assistant.errors import AssistantError, ConfigError
from assistant.pipeline import Assistant
from assistant.types import Answer
from assistant.web import presentation

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
UPLOAD_TYPES = [".md", ".txt", ".pdf", ".docx", ".html"]


@dataclass(frozen=True)
class Users:
    """Sign-in for the app, read from a JSON file: {"name": {"password": "...", "role": "admin" | "user"}}."""

    accounts: dict[str, tuple[str, str]]

    @classmethod
    def load(cls, path: str) -> "Users | None":
        if not path:
            return None
        try:
            raw = json.loads(Path(path).read_text("utf-8"))
            accounts = {str(n): (str(v["password"]), str(v.get("role", "user"))) for n, v in raw.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"Cannot read the users file {path} ({exc.__class__.__name__}). It must be JSON like "
                '{"name": {"password": "...", "role": "admin"}}.'
            ) from None
        if not accounts:
            raise ConfigError(f"The users file {path} lists no users.")
        return cls(accounts)

    def check(self, name: str, password: str) -> bool:
        expected = self.accounts.get(name)
        return expected is not None and hmac.compare_digest(expected[0].encode(), password.encode())

    def is_admin(self, name: str | None) -> bool:
        return name is not None and self.accounts.get(name, ("", ""))[1] == "admin"


def build_app(assistant: Assistant, users: Users | None = None) -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from assistant.web.feedback import FeedbackStore, feedback_path

    feedback = FeedbackStore(feedback_path(assistant.settings))
    exports = assistant.settings.data_dir / "gradio" / "exports"

    def may_manage(request: gr.Request | None) -> bool:
        return users is None or users.is_admin(getattr(request, "username", None))

    def respond(
        message: str, history: list[dict[str, Any]], kind_label: str, answers: dict[int, Answer]
    ) -> Any:
        turns = [
            {"role": m["role"], "content": _plain(m["content"])}
            for m in history
            if m["role"] in ("user", "assistant")
        ]
        # The chat comes back from the browser (or any API caller): nothing in it is trusted. Every message is
        # rendered again here, user text escaped, answers from the server's own record of them.
        history = [*_rendered(turns, answers), _user_message(message)]
        draft = ""
        try:
            for item in assistant.ask_stream(message, history=turns, kind=KINDS.get(kind_label)):
                if isinstance(item, str):
                    # The model's draft, escaped, while it is being written; the checked answer replaces it.
                    draft += item
                    chat = [*history, {"role": "assistant", "content": presentation.draft_markdown(draft)}]
                    yield chat, "", presentation.sources_html(None), "", answers, None
                else:
                    answer = item
        except AssistantError as exc:
            history.append({"role": "assistant", "content": presentation.error_markdown(str(exc))})
            yield history, "", presentation.sources_html(None), "", answers, None
            return
        answer = replace(answer, retrieved=())
        answers = {**answers, len(history): answer}
        final = [*history, {"role": "assistant", "content": presentation.answer_markdown(answer)}]
        notices = "".join(f"\n\n_{presentation.draft_markdown(n)}_" for n in answer.notices)
        yield (
            final,
            "",
            presentation.sources_html(answer),
            presentation.timings_line(answer) + notices,
            answers,
            _export(answers, final, exports),
        )

    def on_like(data: gr.LikeData, answers: dict[int, Answer], comment: str, request: gr.Request) -> Any:
        index = data.index if isinstance(data.index, int) else data.index[0]
        answer = answers.get(index)
        if answer is None:
            return "Only answers can be rated.", comment
        feedback.record(answer, 1 if data.liked else -1, comment, user=getattr(request, "username", "") or "")
        return "Thanks, your feedback was saved.", ""

    def documents() -> Any:
        stats = assistant.stats() if assistant.has_index() else {"per_document": []}
        ids = [str(row[3]) for row in presentation.document_rows(stats)]
        uploads = [i for i in ids if i.startswith(f"{assistant.settings.uploads_dir.name}/")]
        return (
            presentation.document_rows(stats),
            gr.update(choices=ids),
            gr.update(choices=uploads, value=None),
        )

    def open_document(doc_id: str | None) -> str:
        if not doc_id:
            return ""
        try:
            return presentation.document_html(*assistant.document_text(doc_id))
        except AssistantError as exc:
            return presentation.error_markdown(str(exc))

    def upload(files: list[str] | None, request: gr.Request) -> Any:
        if not may_manage(request):
            return ("Only an administrator can add documents.", *documents())
        messages = []
        for path in files or []:
            name = Path(path).name
            try:
                report = assistant.add_document(name, Path(path).read_bytes())
            except AssistantError as exc:
                messages.append(f"{name}: not added. {exc}")
                continue
            problems = [f"{Path(p).name}: {why}" for p, why in report.skipped if Path(p).name == name]
            messages.append(f"{name}: " + ("; ".join(problems) if problems else "added and searchable now."))
        return ("\n\n".join(messages) or "Choose a file to upload.", *documents())

    def remove(doc_id: str | None, request: gr.Request) -> Any:
        if not may_manage(request):
            return ("Only an administrator can remove documents.", *documents())
        if not doc_id:
            return ("Choose an uploaded document to remove.", *documents())
        try:
            assistant.remove_document(doc_id)
        except AssistantError as exc:
            return (str(exc), *documents())
        return (f"{doc_id} removed.", *documents())

    # Gradio's copies of uploads and downloads are deleted after a day (checked hourly).
    with gr.Blocks(title="CMO Assistant", delete_cache=(3600, 86400)) as app:
        answers = gr.State({})
        gr.Markdown(
            "## CMO Assistant\nAnswers about the Chief Medical Officer role and your organization's policies, "
            "each sentence cited to the passage it comes from. Click a **[n]** to see the passage."
        )
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
                label=f"Add policy documents ({', '.join(UPLOAD_TYPES)}; up to "
                f"{assistant.settings.max_file_mb:g} MB each)",
                file_types=UPLOAD_TYPES,
                file_count="multiple",
                elem_id="upload",
            )
            status = gr.Markdown(elem_id="upload-status")
            viewer = gr.HTML(elem_id="doc-view")

        outputs = [chat, question, sources, timings, answers, download]
        question.submit(respond, [question, chat, kind, answers], outputs, api_name="ask")
        new_chat.click(
            lambda: ([], "", presentation.sources_html(None), "", {}, None),
            None,
            outputs,
            api_visibility="private",
        )
        chat.like(on_like, [answers, comment], [feedback_status, comment], api_visibility="private")
        app.load(documents, None, [table, opener, remover], api_name="documents")
        opener.change(open_document, opener, viewer, api_visibility="private")
        files.upload(upload, files, [status, table, opener, remover], api_name="upload")
        remove_button.click(remove, remover, [status, table, opener, remover], api_name="remove")
    return app


def _user_message(text: str) -> dict[str, str]:
    """A user's message for the chat: escaped and inert (it is shown with the app's own markup allowed), and
    without lone surrogates (bytes that were not UTF-8), which the app's JSON encoder refuses."""
    return {"role": "user", "content": presentation.user_markdown(unreadable_removed(text))}


def _rendered(turns: list[dict[str, str]], answers: dict[int, Answer]) -> list[dict[str, str]]:
    """The conversation as the chat shows it, rebuilt from plain text: a user's turn escaped; an assistant's turn
    from the Answer the server recorded at that position, otherwise as escaped text."""
    shown: list[dict[str, str]] = []
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
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", str(content)))


#: Conversation files for the download button are deleted after this long (Gradio serves its own copy).
EXPORT_MAX_AGE_S = 3600


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
    """Build the index if there is none, then serve the app (blocking)."""
    # Gradio serves any file in its upload folder; by default that is /tmp/gradio, shared by every Gradio app on
    # the machine. Ours lives in the data dir (set before gradio is imported: some modules read it then).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(assistant.settings.data_dir.resolve() / "gradio"))
    users = Users.load(assistant.settings.users_file)
    report = assistant.ensure_index(progress=True)
    if report is not None:
        print(report.summary())
    app = build_app(assistant, users)
    app.queue(default_concurrency_limit=4, max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        css=CSS,
        js=JS,
        show_error=False,
        max_file_size=f"{assistant.settings.max_file_mb:g}mb",
        auth=users.check if users else None,
        auth_message="Sign in to CMO Assistant." if users else None,
        app_kwargs={"middleware": [Middleware(NoDeepLinks)]},
    )


class NoDeepLinks:
    """ASGI middleware: Gradio's deep links are turned off. A deep link saves one session's components (its chat
    included) for anyone who opens the link, so one user's content would run in another's page, an admin's too.
    Creating one answers 404, and a page asked for with ``?deep_link=`` is refused."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _is_deep_link(scope["path"], scope.get("query_string", b"")):
            from starlette.responses import PlainTextResponse

            response = PlainTextResponse("Deep links are turned off in CMO Assistant.", status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_deep_link(path: str, query: bytes) -> bool:
    from urllib.parse import parse_qs

    return path.rstrip("/").endswith("/deep_link") or "deep_link" in parse_qs(query.decode("latin-1"))
