"""The only gradio import: ``build_app(assistant)`` returns the Blocks app without launching it.

A thin adapter: every decision is made by the Assistant and every piece of HTML by assistant.presentation.
"""

from __future__ import annotations

import os
from typing import Any

from . import presentation
from .errors import AssistantError
from .pipeline import Assistant

CSS = """
.cmo-source {border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px;}
.cmo-source-head {font-size: 0.95em;} .cmo-marker {color: #0969da; font-weight: 600;}
.cmo-kind {font-size: 0.75em; padding: 1px 6px; border-radius: 8px; background: #eef2f6; margin-left: 4px;}
.cmo-section {font-size: 0.8em; color: #57606a;} .cmo-doc {font-size: 0.75em; color: #57606a; margin-top: 4px;}
.cmo-passage {font-size: 0.9em; margin-top: 6px;} .cmo-passage mark {background: #fff3b0; padding: 0 1px;}
.cmo-empty {color: #57606a;}
"""
KINDS = {"All documents": None, "Articles only": "article", "Policies only": "policy"}


def build_app(assistant: Assistant) -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    def respond(message: str, history: list[dict[str, Any]], kind_label: str) -> tuple[Any, ...]:
        turns = [
            {"role": m["role"], "content": _text(m["content"])}
            for m in history
            if m["role"] in ("user", "assistant")
        ]
        try:
            answer = assistant.ask(message, history=turns, kind=KINDS.get(kind_label))
        except AssistantError as exc:
            history = [
                *history,
                {"role": "user", "content": message},
                {"role": "assistant", "content": f"**Error:** {exc}"},
            ]
            return history, "", presentation.sources_html(None), ""
        history = [
            *history,
            {"role": "user", "content": message},
            {"role": "assistant", "content": presentation.answer_markdown(answer)},
        ]
        return history, "", presentation.sources_html(answer), presentation.timings_line(answer)

    with gr.Blocks(title="CMO Assistant") as app:
        gr.Markdown(
            "## CMO Assistant\nAnswers about the Chief Medical Officer role and your policies, cited to the passages they come from."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", height=480)
                question = gr.Textbox(
                    label="Your question", placeholder="What does a CMO do?", max_length=4000
                )
                with gr.Row():
                    kind = gr.Radio(list(KINDS), value="All documents", label="Search")
                    clear = gr.Button("New conversation")
                timings = gr.Markdown(elem_classes=["cmo-empty"])
                for topic, questions in presentation.EXAMPLES.items():
                    gr.Examples(questions, inputs=question, label=topic)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(presentation.sources_html(None))
        question.submit(respond, [question, chat, kind], [chat, question, sources, timings], api_name="ask")
        clear.click(
            lambda: ([], "", presentation.sources_html(None), ""), None, [chat, question, sources, timings]
        )
    return app


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


def launch(assistant: Assistant, host: str, port: int) -> None:
    """Build the index if there is none, then serve the app (blocking)."""
    report = assistant.ensure_index(progress=True)
    if report is not None:
        print(report.summary())
    app = build_app(assistant)
    app.queue(default_concurrency_limit=4, max_size=64)
    app.launch(server_name=host, server_port=port, css=CSS, show_error=False, max_file_size="10mb")
