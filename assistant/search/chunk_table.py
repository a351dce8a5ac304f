"""Passages kept as serialised rows and made into :class:`~assistant.types.Chunk` objects only when one is used.

A saved corpus index (search/saved_index.py) holds 100,000 passages; making every one of them (and its units)
an object costs seconds, while a question reads a few dozen. The ids, kinds and document ids, which searching
reads for every passage, are plain lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from assistant.types import Chunk, Unit

__all__ = ["ChunkTable", "chunk_from_row", "chunk_row"]


class ChunkTable(Sequence[Chunk]):
    """A sequence of passages stored as one JSON row each (:func:`chunk_row`), parsed on first access."""

    def __init__(self, ids: list[str], kinds: list[str], doc_ids: list[str], rows: list[bytes]) -> None:
        if not len(ids) == len(kinds) == len(doc_ids) == len(rows):
            raise ValueError("the passage columns have different lengths")
        self.ids, self.kinds, self.doc_ids = ids, kinds, doc_ids
        self._rows = rows
        self._made: list[Chunk | None] = [None] * len(ids)
        self.position = {cid: i for i, cid in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        made = self._made[i]
        if made is None:
            made = chunk_from_row(json.loads(self._rows[i]))
            if made.chunk_id != self.ids[i]:
                raise ValueError(
                    f"saved passage {i} is {made.chunk_id!r}, its id column says {self.ids[i]!r}"
                )
            self._made[i] = made
        return made

    def by_id(self) -> Mapping[str, Chunk]:
        return _ById(self)


class _ById(Mapping[str, Chunk]):
    def __init__(self, table: ChunkTable) -> None:
        self._table = table

    def __getitem__(self, chunk_id: str) -> Chunk:
        return self._table[self._table.position[chunk_id]]

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._table.position

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.ids)

    def __len__(self) -> int:
        return len(self._table)


def chunk_row(c: Chunk) -> list[Any]:
    """A passage as a JSON-ready row (units flattened to start, end, is-list-item triples)."""
    units = [n for u in c.units for n in (u.start, u.end, int(u.is_list_item))]
    return [c.chunk_id, c.doc_id, c.title, c.kind, c.source_path, list(c.section), c.text, c.start, c.end,
            c.ordinal, units]  # fmt: skip


def chunk_from_row(row: list[Any]) -> Chunk:
    """The passage of a row made by :func:`chunk_row`; ValueError or TypeError if the row is not one."""
    chunk_id, doc_id, title, kind, source_path, section, text, start, end, ordinal, units = row
    for value in (chunk_id, doc_id, title, kind, source_path, text, *section):
        if not isinstance(value, str):
            raise ValueError(f"a passage field is {type(value).__name__}, not text")
    return Chunk(
        chunk_id,
        doc_id,
        title,
        kind,
        source_path,
        tuple(section),
        text,
        int(start),
        int(end),
        int(ordinal),
        tuple(Unit(int(units[i]), int(units[i + 1]), bool(units[i + 2])) for i in range(0, len(units), 3)),
    )
