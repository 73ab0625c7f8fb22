"""``FileJournal``: the run journal in one local file, for one process (``batch``).

The file is JSON Lines, one whole line per write, appended: a :class:`JournalEntry` as
``JournalEntry.to_json`` gives it, or ``{"key": ..., "state": null}`` when a key's entry was
removed. The last line of a key is its entry. Lines go out in whole ``write`` calls on a file
opened with ``O_APPEND`` before ``put`` returns, so a killed process loses no entry; writes
that arrive together share one ``write`` and one ``fsync`` (group commit). ``creating``,
``created``, ``unknown`` and removals are ``fsync``-ed before ``put`` returns, so they survive
a crash of the machine too: losing one of them could bill a run twice or lose a run's id.
``uploaded`` and ``done`` are not synced on their own (the next sync, or closing, carries
them): if a power cut loses one, the entry before it resumes by asking the API, at the cost
of a request. A process killed in the
middle of a write leaves at most a torn last line; loading ignores it and cuts it off, so
the next line starts clean.

The file holds presigned upload URLs and results: it is created readable by its owner only
(mode 0600). One process at a time: the file is locked (``flock``) while open, and a second
``FileJournal`` on it is refused. Memory holds, per key, its state and where its last line
is; entries are read back from the file when asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import attrs

from ._errors import InvalidInputError, JournalConflictError
from ._journal import JobState, JournalEntry, check_key, check_transition

__all__ = ["FileJournal"]


@attrs.frozen
class _Where:
    state: JobState
    offset: int
    length: int


# States whose loss in a power cut bills nothing twice and loses no run: the entry before
# them (``created``, ``uploaded``) resumes by asking the API. They are written at once (a
# killed process loses nothing) but not fsync-ed on their own.
_RECOVERABLE = frozenset({JobState.UPLOADED, JobState.DONE})


@attrs.frozen
class _Write:
    key: str
    entry: JournalEntry | None
    token: str | None  # None: forget, whoever owns the key
    done: asyncio.Future[None]


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a write's outcome as seen, so that one whose caller was cancelled is not logged
    as an exception never retrieved."""
    if not future.cancelled():
        future.exception()


