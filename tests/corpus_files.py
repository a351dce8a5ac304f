"""Writing small test corpora, and the three-document one the fault and load tests share."""

from __future__ import annotations

from pathlib import Path

POLICIES = {
    "policies/parking.md": "# Parking\n\nThe CMO parks in lot seven next to the clinic entrance.\n",
    "policies/leave.md": "# Parental Leave\n\nEmployees become eligible for parental leave after ninety days.\n",
    "sources/cmo-role.md": "# The CMO Role\n\nA chief medical officer leads the medical staff and clinical quality.\n",
}


def write_files(root: Path, files: dict[str, str]) -> None:
    """Each ``relative path: text`` under ``root``, folders created."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
