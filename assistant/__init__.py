"""CMO Assistant: cited answers about the Chief Medical Officer role and your organization's policies.

Importing this package is cheap: the embedding model, Chroma and BM25 load on first use.
"""

from .config import Settings
from .errors import AssistantError
from .pipeline import Assistant
from .types import Answer, Citation

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "Settings"]
__version__ = "0.1.0"
