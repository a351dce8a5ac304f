"""Questions embedded without torch: an ONNX export of the same model, run with ONNX Runtime.

Importing sentence-transformers (and with it torch) costs about 6 s, more than answering a question. The first
ingest builds the index with sentence-transformers; right after it, while the model is loaded anyway, the model
is exported once to ONNX next to the index and checked against the model on probe sentences. A process that
answers questions, and every later ingest, then needs ``onnxruntime`` and ``tokenizers`` (a fraction of a second
to import) and gets the same vectors (cosine >= 0.9999 with the model's, checked at export; within 1e-6 on the
shipped corpus).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: Exports whose vectors differ more than this from the model's are discarded.
MIN_AGREEMENT = 0.9999
PROBES = (
    "What does a chief medical officer do?",
    "How does a CMO at an FQHC differ from a hospital CMO, and which skills matter most for the role?",
    "Quality",
)


@dataclass(frozen=True)
class ExportInfo:
    """What ``query-encoder.json`` records next to the ``.onnx`` file."""

    model: str
    fingerprint: str
    onnx_file: str
    max_seq_length: int
    pooling: str
    input_names: tuple[str, ...]
    agreement: float


def fingerprint(model_path: str) -> str:
    """Changes when the model's weights or configuration change, so a stale export is never used."""
    digest = hashlib.sha256(str(Path(model_path).resolve()).encode())
    folder = Path(model_path)
    if folder.is_dir():
        for item in sorted(folder.rglob("*")):
            if item.is_file() and item.suffix in (".safetensors", ".bin", ".json", ".txt"):
                stat = item.stat()
                digest.update(f"{item.relative_to(folder)}|{stat.st_size}|{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def read_info(folder: Path, model_path: str) -> ExportInfo | None:
    """The export in ``folder`` for this model, or None when there is none or it is stale."""
    try:
        raw = json.loads((folder / "query-encoder.json").read_text("utf-8"))
        info = ExportInfo(**{**raw, "input_names": tuple(raw["input_names"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if info.fingerprint != fingerprint(model_path) or not (folder / info.onnx_file).is_file():
        return None
    return info


def export(model: SentenceTransformer, model_path: str, name: str, folder: Path) -> ExportInfo | None:
    """Export ``model`` to ONNX in ``folder`` and check it; None (and nothing left behind) when that fails."""
    pooling = _pooling_mode(model)
    if pooling is None or len(model) > 3:
        log.info("query encoder: %s is not a plain transformer + pooling model; not exported", name)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    onnx_file = f"{_slug(name)}.onnx"
    partial = folder / f".{onnx_file}.{os.getpid()}.partial"
    try:
        input_names = _write_onnx(model, partial)
        info = ExportInfo(
            model=name,
            fingerprint=fingerprint(model_path),
            onnx_file=onnx_file,
            max_seq_length=int(model.max_seq_length or 512),
            pooling=pooling,
            input_names=input_names,
            agreement=0.0,
        )
        encoder = OnnxQueryEncoder(partial, model_path, info)
        expected = model.encode(
            list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        agreement = float(np.min(np.sum(encoder.encode(PROBES) * expected, axis=1)))
    except Exception as exc:  # the exporter raises many kinds; the fallback (torch) always works
        partial.unlink(missing_ok=True)
        log.warning("query encoder: ONNX export of %s failed (%s); questions use the model itself", name, exc)
        return None
    if agreement < MIN_AGREEMENT:
        partial.unlink(missing_ok=True)
        log.warning("query encoder: ONNX export of %s disagrees (cosine %.5f); not used", name, agreement)
        return None
    info = ExportInfo(**{**asdict(info), "agreement": round(agreement, 6)})
    os.replace(partial, folder / onnx_file)
    sidecar = folder / f".query-encoder.json.{os.getpid()}.partial"
    sidecar.write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    os.replace(sidecar, folder / "query-encoder.json")
    return info


def _write_onnx(model: SentenceTransformer, path: Path) -> tuple[str, ...]:
    """The model's transformer as an ONNX graph at ``path`` (token ids in, last hidden state out); returns the
    graph's input names."""
    import warnings

    import torch  # the exporter also needs the ``onnx`` package (a dependency)

    transformer: Any = model[0].auto_model
    sample = dict(model.tokenizer(["a probe"], return_tensors="pt"))
    input_names = tuple(k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample)

    class _Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(input_names, tensors, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in (*input_names, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Wrapped().eval(),
            tuple(sample[n] for n in input_names),
            str(path),
            input_names=list(input_names),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    _optimize(path)
    return input_names


def _optimize(path: Path) -> None:
    """Rewrite the graph at ``path`` as ONNX Runtime optimises it (operators fused; no hardware-specific layout,
    so the file still runs on another machine): a new process then opens it in a third of the time (all-mpnet-
    base-v2: 0.3 s instead of 0.9 s), which is most of a one-off ``cmo-assistant ask``."""
    import onnxruntime

    optimized = path.with_name(path.name + ".optimized")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(optimized)
    try:
        onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        os.replace(optimized, path)
    finally:
        optimized.unlink(missing_ok=True)


#: Intra-op threads, and how they wait. Threads that spin (poll for work) between the graph's many small operators
#: embed a question faster than threads that sleep: a warm ask measured 5.3-6.6 ms spinning against 7.4-9.2 ms
#: sleeping, next to 3.6-4.7 ms for a bare session (same process, alternating rounds). But a thread that goes on
#: spinning after a run keeps a core busy that the rest of the answer and the server need: at 16 concurrent API
#: clients the app's CPU per answer was 20 ms spinning against 11-15 ms sleeping. So they spin during a run and
#: stop the moment it returns (``session.force_spinning_stop``). The vectors are the same whatever the thread
#: count or waiting (checked bitwise on the golden and paraphrase questions with one and two threads).
QUERY_THREADS = 2
SPIN = True
#: Texts run through the graph together when encoding many (batches are sorted by length, so little padding).
BATCH_SIZE = 32


def _one_blas_thread() -> None:
    """numpy's OpenBLAS threads busy-wait after each product (the dense search's), on the cores this session's
    threads need next: with all-mpnet-base-v2 a question embedded right after a search took 40 ms instead of
    20. The products a question needs are small, so one BLAS thread costs nothing; the limit is process-wide."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class OnnxQueryEncoder:
    """Tokenise with the model's own tokenizer.json, run the ONNX graph, pool and normalise like the model.

    A question costs one tokenizer call and one session run: the attention mask and token type ids are views of
    arrays made once, the ids are the only array built per call, and a single text needs neither padding nor a
    masked mean.
    """

    def __init__(
        self, onnx_path: Path, model_path: str, info: ExportInfo, threads: int = QUERY_THREADS
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        _one_blas_thread()
        self.info = info
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if SPIN else "0")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        # No padding in the tokenizer: a single text needs none, and batches are padded here. Its settings never
        # change after this, so threads share it without a lock.
        tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        tokenizer.enable_truncation(info.max_seq_length)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self._mean = info.pooling != "cls"
        self._output = [self.session.get_outputs()[0].name]
        self._ones = np.ones((1, info.max_seq_length), dtype=np.int64)
        self._zeros = np.zeros((1, info.max_seq_length), dtype=np.int64)

    @property
    def dimension(self) -> int:
        """The width of the model's vectors: the hidden size the graph declares (no run needed)."""
        return int(self.session.get_outputs()[0].shape[-1])

    def encode_one(self, text: str) -> np.ndarray:
        """The unit vector of one text (float32, shape ``(dimension,)``)."""
        ids = self.tokenizer.encode(text).ids
        n = len(ids)
        feed = {
            "input_ids": np.array(ids, dtype=np.int64).reshape(1, n),
            "attention_mask": self._ones[:, :n],
            "token_type_ids": self._zeros[:, :n],
        }
        hidden = self.session.run(self._output, {k: feed[k] for k in self.info.input_names})[0][0]
        pooled = hidden.mean(axis=0) if self._mean else hidden[0]
        return np.asarray(pooled / max(float(np.sqrt(pooled @ pooled)), 1e-12), dtype=np.float32)

    def encode(
        self, texts: Sequence[str], batch_size: int = BATCH_SIZE, progress: bool | str = False
    ) -> np.ndarray:
        """Unit vectors of ``texts``, one row each. Texts of similar length are batched together (as
        sentence-transformers does), so a batch is padded to little more than its own length (batches of 32
        measured as fast as 16 and faster than 64 on the shipped corpus's passages and sentences).

        :param progress: show a progress bar (an ingest from the command line); a string names what is encoded.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if len(texts) == 1:
            return self.encode_one(texts[0])[None, :]
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out: np.ndarray | None = None
        starts: Iterable[int] = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            label = progress if isinstance(progress, str) else "Embedding"
            starts = tqdm(starts, desc=label, unit="batch")
        for lo in starts:
            rows = order[lo : lo + batch_size]
            pooled = self._run_batch([encodings[i].ids for i in rows])
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        assert out is not None
        return out

    def _run_batch(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in ids)
        matrix = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            matrix[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"input_ids": matrix, "attention_mask": mask, "token_type_ids": np.zeros_like(matrix)}
        hidden = self.session.run(self._output, {k: feed[k] for k in self.info.input_names})[0]
        if self._mean:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        else:
            pooled = hidden[:, 0]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)


def _pooling_mode(model: SentenceTransformer) -> str | None:
    """ "mean" or "cls" when the model is transformer -> pooling (-> normalize), else None."""
    if len(model) < 2:
        return None
    mode = getattr(model[1], "pooling_mode", None)
    return mode if mode in ("mean", "cls") else None


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in Path(name).name or name) or "model"
