"""The only sentence-transformers import. The model loads on first use, never at import time.

Vectors are L2-normalised, so a dot product is a cosine similarity. Token counting uses the model's own
tokenizer (through the fast ``tokenizers`` library when the model folder has a tokenizer.json, which avoids
loading torch just to chunk).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import ConfigError
from assistant.search.bundled_model import MODEL_NAME, bundled_model_path
from assistant.search.query_encoder import OnnxQueryEncoder, export, read_info

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = MODEL_NAME
log = logging.getLogger(__name__)


def offline_environment() -> None:
    """Never let a library reach for a model hub: there is no network, and retries take minutes."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder:
    """Encodes passages and questions. Cheap to construct; the model loads on first encode."""

    def __init__(self, model: str = "", cache_dir: Path | None = None, query_backend: str = "auto") -> None:
        """
        :param cache_dir: where the ONNX export for questions is kept (None: never exported or used).
        :param query_backend: "auto" (ONNX Runtime, for questions and passages alike, when an export exists:
            the same vectors within 1e-6, a third to a half of the model's CPU time here, no torch import) or
            "torch" (always the model)."""
        self.model_spec = model
        self.cache_dir = cache_dir
        self.query_backend = query_backend
        self._lock = threading.Lock()
        self._onnx: OnnxQueryEncoder | bool | None = None  # None: not looked for yet; False: none usable

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
            import transformers.utils.logging
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar
            try:
                return SentenceTransformer(self.model_path, device="cpu")
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"Cannot load the embedding model {self.model_spec or self.model_path!r}: {exc}. "
                    "Set CMO_ASSISTANT_EMBEDDING_MODEL to a local model folder, or leave it empty for the "
                    f"bundled {DEFAULT_MODEL_NAME}."
                ) from None

    def _empty(self) -> np.ndarray:
        encoder = self.query_encoder()
        width = encoder.dimension if encoder is not None else self.dimension
        return np.zeros((0, width), dtype=np.float32)

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        assert dim is not None
        return int(dim)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool | str = False) -> np.ndarray:
        """Normalised float32 vectors, one row per text (passages and sentences at ingest).

        Through the ONNX export when there is one (every ingest after the first): the model's vectors within
        1e-6, for a half to a third of the CPU time of the model here, and no torch import for an upload.

        :param progress: a progress bar (on stderr) while encoding; a string names what is encoded on the bar.
        """
        if not texts:
            return self._empty()
        encoder = self.query_encoder()
        if encoder is not None:
            return encoder.encode(texts, progress=progress)
        return self.model_encode(texts, batch_size, progress)

    def model_encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool | str = False
    ) -> np.ndarray:
        """Normalised float32 vectors from the sentence-transformers model itself."""
        if not texts:
            return self._empty()
        # Longest first, as sentence-transformers orders one call's texts (less padding), then put back in order.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        ordered = [texts[i] for i in order]
        batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
        steps: Iterable[list[str]] = batches
        if progress:
            from tqdm import tqdm

            label = progress if isinstance(progress, str) else "Embedding"
            steps = tqdm(batches, desc=label, unit="batch", leave=True)
        parts = [
            self.model.encode(
                batch,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for batch in steps
        ]
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question: one tokenizer call and one ONNX Runtime run when an export exists."""
        encoder = self.query_encoder()
        if encoder is not None:
            return encoder.encode_one(text)
        vector: np.ndarray = self.model_encode([text])[0]
        return vector

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for text seen at question time: through the ONNX export when that avoids loading torch."""
        if not texts:
            return self._empty()
        encoder = self.query_encoder()
        return encoder.encode(texts) if encoder is not None else self.model_encode(texts)

    @property
    def query_encoder_name(self) -> str:
        """Which backend embeds questions: "onnxruntime" or "sentence-transformers"."""
        return "onnxruntime" if self.query_encoder() is not None else "sentence-transformers"

    def query_encoder(self) -> OnnxQueryEncoder | None:
        """The ONNX query encoder when an export for this model exists (looked for once)."""
        onnx = self._onnx
        if isinstance(onnx, OnnxQueryEncoder):
            return onnx
        if onnx is None:
            with self._lock:
                if self._onnx is None:
                    self._onnx = self._load_onnx() or False
        return self._onnx if isinstance(self._onnx, OnnxQueryEncoder) else None

    def _load_onnx(self) -> OnnxQueryEncoder | None:
        if self.query_backend != "auto" or self.cache_dir is None:
            return None
        info = read_info(self.cache_dir, self.model_path)
        if info is None:
            return None
        try:
            return OnnxQueryEncoder(self.cache_dir / info.onnx_file, self.model_path, info)
        except Exception as exc:  # a damaged file or a missing runtime: the model itself still works
            log.warning("query encoder: cannot open %s (%s); questions use the model", info.onnx_file, exc)
            return None

    def prepare_query_encoder(self) -> bool:
        """Export the model for questions when there is no current export (loads the model if needed).

        Called after an ingest. Cheap when the export is there; returns whether one is usable.
        """
        if self.query_backend != "auto" or self.cache_dir is None:
            return False
        if read_info(self.cache_dir, self.model_path) is None:
            if export(self.model, self.model_path, self.name, self.cache_dir) is None:
                return False
            self._onnx = None  # look again
        return self.query_encoder() is not None

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
