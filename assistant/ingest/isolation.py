"""Documents parsed in a separate process, with a memory and a time limit per file.

A hostile or broken file can make a parser take minutes or gigabytes (a PDF page of a million glyphs, a
pathological layout). It runs in a worker process whose address space is capped (``RLIMIT_AS``, so an
allocation past it fails there, not in the app) and whose answer is awaited for at most ``timeout_s`` per file;
a worker that overruns or dies is killed and replaced, the file is reported by name, and the batch goes on.

Only the built-in readers run there (the worker imports them itself); a reader registered at run time (a test's,
a plug-in's: ``READERS[".note"] = ...``) runs in this process, without the limits.

One worker serves a whole batch (started from a fork server that has the readers imported already, so a worker
costs a fork, not an interpreter start), and is shut down when the batch ends.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import resource
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from assistant.config import Settings
from assistant.errors import DocumentError
from assistant.ingest.readers import READERS, SourceFile, load
from assistant.types import Document

_CONTEXT = "forkserver"
#: How an allocation refused under the limit shows in a reader's reason (Python's, zlib's, our own).
_OUT_OF_MEMORY = ("out of memory", "MemoryError", "Unable to allocate", "Cannot allocate memory")
#: The readers a worker process has: those registered when the readers module is imported.
_BUILT_IN = dict(READERS)


def _limit_memory(max_bytes: int) -> None:
    """In the worker, before any file: allocations beyond ``max_bytes`` of address space fail."""
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def _load(source: SourceFile, data: bytes, default_kind: str) -> Document:
    try:
        return load(source, data, default_kind=default_kind)
    except MemoryError:
        raise DocumentError(str(source.path), "out of memory") from None


class IsolatedReader:
    """``with IsolatedReader(settings) as reader: reader.load(source, data, kind)`` for each file of a batch."""

    def __init__(self, settings: Settings) -> None:
        self.memory_mb = settings.parse_memory_mb
        self.timeout_s = settings.parse_timeout_s
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def load(self, source: SourceFile, data: bytes, default_kind: str = "policy") -> Document:
        """The document, or DocumentError naming the file (also when it broke the time or memory limit)."""
        suffix = source.path.suffix.lower()
        if READERS.get(suffix) is not _BUILT_IN.get(suffix):
            return load(source, data, default_kind=default_kind)
        future = self._worker().submit(_load, source, data, default_kind)
        try:
            return future.result(timeout=self.timeout_s)
        except cf.TimeoutError:
            self._kill()
            raise DocumentError(
                str(source.path),
                f"reading it took longer than {self.timeout_s:g} s, so it was stopped (a file this slow to "
                "parse is probably malformed; CMO_ASSISTANT_PARSE_TIMEOUT_S allows more)",
            ) from None
        except BrokenProcessPool:
            self._kill()
            raise DocumentError(str(source.path), self._memory_reason()) from None
        except DocumentError as exc:
            if any(sign in exc.reason for sign in _OUT_OF_MEMORY):
                raise DocumentError(exc.path, self._memory_reason()) from None
            raise

    def _memory_reason(self) -> str:
        return (
            f"reading it needed more than the {self.memory_mb:g} MB of memory a file may use, so it was stopped "
            "(CMO_ASSISTANT_PARSE_MEMORY_MB allows more)"
        )

    def _worker(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(_CONTEXT)
            context.set_forkserver_preload(["assistant.ingest.readers"])
            self._pool = cf.ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_limit_memory,
                initargs=(int(self.memory_mb * 1024 * 1024),),
            )
        return self._pool

    def _kill(self) -> None:
        """Stop a worker that overran or died; the next file gets a new one."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor cannot cancel a running call: its process is killed (no public API names it).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
