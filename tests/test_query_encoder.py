"""Questions are embedded through an ONNX export of the model, so answering does not need torch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import PROJECT_ROOT
from assistant.pipeline import Assistant
from assistant.search.embeddings import Embedder

pytestmark = pytest.mark.slow

GOLDEN = [
    json.loads(line) for line in (PROJECT_ROOT / "evals" / "golden.jsonl").read_text("utf-8").splitlines()
]
QUESTIONS = [case["question"] for case in GOLDEN]


@pytest.fixture(scope="module")
def exported(shipped: Assistant) -> Path:
    """The models folder after the shipped corpus was ingested (the export happens at ingest)."""
    folder = shipped.embedder.cache_dir
    assert folder is not None
    assert (folder / "query-encoder.json").is_file(), "ingest exports the model for questions"
    return folder


def test_exported_encoder_gives_the_models_vectors(exported: Path, embedder: Embedder) -> None:
    fresh = Embedder("", exported)
    assert fresh.query_encoder_name == "onnxruntime"
    onnx_vectors = fresh.encode_queries(QUESTIONS)
    assert "model" not in fresh.__dict__, "the torch model was not needed"
    model_vectors = embedder.model_encode(QUESTIONS)
    agreement = np.sum(onnx_vectors * model_vectors, axis=1)
    assert agreement.min() >= 0.9999, QUESTIONS[int(agreement.argmin())]
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    # One question at a time (how questions are asked: no padding, no batch) gives the same vectors.
    one_by_one = np.stack([fresh.encode_query(q) for q in QUESTIONS])
    assert np.sum(one_by_one * model_vectors, axis=1).min() >= 0.9999
    assert np.abs(one_by_one - model_vectors).max() < 1e-5
    assert np.abs(onnx_vectors - model_vectors).max() < 1e-5


def test_answers_are_the_same_with_either_encoder(shipped: Assistant, exported: Path) -> None:
    onnx_assistant = Assistant.build(shipped.settings, embedder=Embedder("", exported))
    for question in QUESTIONS[:25]:
        with_model = shipped.ask(question)
        with_onnx = onnx_assistant.ask(question)
        assert [p.chunk.chunk_id for p in with_onnx.retrieved] == [
            p.chunk.chunk_id for p in with_model.retrieved
        ]
        assert with_onnx.answer == with_model.answer
    assert onnx_assistant.embedder.query_encoder_name == "onnxruntime"


def test_a_damaged_export_falls_back_to_the_model(
    exported: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = tmp_path / "models"
    damaged.mkdir()
    info = json.loads((exported / "query-encoder.json").read_text("utf-8"))
    (damaged / "query-encoder.json").write_text(json.dumps(info), encoding="utf-8")
    (damaged / info["onnx_file"]).write_bytes(b"not an onnx graph")
    fresh = Embedder("", damaged)
    with caplog.at_level(logging.WARNING):
        vector = fresh.encode_query("What does a CMO do?")
    assert fresh.query_encoder_name == "sentence-transformers"
    assert "cannot open" in caplog.text
    assert vector.shape == (768,)  # all-mpnet-base-v2


def test_an_export_for_another_model_is_not_used(exported: Path, tmp_path: Path) -> None:
    stale = tmp_path / "models"
    stale.mkdir()
    info = json.loads((exported / "query-encoder.json").read_text("utf-8"))
    (stale / "query-encoder.json").write_text(json.dumps({**info, "fingerprint": "0" * 16}), encoding="utf-8")
    os.link(exported / info["onnx_file"], stale / info["onnx_file"])
    assert Embedder("", stale).query_encoder() is None


def test_torch_setting_never_uses_the_export(exported: Path) -> None:
    assert Embedder("", exported, query_backend="torch").query_encoder() is None


def test_cli_answers_without_importing_torch(shipped: Assistant, exported: Path, tmp_path: Path) -> None:
    """What makes `cmo-assistant ask` start in a few seconds: no torch, no sentence-transformers."""
    data = shipped.settings.data_dir
    script = (
        "import sys\n"
        "from assistant.cli import main\n"
        "code = main(['ask', '--json', 'What does a CMO do?'])\n"
        "loaded = sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules)\n"
        "print('LOADED=' + ','.join(loaded), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {
        **os.environ,
        "CMO_ASSISTANT_DATA_DIR": str(data),
        "CMO_ASSISTANT_CORPUS_DIR": str(shipped.settings.corpus_dir),
        "CMO_ASSISTANT_MODEL_CACHE_DIR": str(exported),
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["answered"]
    assert "LOADED=\n" in out.stderr or out.stderr.rstrip().endswith("LOADED="), out.stderr


def test_an_ingest_after_the_first_embeds_through_the_export(
    exported: Path, embedder: Embedder, make_settings: Any
) -> None:
    settings = make_settings()
    shutil.copytree(exported, settings.models_dir, copy_function=os.link)
    (settings.corpus_dir / "policies").mkdir()
    (settings.corpus_dir / "policies" / "badges.md").write_text(
        "# Badges\n\nEvery physician wears a photo badge issued by security. Lost badges are reported the same "
        "day.\n\n- Visitors sign in at the front desk.\n- Contractors wear a red lanyard.\n",
        encoding="utf-8",
    )
    fresh = Embedder("", settings.models_dir)
    assistant = Assistant.build(settings, embedder=fresh)
    assert assistant.ingest().chunks_embedded > 0
    assert "model" not in fresh.__dict__, "passages and sentences were embedded without loading torch"
    chunks = assistant.store.all_chunks()
    stored = assistant.store.chunk_vectors([c.chunk_id for c in chunks])
    expected = embedder.model_encode([f"{c.context_header}\n{c.text}" for c in chunks])
    assert np.abs(np.stack([stored[c.chunk_id] for c in chunks]) - expected).max() < 1e-5
    units = assistant.store.unit_vectors(chunks)
    expected_units = embedder.model_encode([c.unit_text(u) for c in chunks for u in c.units])
    assert np.abs(np.concatenate([units[c.chunk_id] for c in chunks]) - expected_units).max() < 1e-5
