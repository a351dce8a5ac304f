"""Composition root of the web app: settings -> Assistant -> index (if missing) -> Gradio on 127.0.0.1:7860.

Host and port: CMO_ASSISTANT_HOST and CMO_ASSISTANT_PORT (or `cmo-assistant serve --host/--port`).
"""

from __future__ import annotations

import os
import sys

from assistant.errors import AssistantError
from assistant.search.embeddings import offline_environment


def main() -> int:
    offline_environment()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant import Assistant
    from assistant.web.ui import launch

    try:
        assistant = Assistant.from_env()
        launch(assistant, assistant.settings.host, assistant.settings.port)
    except AssistantError as exc:  # a bad setting, a damaged index: one sentence that says what to do
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
