"""CMO Assistant: cited answers about the Chief Medical Officer role and your organization's policies.

Importing this package is cheap: the embedding model, Chroma and BM25 load on first use.
"""

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.pipeline import Assistant
from assistant.types import Answer, Citation, ClosestPassage

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "ClosestPassage", "Settings"]
__version__ = "0.1.0"
