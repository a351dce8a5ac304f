"""Composition root of the web app: settings -> Assistant -> index (if missing) -> Gradio on 127.0.0.1:7860.

Host and port: CMO_ASSISTANT_HOST and CMO_ASSISTANT_PORT (or `cmo-assistant serve --host/--port`).
"""

from __future__ import annotations

import os

from assistant.embeddings import offline_environment


def main() -> None:
    offline_environment()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant import Assistant
    from assistant.ui import launch

    assistant = Assistant.from_env()
    launch(assistant, assistant.settings.host, assistant.settings.port)


if __name__ == "__main__":
    main()
