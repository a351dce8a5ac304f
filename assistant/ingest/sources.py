"""The folders the index mirrors, remembered in the data dir: a folder given once with ``ingest --source`` stays
indexed (by later ingests, uploads and the app) until ``ingest --forget`` removes it.

Kept in ``<data dir>/sources.json`` (not in the manifest, so ``ingest --rebuild`` keeps it), written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import ConfigError
from assistant.files import write_atomic

FILE_NAME = "sources.json"


class SourceList:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME

    def folders(self) -> tuple[Path, ...]:
        """The remembered folders, in the order they were added."""
        if not self.path.exists():
            return ()
        try:
            raw = json.loads(self.path.read_text("utf-8"))
            return tuple(Path(str(p)) for p in raw["folders"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"Cannot read the list of source folders {self.path} ({exc.__class__.__name__}). Fix or delete "
                "it, then give the folders again with `cmo-assistant ingest --source DIR`."
            ) from None

    def update(self, add: Sequence[Path] = (), remove: Sequence[Path] = ()) -> tuple[Path, ...]:
        """Remember ``add``, forget ``remove`` (both resolved); returns the folders now remembered."""
        current = list(self.folders())
        gone = {p.resolve() for p in remove}
        unknown = [str(p) for p in remove if p.resolve() not in current]
        if unknown:
            raise ConfigError(
                f"{', '.join(unknown)} is not a remembered source folder; the remembered ones are: "
                f"{', '.join(str(p) for p in current) or 'none'}."
            )
        folders = [p for p in current if p not in gone]
        for folder in add:
            if folder.resolve() not in folders:
                folders.append(folder.resolve())
        if folders != current:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"folders": [str(p) for p in folders]}, indent=2).encode())
        return tuple(folders)