class FileJournal:
    """The run journal in a local JSON Lines file (see the module docstring for its form).

    ``FileJournal(path)`` opens (creating it, mode 0600) and locks the file and reads its
    index; use it as ``with FileJournal(path) as journal:`` (or ``async with``), or call
    :meth:`close`. The ``Journal`` methods are coroutines; the fsync runs in a worker thread
    so the event loop never waits on the disk.

    Attributes:
        path: the file.
        torn: bytes of a torn last line that loading cut off (0 if none).
        unreadable: complete lines that are not entries (ignored).

    Raises:
        InvalidInputError: another process (or another ``FileJournal``) has the file open.
        OSError: the file cannot be opened, read or repaired.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        existed = self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InvalidInputError(
                "journal", f"{self.path} is in use by another process (one writer at a time)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._lock = threading.Lock()
        self._index: dict[str, _Where] = {}
        self._owners: dict[str, str] = {}
        self._queue: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self.torn = 0
        self.unreadable = 0
        try:
            self._load()
            if not existed:
                _fsync_dir(self.path.parent)
        except BaseException:
            self.close()
            raise

    # -- loading ------------------------------------------------------------------------

    def _load(self) -> None:
        offset = 0
        with open(self._fd, "rb", closefd=False) as stream:
            stream.seek(0)
            for raw in stream:
                if not raw.endswith(b"\n"):
                    break  # a torn last line: its writer died mid-write
                self._index_line(raw, offset)
                offset += len(raw)
            size = stream.seek(0, os.SEEK_END)
        if offset < size:
            self.torn = size - offset
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)

    def _index_line(self, raw: bytes, offset: int) -> None:
        try:
            payload = json.loads(raw)
            key = check_key(payload["key"])
            state = payload["state"]
            where = None if state is None else _Where(JobState(state), offset, len(raw))
        except (ValueError, TypeError, KeyError):
            self.unreadable += bool(raw.strip())
            return
        if where is None:
            self._index.pop(key, None)
        else:
            self._index[key] = where

    # -- the Journal protocol -----------------------------------------------------------

    async def claim(self, key: str) -> tuple[str, JournalEntry | None]:
        """Become ``key``'s owner: a fresh token and its entry (None if it has none)."""
        check_key(key)
        token = secrets.token_hex(16)
        self._owners[key] = token
        return token, await self.get(key)

    async def put(self, entry: JournalEntry, *, token: str) -> None:
        """Append ``entry`` and fsync it, if ``token`` still owns its key.

        Raises:
            JournalConflictError: the key was claimed again since ``token`` was given.
            ValueError: the state machine does not allow this move (a bug).
            OSError: the file could not be written.
        """
        await self._submit(entry.key, entry, token)

    async def release(self, key: str, *, token: str) -> None:
        """Remove ``key``'s entry (its create provably made nothing), if ``token`` owns it.

        Raises:
            JournalConflictError: the key was claimed again since ``token`` was given.
        """
        await self._submit(key, None, token)

    async def get(self, key: str) -> JournalEntry | None:
        """``key``'s entry, or None."""
        return self._read(key)

    # -- for the batch command and for people ---------------------------------------------

    def entries(self, *states: JobState) -> Iterator[JournalEntry]:
        """Every entry (or those in ``states``), read back lazily, in no set order."""
        for key, where in list(self._index.items()):
            if not states or where.state in states:
                entry = self._read(key)
                if entry is not None:
                    yield entry

    def state_of(self, key: str) -> JobState | None:
        """``key``'s state, or None; reads nothing from the file."""
        where = self._index.get(key)
        return where.state if where is not None else None

    def __len__(self) -> int:
        return len(self._index)

    async def forget(self, key: str) -> None:
        """Remove ``key``'s entry whatever its state: your decision about an ``unknown``
        create (you checked with support, or accept a second run). Claims are voided."""
        await self._submit(key, None, None)

    # -- writing ------------------------------------------------------------------------

    async def _submit(self, key: str, entry: JournalEntry | None, token: str | None) -> None:
        """Queue one write and wait until it is on disk (or refused).

        Writes queued while a flush runs go out together, in one ``write`` and one
        ``fsync`` (group commit), so concurrent checks do not wait on each other's syncs.
        A write once queued is carried out even if its caller is cancelled meanwhile.
        """
        if self._fd < 0:
            raise ValueError(f"the journal {self.path} is closed")
        loop = asyncio.get_running_loop()
        write = _Write(key, entry, token, loop.create_future())
        write.done.add_done_callback(_retrieve)
        self._queue.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="helios-journal-flush")
        await asyncio.shield(write.done)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                errors = await asyncio.to_thread(self._write_batch, batch)
            except BaseException as exc:  # the disk failed, or the loop is shutting down
                for write in [*batch, *self._queue]:
                    if not write.done.done():
                        write.done.set_exception(exc)
                self._queue.clear()
                raise
            for write, error in zip(batch, errors, strict=True):
                if error is not None:
                    write.done.set_exception(error)
                    continue
                if write.token is None:  # forget: every claim on the key is void
                    self._owners.pop(write.key, None)
                elif (
                    write.entry is not None
                    and write.entry.is_final
                    and self._owners.get(write.key) == write.token
                ):
                    del self._owners[write.key]  # no write can follow: the claim is done
                write.done.set_result(None)

    def _write_batch(self, batch: list[_Write]) -> list[BaseException | None]:
        """Check each write (owner, state machine) in order, append the accepted ones in one
        ``write``, ``fsync``, then update the index. Runs in a worker thread."""
        with self._lock:
            if self._fd < 0:
                return [ValueError(f"the journal {self.path} is closed")] * len(batch)
            offset = os.lseek(self._fd, 0, os.SEEK_END)
            staged: dict[str, _Where | None] = {}
            errors: list[BaseException | None] = []
            sync = False
            chunks: list[bytes] = []
            for write in batch:
                key, entry = write.key, write.entry
                where = staged[key] if key in staged else self._index.get(key)
                refusal = self._refusal(write, where)
                if refusal is not None:
                    errors.append(refusal)
                    continue
                line = entry.dumps() if entry else json.dumps({"key": key, "state": None})
                data = f"{line}\n".encode()
                staged[key] = _Where(entry.state, offset, len(data)) if entry else None
                offset += len(data)
                chunks.append(data)
                errors.append(None)
                sync = sync or entry is None or entry.state not in _RECOVERABLE
            if chunks:
                view = memoryview(b"".join(chunks))
                while view:
                    view = view[os.write(self._fd, view) :]
                if sync:
                    os.fsync(self._fd)
            for key, where in staged.items():
                if where is None:
                    self._index.pop(key, None)
                else:
                    self._index[key] = where
            return errors

    def _refusal(self, write: _Write, where: _Where | None) -> BaseException | None:
        """Why ``write`` may not be made over the key's current ``where``, or None."""
        if write.token is None:
            return None
        if self._owners.get(write.key) != write.token:
            return JournalConflictError(write.key)
        new = write.entry.state if write.entry else None
        try:
            check_transition(where.state if where else None, new, key=write.key)
        except ValueError as exc:
            return exc
        return None

    def _read(self, key: str) -> JournalEntry | None:
        where = self._index.get(key)
        if where is None or self._fd < 0:
            return None
        raw = os.pread(self._fd, where.length, where.offset)
        return JournalEntry.from_json(json.loads(raw))

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Sync, unlock and close the file; idempotent."""
        with self._lock:
            if self._fd >= 0:
                fd, self._fd = self._fd, -1
                try:
                    os.fsync(fd)
                finally:
                    with contextlib.suppress(OSError):
                        fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)

    async def aclose(self) -> None:
        """Wait for the writes queued, then :meth:`close`."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait([self._flusher])
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"{len(self._index)} entries"
        return f"<FileJournal {self.path} {state}>"


def _fsync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable too (POSIX: fsync the directory)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
