"""The only chromadb import: chunks and their sentence vectors in Chroma, embedded or behind a server.

Chroma never embeds anything here: every collection is opened with ``embedding_function=None`` (its default
function downloads a model, which fails offline) and every write carries our own vectors.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings, redact_credentials
from assistant.errors import IndexMismatchError, StoreError, disk_nearly_full, disk_trouble, map_exceptions
from assistant.types import Chunk, Filters, Unit

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

Where = dict[str, Any]
Suffix = Literal["chunks", "units"]
_PAGE = 5000


def where_clause(filters: Filters | None) -> Where | None:
    """Chroma's ``where`` clause for the assistant's filters."""
    clauses: list[Where] = []
    if filters is not None and filters.kind:
        clauses.append({"kind": filters.kind})
    if filters is not None and filters.doc_id:
        clauses.append({"doc_id": filters.doc_id})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _limit_waits(client: ClientAPI, timeout_s: float) -> bool:
    """Give chromadb's HTTP session a timeout: it is created with none, so a hung server would hang us.

    chromadb has no setting for it; the session is reached through the client's server API object, and a
    test (a stopped server) fails if a chromadb upgrade moves it.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        return False
    session.timeout = httpx.Timeout(timeout_s)
    return True


def _forget_shared_system(path: str, stop: bool = True) -> None:
    """Make chromadb forget the embedded database it opened at ``path``: it keeps one system per path for the
    whole process, a failed one included, so a new client on the same path would get the damaged one back.

    chromadb has no public way to do this; a test fails if an upgrade moves these registries.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    if system is not None and stop:
        with contextlib.suppress(Exception):
            system.stop()


class ChromaStore:
    """Two collections: ``<name>_chunks`` (passages) and ``<name>_units`` (one vector per sentence/list item)."""

    def __init__(self, settings: Settings, model_name: str) -> None:
        self.settings = settings
        self.model_name = model_name
        self._client: ClientAPI | None = None
        self._open: dict[str, Collection] = {}
        self._lock = threading.RLock()

    @property
    def client(self) -> ClientAPI:
        with self._lock:
            if self._client is None:
                with map_exceptions({Exception: self._unavailable}):
                    self._client = self._connect()
            return self._client

    def _connect(self) -> ClientAPI:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        url = self.settings.chroma_url
        if not url:
            self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)
        parsed = urlparse(url)
        self._heartbeat()  # chromadb's own client waits for ever on a server that does not answer
        client = chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
        _limit_waits(client, self.settings.chroma_timeout_s)
        return client

    def _heartbeat(self) -> None:
        import httpx

        url = f"{self.settings.chroma_url.rstrip('/')}/api/v2/heartbeat"
        response = httpx.get(url, timeout=self.settings.chroma_timeout_s)
        response.raise_for_status()

    def _unavailable(self, exc: Exception) -> StoreError:
        return StoreError(redact_credentials(str(self._explained(exc))))

    def _explained(self, exc: Exception) -> StoreError:
        if disk_trouble(exc) or (not self.settings.chroma_url and disk_nearly_full(self.settings.chroma_dir)):
            where = self.settings.chroma_url or self.settings.chroma_dir
            return StoreError(
                f"Cannot write to the index at {where} ({exc.__class__.__name__}: {exc}): the disk is full or "
                "failing. Free some space and run the same command again; what was indexed before is kept."
            )
        if self.settings.chroma_url and _timed_out(exc):
            return StoreError(
                f"The Chroma server at {self.settings.chroma_url} did not answer within "
                f"{self.settings.chroma_timeout_s:g} s. Check that it is running and not overloaded, then try "
                "again; a slow server can be given longer with CMO_ASSISTANT_CHROMA_TIMEOUT_S."
            )
        if self.settings.chroma_url:
            return StoreError(
                f"Cannot reach the Chroma server at {self.settings.chroma_url} ({exc.__class__.__name__}: {exc}). "
                "Start it (for example `chroma run --host 127.0.0.1 --port 8000 --path ./data/chroma-server`) "
                "or unset CMO_ASSISTANT_CHROMA_URL to use the embedded database."
            )
        return StoreError(
            f"Cannot open the index in {self.settings.chroma_dir} ({exc.__class__.__name__}: {exc}). "
            "If it is damaged, rebuild it with `cmo-assistant ingest --rebuild`."
        )

    def _name(self, suffix: Suffix) -> str:
        return f"{self.settings.collection}_{suffix}"

    def _collection(self, suffix: Suffix) -> Collection:
        """The collection, opened (created when missing) once and kept."""
        with self._lock:
            coll = self._open.get(suffix)
            if coll is None:
                with map_exceptions({Exception: self._unavailable}):
                    coll = self.client.get_or_create_collection(
                        self._name(suffix),
                        configuration={"hnsw": {"space": "cosine"}},
                        metadata={"embedding_model": self.model_name},
                        embedding_function=None,
                    )
                self._check_model(coll)
                self._open[suffix] = coll
            return coll

    def _check_model(self, coll: Collection) -> None:
        built_with = (coll.metadata or {}).get("embedding_model")
        if built_with and built_with != self.model_name:
            raise IndexMismatchError(
                f"The index was built with the embedding model {built_with!r}, but {self.model_name!r} is "
                "configured. Rebuild it with `cmo-assistant ingest --rebuild`, or set CMO_ASSISTANT_EMBEDDING_MODEL "
                f"back to {built_with!r}."
            )

    def _call(self, suffix: Suffix, operation: str, **kwargs: Any) -> Any:
        """``collection.<operation>(**kwargs)``, with chromadb's errors translated. When a collection this store
        had open is gone (another process rebuilt the index, the server came back over new data), it is opened
        again and the call repeated once."""
        from chromadb.errors import NotFoundError

        with map_exceptions({Exception: self._unavailable}):
            try:
                return getattr(self._collection(suffix), operation)(**kwargs)
            except NotFoundError:
                with self._lock:
                    self._open.clear()
            return getattr(self._collection(suffix), operation)(**kwargs)

    def files_present(self) -> bool:
        """Whether the embedded database's file is there, looked at without opening it (no chromadb import);
        always True with a server."""
        return bool(self.settings.chroma_url) or (self.settings.chroma_dir / "chroma.sqlite3").is_file()

    def exists(self) -> bool:
        """Whether an index with at least one chunk is there, without creating anything."""
        from chromadb.errors import NotFoundError

        with map_exceptions({Exception: self._unavailable}):
            try:
                coll = self.client.get_collection(self._name("chunks"), embedding_function=None)
            except NotFoundError:
                return False
            self._check_model(coll)
            return int(coll.count()) > 0

    def reset(self) -> None:
        """Drop both collections (``ingest --rebuild``). An embedded database too damaged to open, or to drop
        them from, is deleted and made afresh: it holds nothing the source files cannot rebuild."""
        from chromadb.errors import NotFoundError

        try:
            for suffix in ("chunks", "units"):
                with map_exceptions({Exception: self._unavailable}), contextlib.suppress(NotFoundError):
                    self.client.delete_collection(self._name(suffix))
        except StoreError:
            if self.settings.chroma_url:
                raise
            self._discard_embedded()
        with self._lock:
            self._open.clear()

    def reopen(self) -> None:
        """Forget the client and the open collections; the next call connects afresh. An embedded database is
        opened from its files again (they may have been deleted, or rebuilt by another process); the system
        chromadb shares per path is forgotten, not stopped, as other clients in this process may still use it."""
        with self._lock:
            self._client = None
            self._open.clear()
        if not self.settings.chroma_url:
            _forget_shared_system(str(self.settings.chroma_dir), stop=False)

    def _discard_embedded(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._open.clear()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()  # type: ignore[attr-defined]
        _forget_shared_system(str(self.settings.chroma_dir))
        shutil.rmtree(self.settings.chroma_dir, ignore_errors=True)

    # -- writes -------------------------------------------------------------------------------------------
    def add(
        self, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, unit_vectors: Sequence[np.ndarray]
    ) -> None:
        """Upsert chunks with their vectors, and one vector per unit of each chunk. Idempotent (content ids)."""
        if not chunks:
            return
        batch = self._max_batch()
        # Unit vectors first: a chunk that is in the store always has its units (a crash in between leaves
        # only orphan units, which the next ingest sweeps).
        ids, vecs, metas = [], [], []
        for chunk, vectors in zip(chunks, unit_vectors, strict=True):
            for i, vector in enumerate(vectors):
                ids.append(f"{chunk.chunk_id}:{i}")
                vecs.append(vector)
                metas.append({"chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "i": i})
        for lo in range(0, len(ids), batch):
            self._call(
                "units",
                "upsert",
                ids=ids[lo : lo + batch],
                embeddings=np.asarray(vecs[lo : lo + batch]),
                metadatas=metas[lo : lo + batch],
            )
        for lo in range(0, len(chunks), batch):
            part = chunks[lo : lo + batch]
            self._call(
                "chunks",
                "upsert",
                ids=[c.chunk_id for c in part],
                embeddings=chunk_vectors[lo : lo + batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c) for c in part],
            )

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            self._call("units", "delete", where={"chunk_id": {"$in": part}})
            self._call("chunks", "delete", ids=part)

    def delete_document(self, doc_id: str) -> None:
        self._call("units", "delete", where={"doc_id": doc_id})
        self._call("chunks", "delete", where={"doc_id": doc_id})

    # -- reads --------------------------------------------------------------------------------------------
    def ids(self, doc_id: str | None = None) -> set[str]:
        """Chunk ids in the store, for one document or all."""
        return {i for page in self._pages("chunks", Filters(doc_id=doc_id), include=[]) for i in page["ids"]}

    def doc_chunk_ids(self) -> dict[str, set[str]]:
        """Chunk ids grouped by document, read from the store itself (used to repair after a crash)."""
        grouped: dict[str, set[str]] = {}
        for page in self._pages("chunks", None, include=["metadatas"]):
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                grouped.setdefault(str(meta["doc_id"]), set()).add(cid)
        return grouped

    def unit_chunk_ids(self) -> set[str]:
        return {
            str(meta["chunk_id"])
            for page in self._pages("units", None, include=["metadatas"])
            for meta in page["metadatas"]
        }

    def present(self, chunk_ids: Sequence[str]) -> set[str]:
        ids = list(chunk_ids)
        found: set[str] = set()
        for lo in range(0, len(ids), _PAGE):
            found.update(self._call("chunks", "get", ids=ids[lo : lo + _PAGE], include=[])["ids"])
        return found

    def count(self) -> int:
        return int(self._call("chunks", "count"))

    def all_chunks(self) -> list[Chunk]:
        return [
            _chunk_from(cid, text, meta)
            for page in self._pages("chunks", None, include=["documents", "metadatas"])
            for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]

    def nearest(self, vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Ids of the nearest chunks with their cosine similarity (1 - distance); nothing else is read."""
        result = self._call(
            "chunks",
            "query",
            query_embeddings=[vector],
            n_results=n,
            where=where_clause(filters),
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each passage (read by id; ids the store lacks are left out)."""
        ids = list(chunk_ids)
        found: dict[str, np.ndarray] = {}
        for lo in range(0, len(ids), _PAGE):
            got = self._call("chunks", "get", ids=ids[lo : lo + _PAGE], include=["embeddings"])
            for cid, vector in zip(got["ids"], got["embeddings"], strict=True):
                found[cid] = np.asarray(vector, dtype=np.float32)
        return found

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        got = self._call("chunks", "get", ids=list(chunk_ids), include=["documents", "metadatas"])
        return {
            cid: _chunk_from(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def unit_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """Per chunk, its unit vectors stacked in unit order (read by id: ``<chunk_id>:<unit index>``); a chunk
        missing any of them is left out."""
        ids = [f"{c.chunk_id}:{i}" for c in chunks for i in range(len(c.units))]
        by_id: dict[str, Any] = {}
        for lo in range(0, len(ids), _PAGE):
            got = self._call("units", "get", ids=ids[lo : lo + _PAGE], include=["embeddings"])
            by_id.update(zip(got["ids"], got["embeddings"], strict=True))
        stacked: dict[str, np.ndarray] = {}
        for c in chunks:
            rows = [by_id[key] for i in range(len(c.units)) if (key := f"{c.chunk_id}:{i}") in by_id]
            if rows and len(rows) == len(c.units):
                stacked[c.chunk_id] = np.asarray(np.stack(rows), dtype=np.float32)
        return stacked

    # -- plumbing -----------------------------------------------------------------------------------------
    def _max_batch(self) -> int:
        try:
            return max(1, min(int(self.client.get_max_batch_size()), 2000))
        except Exception:
            return 1000

    def _pages(self, suffix: Suffix, filters: Filters | None, include: list[Any]) -> Iterator[Any]:
        offset = 0
        while True:
            page = self._call(
                suffix, "get", where=where_clause(filters), include=include, limit=_PAGE, offset=offset
            )
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])
            if len(page["ids"]) < _PAGE:
                return


def _timed_out(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TimeoutException | TimeoutError)


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "kind": chunk.kind,
        "source_path": chunk.source_path,
        "section": json.dumps(list(chunk.section)),
        "start": chunk.start,
        "end": chunk.end,
        "ordinal": chunk.ordinal,
        "units": json.dumps([[u.start, u.end, int(u.is_list_item)] for u in chunk.units]),
    }


def _chunk_from(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        title=str(meta["title"]),
        kind=str(meta["kind"]),
        source_path=str(meta["source_path"]),
        section=tuple(json.loads(str(meta["section"]))),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        ordinal=int(meta["ordinal"]),
        units=tuple(Unit(int(s), int(e), bool(li)) for s, e, li in json.loads(str(meta["units"]))),
    )
