"""``FileJournal``: the run journal in one local file, for one process (``batch``).

The file is JSON Lines, one whole line per write, appended: a :class:`JournalEntry` as
``JournalEntry.to_json`` gives it, or ``{"key": ..., "state": null}`` when a key's entry was
removed. The last line of a key is its entry. Each line goes out in one ``write`` on a file
opened with ``O_APPEND`` and is ``fsync``-ed before the write returns, so once ``put``
returns the entry survives a crash of the process or the machine. A process killed in the
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

from ._errors import InvalidInputError
from ._journal import JobState, JournalConflictError, JournalEntry, check_key, check_transition

__all__ = ["FileJournal"]


@attrs.frozen
class _Where:
    state: JobState
    offset: int
    length: int


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
        await asyncio.to_thread(self._write, entry.key, entry, token)

    async def release(self, key: str, *, token: str) -> None:
        """Remove ``key``'s entry (its create provably made nothing), if ``token`` owns it.

        Raises:
            JournalConflictError: the key was claimed again since ``token`` was given.
        """
        await asyncio.to_thread(self._write, key, None, token)

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
        await asyncio.to_thread(self._write, key, None, None)

    # -- writing ------------------------------------------------------------------------

    def _write(self, key: str, entry: JournalEntry | None, token: str | None) -> None:
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"the journal {self.path} is closed")
            if token is not None and self._owners.get(key) != token:
                raise JournalConflictError(key)
            where = self._index.get(key)
            if token is not None:
                check_transition(
                    where.state if where else None, entry.state if entry else None, key=key
                )
            line = (entry.dumps() if entry else json.dumps({"key": key, "state": None})) + "\n"
            data = line.encode()
            offset = os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
            if entry is None:
                self._index.pop(key, None)
                if token is None:
                    self._owners.pop(key, None)
            else:
                self._index[key] = _Where(entry.state, offset, len(data))

    def _read(self, key: str) -> JournalEntry | None:
        where = self._index.get(key)
        if where is None or self._fd < 0:
            return None
        raw = os.pread(self._fd, where.length, where.offset)
        return JournalEntry.from_json(json.loads(raw))

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Unlock and close the file; idempotent."""
        with self._lock:
            if self._fd >= 0:
                fd, self._fd = self._fd, -1
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    async def aclose(self) -> None:
        """:meth:`close`, for ``async with``."""
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
        self.close()

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
