"""The only chromadb import: chunks and their sentence vectors in Chroma, embedded or behind a server.

Chroma never embeds anything here: every collection is opened with ``embedding_function=None`` (its default
function downloads a model, which fails offline) and every write carries our own vectors.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings
from assistant.errors import IndexMismatchError, StoreError
from assistant.types import Chunk, Unit

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

Where = dict[str, Any]
_PAGE = 5000
#: Chunks whose unit vectors are kept in memory (about 10 KB each with the bundled model).
UNIT_CACHE_CHUNKS = 4096


def where_filter(kind: str | None = None, doc_id: str | None = None) -> Where | None:
    """A Chroma ``where`` clause for the metadata filters the assistant offers."""
    clauses: list[Where] = []
    if kind:
        clauses.append({"kind": kind})
    if doc_id:
        clauses.append({"doc_id": doc_id})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _limit_waits(client: ClientAPI, timeout_s: float) -> None:
    """Give chromadb's HTTP session a timeout: it is created with none, so a hung server would hang us.

    chromadb has no setting for it; the session is reached through the client's server API object, and a
    test (a stopped server) fails if a chromadb upgrade moves it.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)


def _timed_out(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TimeoutException | TimeoutError)


class ChromaStore:
    """Two collections: ``<name>_chunks`` (passages) and ``<name>_units`` (one vector per sentence/list item)."""

    def __init__(self, settings: Settings, model_name: str) -> None:
        self.settings = settings
        self.model_name = model_name
        self._unit_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @cached_property
    def client(self) -> ClientAPI:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        url = self.settings.chroma_url
        try:
            if url:
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
            self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError/RuntimeError
            raise self._unavailable(exc) from None

    def _heartbeat(self) -> None:
        import httpx

        url = f"{self.settings.chroma_url.rstrip('/')}/api/v2/heartbeat"
        response = httpx.get(url, timeout=self.settings.chroma_timeout_s)
        response.raise_for_status()

    def _unavailable(self, exc: Exception) -> StoreError:
        if disk_trouble(exc):
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

    def _collection(self, suffix: str, create: bool) -> Collection:
        name = f"{self.settings.collection}_{suffix}"
        try:
            if create:
                coll = self.client.get_or_create_collection(
                    name,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": self.model_name},
                    embedding_function=None,
                )
            else:
                coll = self.client.get_collection(name, embedding_function=None)
        except StoreError:
            raise
        except Exception as exc:
            if not create and _missing_collection(exc):
                raise KeyError(name) from None
            raise self._unavailable(exc) from None
        built_with = (coll.metadata or {}).get("embedding_model")
        if built_with and built_with != self.model_name:
            raise IndexMismatchError(
                f"The index was built with the embedding model {built_with!r}, but {self.model_name!r} is "
                "configured. Rebuild it with `cmo-assistant ingest --rebuild`, or set CMO_ASSISTANT_EMBEDDING_MODEL "
                f"back to {built_with!r}."
            )
        return coll

    @cached_property
    def chunks(self) -> Collection:
        return self._collection("chunks", create=True)

    @cached_property
    def units(self) -> Collection:
        return self._collection("units", create=True)

    def exists(self) -> bool:
        """Whether an index with at least one chunk is there, without creating anything."""
        try:
            return self._collection("chunks", create=False).count() > 0
        except KeyError:
            return False

    def reset(self) -> None:
        """Drop both collections (``ingest --rebuild``). An embedded database too damaged to open, or to drop
        them from, is deleted and made afresh: it holds nothing the source files cannot rebuild."""
        try:
            for suffix in ("chunks", "units"):
                try:
                    self.client.delete_collection(f"{self.settings.collection}_{suffix}")
                except StoreError:
                    raise
                except Exception as exc:
                    if not _missing_collection(exc):
                        raise self._unavailable(exc) from None
        except StoreError:
            if self.settings.chroma_url:
                raise
            self._discard_embedded()
        self.__dict__.pop("chunks", None)
        self.__dict__.pop("units", None)
        with self._cache_lock:
            self._unit_cache.clear()  # a rebuild may use another model: vectors of the same text change

    def _discard_embedded(self) -> None:
        from chromadb.api.shared_system_client import SharedSystemClient

        client = self.__dict__.pop("client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        # chromadb keeps one system per path for the whole process, a failed one included; a new client on the
        # same path would get the damaged one back.
        system = SharedSystemClient._identifier_to_system.pop(str(self.settings.chroma_dir), None)
        SharedSystemClient._identifier_to_refcount.pop(str(self.settings.chroma_dir), None)
        if system is not None:
            with contextlib.suppress(Exception):
                system.stop()
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
            self._guard(
                self.units.upsert,
                ids=ids[lo : lo + batch],
                embeddings=np.asarray(vecs[lo : lo + batch]),
                metadatas=metas[lo : lo + batch],
            )
        for lo in range(0, len(chunks), batch):
            part = chunks[lo : lo + batch]
            self._guard(
                self.chunks.upsert,
                ids=[c.chunk_id for c in part],
                embeddings=chunk_vectors[lo : lo + batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c) for c in part],
            )

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        for lo in range(0, len(ids), 500):
            part = ids[lo : lo + 500]
            self._guard(self.units.delete, where={"chunk_id": {"$in": part}})
            self._guard(self.chunks.delete, ids=part)

    def delete_document(self, doc_id: str) -> None:
        self._guard(self.units.delete, where={"doc_id": doc_id})
        self._guard(self.chunks.delete, where={"doc_id": doc_id})

    # -- reads --------------------------------------------------------------------------------------------
    def ids(self, doc_id: str | None = None) -> set[str]:
        """Chunk ids in the store, for one document or all."""
        where = {"doc_id": doc_id} if doc_id else None
        return {i for page in self._pages(self.chunks, where, include=[]) for i in page["ids"]}

    def doc_chunk_ids(self) -> dict[str, set[str]]:
        """Chunk ids grouped by document, read from the store itself (used to repair after a crash)."""
        grouped: dict[str, set[str]] = {}
        for page in self._pages(self.chunks, None, include=["metadatas"]):
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                grouped.setdefault(str(meta["doc_id"]), set()).add(cid)
        return grouped

    def unit_chunk_ids(self) -> set[str]:
        return {
            str(meta["chunk_id"])
            for page in self._pages(self.units, None, include=["metadatas"])
            for meta in page["metadatas"]
        }

    def present(self, chunk_ids: Sequence[str]) -> set[str]:
        ids = list(chunk_ids)
        found: set[str] = set()
        for lo in range(0, len(ids), _PAGE):
            found.update(self._guard(self.chunks.get, ids=ids[lo : lo + _PAGE], include=[])["ids"])
        return found

    def count(self) -> int:
        return int(self._guard(self.chunks.count))

    def all_chunks(self) -> list[Chunk]:
        return [
            _chunk_from(cid, text, meta)
            for page in self._pages(self.chunks, None, include=["documents", "metadatas"])
            for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]

    def nearest(self, vector: np.ndarray, n: int, where: Where | None = None) -> list[tuple[str, float]]:
        """Ids of the nearest chunks with their cosine similarity (1 - distance); nothing else is read."""
        result = self._guard(
            self.chunks.query, query_embeddings=[vector], n_results=n, where=where, include=["distances"]
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        got = self._guard(self.chunks.get, ids=list(chunk_ids), include=["documents", "metadatas"])
        return {
            cid: _chunk_from(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def unit_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """Per chunk, its unit vectors stacked in unit order (read by id: ``<chunk_id>:<unit index>``).

        Recently used chunks are kept in memory: a chunk id is a hash of its content, so an entry never goes
        stale, and the same passages answer question after question.
        """
        stacked: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for c in chunks:
                if c.chunk_id in self._unit_cache:
                    self._unit_cache.move_to_end(c.chunk_id)
                    stacked[c.chunk_id] = self._unit_cache[c.chunk_id]
        wanted = [c for c in chunks if c.chunk_id not in stacked]
        ids = [f"{c.chunk_id}:{i}" for c in wanted for i in range(len(c.units))]
        if not ids:
            return stacked
        by_id: dict[str, Any] = {}
        for lo in range(0, len(ids), _PAGE):
            got = self._guard(self.units.get, ids=ids[lo : lo + _PAGE], include=["embeddings"])
            by_id.update(zip(got["ids"], got["embeddings"], strict=True))
        with self._cache_lock:
            for c in wanted:
                rows = [by_id.get(f"{c.chunk_id}:{i}") for i in range(len(c.units))]
                if rows and all(r is not None for r in rows):
                    vectors = np.asarray(np.stack(rows), dtype=np.float32)  # type: ignore[arg-type]
                    stacked[c.chunk_id] = self._unit_cache[c.chunk_id] = vectors
            while len(self._unit_cache) > UNIT_CACHE_CHUNKS:
                self._unit_cache.popitem(last=False)
        return stacked

    # -- plumbing -----------------------------------------------------------------------------------------
    def _max_batch(self) -> int:
        try:
            return max(1, min(int(self.client.get_max_batch_size()), 2000))
        except Exception:
            return 1000

    def _pages(self, coll: Collection, where: Where | None, include: list[Any]) -> Iterator[Any]:
        offset = 0
        while True:
            page = self._guard(coll.get, where=where, include=include, limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])
            if len(page["ids"]) < _PAGE:
                return

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (StoreError, IndexMismatchError):
            raise
        except Exception as exc:
            retry = self._reopened(fn, exc)
            if retry is None:
                raise self._unavailable(exc) from None
        try:
            return retry(*args, **kwargs)
        except (StoreError, IndexMismatchError):
            raise
        except Exception as exc:
            raise self._unavailable(exc) from None

    def _reopened(self, fn: Any, exc: Exception) -> Any:
        """When a collection this store had open is gone (another process rebuilt the index, the server came
        back over new data), the same call on the collection as it is now; else None."""
        owner = getattr(fn, "__self__", None)
        opened = {name: self.__dict__.get(name) for name in ("chunks", "units")}
        name = next((n for n, coll in opened.items() if coll is not None and coll is owner), None)
        if name is None or not _missing_collection(exc):
            return None
        self.__dict__.pop("chunks", None)
        self.__dict__.pop("units", None)
        return getattr(getattr(self, name), fn.__name__)


def _missing_collection(exc: Exception) -> bool:
    return "does not exist" in str(exc) or "NotFound" in exc.__class__.__name__


def disk_trouble(exc: BaseException) -> bool:
    """Whether an error says the disk is full or cannot be written (SQLite and OS wording)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(
        words in text
        for words in ("disk is full", "disk i/o error", "no space left", "file too large", "quota exceeded")
    )


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
