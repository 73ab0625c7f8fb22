"""A recording to upload: where its bytes come from, what format they are, local checks.

Files are streamed from disk in chunks on every upload attempt, never read whole into memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import attrs

from ._audio import SNIFF_BYTES, AudioFormat, probe_duration, sniff_format
from ._errors import RecordingError
from ._model_methods import ModelMethods
from ._models import ErrorCode

if TYPE_CHECKING:
    from ._truncation import Truncation

MIN_SECONDS = 10.0  # docs/helios.md#recording-limits: at least 10 s of speech ...
MAX_SECONDS = 180.0  # ... in a recording under 3 minutes
CHUNK_BYTES = 256 * 1024
SUPPORTED = "FLAC, MP3, MP4, Ogg, WebM or WAV"

RecordingSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO
"""What a recording may be given as: a path, the bytes themselves, or a seekable binary file."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class PreparedRecording(ModelMethods):
    """A checked recording: its format, exact size in bytes, and duration in seconds (if read).

    ``open`` returns a fresh binary stream positioned at the recording's first byte; the caller
    closes it. Each upload attempt opens it anew.
    """

    format: AudioFormat
    size: int
    duration: float | None
    name: str
    open: Callable[[], BinaryIO] = attrs.field(repr=False)

    @property
    def content_type(self) -> str:
        """The MIME type the upload PUT carries."""
        return self.format.content_type


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RecordingBody(ModelMethods):
    """The body of an upload PUT: a checked recording, re-opened for every attempt.

    ``size`` is the exact ``Content-Length`` in bytes. ``open()`` is a context manager giving
    the recording's bytes as an async iterator of chunks of at most 256 KiB, from its first
    byte; ``on_chunk`` sees each chunk's size (the sender sets it for progress hooks).
    """

    recording: PreparedRecording
    """The checked recording: its format, size and how to open it."""
    on_chunk: Callable[[int], None] | None = attrs.field(default=None, eq=False)
    """Called with each chunk's size in bytes as it is read (for progress hooks)."""

    @property
    def size(self) -> int:
        """The exact length in bytes."""
        return self.recording.size

    @contextlib.contextmanager
    def open(self) -> Iterator[FileChunks]:
        """The recording's chunks from its first byte; the file is closed on exit.

        Raises:
            RecordingError: the file was removed or made unreadable since it was checked.
        """
        try:
            stream = self.recording.open()
        except OSError as exc:
            raise RecordingError(
                "recording", f"{self.recording.name} cannot be read: {exc}"
            ) from exc
        with stream:
            yield FileChunks(stream, self.recording.size, self.on_chunk)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RecordingInfo(ModelMethods):
    """What the local checks learnt of a recording."""

    format: AudioFormat
    """The format, read from the recording's leading bytes."""
    content_type: str
    """The ``Content-Type`` the upload sends, from the format."""
    size: int
    """The size in bytes."""
    duration: float | None
    """The duration in seconds, or None where it was not read."""


async def check_recording(source: RecordingSource, *, check_duration: bool = True) -> RecordingInfo:
    """Check a recording locally, without sending anything.

    Useful before :meth:`~helios_async.HeliosClient.create_model_run`, so that a recording the
    API would refuse never costs a model run. ``run_wellness_check`` and ``upload_recording``
    run the same checks themselves.

    Raises:
        RecordingError: as :meth:`~helios_async.HeliosClient.upload_recording` would.

    See https://helios-async.readthedocs.io/helios/#recording-limits
    """
    prepared = await prepare_recording_async(source, check_duration=check_duration)
    return RecordingInfo(
        format=prepared.format,
        content_type=prepared.content_type,
        size=prepared.size,
        duration=prepared.duration,
    )


def prepare_recording(source: RecordingSource, *, check_duration: bool = True) -> PreparedRecording:
    """Check a recording locally and say how to read it. Blocking: run it in a thread.

    Raises:
        RecordingError: the file is missing, unreadable, empty, not one of the six formats
            (judged by its leading bytes, not its name), or, with ``check_duration``, shorter
            than 10 s or 180 s or longer where its duration can be read, or truncated: its
            data ends long before the duration its header declares (``_truncation``).
    """
    opener, name = _opener(source)
    try:
        return _prepare(opener, name, check_duration=check_duration)
    except OSError as exc:  # unreadable, or not a regular file after all (/proc, a FIFO)
        raise RecordingError("recording", f"{name} cannot be read: {exc}") from exc


async def prepare_recording_async(
    source: RecordingSource, *, check_duration: bool = True
) -> PreparedRecording:
    """:func:`prepare_recording` without blocking the event loop: in place for bytes in memory
    and files of at most one chunk (256 KiB), where a thread hop costs more than the work
    (about 56 us inline against 310 us through a thread), in a worker thread otherwise.

    Raises:
        RecordingError: as :func:`prepare_recording`.
    """
    if _is_small(source):
        return prepare_recording(source, check_duration=check_duration)
    return await asyncio.to_thread(prepare_recording, source, check_duration=check_duration)


def _is_small(source: RecordingSource) -> bool:
    if isinstance(source, bytes | bytearray | memoryview | io.BytesIO):
        return True
    if isinstance(source, str | os.PathLike):
        try:
            return os.stat(source).st_size <= CHUNK_BYTES
        except (OSError, ValueError):  # missing, or a bad path: said at once, in place
            return True
    return False


def _prepare(
    opener: Callable[[], BinaryIO], name: str, *, check_duration: bool
) -> PreparedRecording:
    with opener() as stream:
        size = _remaining_size(stream)
        start = stream.tell()
        try:
            head = stream.read(SNIFF_BYTES)  # an OSError here is "cannot be read", not "empty"
        except UnicodeDecodeError:  # a text stream of another kind, decoding as it reads
            raise RecordingError(
                "recording", f"{name} is open in text mode; open it with 'rb'"
            ) from None
        if size == 0 or not head:
            if head:
                raise RecordingError(
                    "recording", f"{name} has data but its seek(0, SEEK_END) gives no size"
                )
            raise RecordingError("recording", f"{name} is empty")
        if not isinstance(head, bytes):
            raise RecordingError("recording", f"{name} is open in text mode; open it with 'rb'")
        fmt = sniff_format(head)
        if fmt is None:
            raise RecordingError(
                "recording", f"{name} is not a {SUPPORTED} recording (judged by its first bytes)"
            )
        duration = None
        if check_duration:
            from ._truncation import find_truncation  # imported by the first duration check

            stream.seek(start)
            audio = cast(BinaryIO, _Window(stream, start)) if start else stream
            duration = probe_duration(audio, fmt)
            _check_truncation(name, find_truncation(audio, fmt, duration))
            _check_duration(name, duration)
    return PreparedRecording(format=fmt, size=size, duration=duration, name=name, open=opener)


def _check_truncation(name: str, cut: Truncation | None) -> None:
    if cut is not None:
        raise RecordingError(
            "recording",
            f"{name} declares {cut.declared:.1f} s but its data ends after about "
            f"{cut.present:.1f} s: it is truncated (the API would end the run with "
            f"{cut.error_code.value})",
            error_code=cut.error_code,
        )


def _check_duration(name: str, duration: float | None) -> None:
    if duration is None:
        return  # unreadable here; the API will judge
    if duration < MIN_SECONDS:
        raise RecordingError(
            "recording",
            f"{name} is {duration:.1f} s long; at least {MIN_SECONDS:g} s of speech is needed "
            f"(the API would end the run with {ErrorCode.ERR_RECORDING_TOO_SHORT.value})",
            error_code=ErrorCode.ERR_RECORDING_TOO_SHORT,
        )
    if duration >= MAX_SECONDS:
        raise RecordingError(
            "recording",
            f"{name} is {duration:.1f} s long; recordings must be under {MAX_SECONDS:g} s "
            f"(the API would end the run with {ErrorCode.ERR_RECORDING_TOO_LONG.value})",
            error_code=ErrorCode.ERR_RECORDING_TOO_LONG,
        )


def _opener(source: RecordingSource) -> tuple[Callable[[], BinaryIO], str]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return (lambda: io.BytesIO(data)), f"the {len(data)}-byte recording"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise RecordingError("recording", f"{path} does not exist")
        if not path.is_file():
            raise RecordingError("recording", f"{path} is not a regular file")
        if not os.access(path, os.R_OK):
            raise RecordingError("recording", f"{path} is not readable")
        return (lambda: path.open("rb")), str(path)
    if hasattr(source, "read") and hasattr(source, "seek"):
        stream = source
        if isinstance(stream, io.TextIOBase):
            # A text stream decodes as it reads: refused before anything is read or sent.
            raise RecordingError("recording", "the file is open in text mode; open it with 'rb'")
        if not stream.seekable():
            raise RecordingError(
                "recording",
                "a file object must be seekable, so its size is known and retries can re-read it",
            )
        start = stream.tell()
        label = str(getattr(stream, "name", "the file object"))

        def reopen() -> BinaryIO:
            stream.seek(start)
            return cast(BinaryIO, _Borrowed(stream))

        return reopen, label
    raise RecordingError(
        "recording", f"must be a path, bytes or a seekable binary file, not {type(source).__name__}"
    )


def _remaining_size(stream: BinaryIO) -> int:
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end - here


class _Borrowed(io.RawIOBase):
    """A caller's file object seen through a wrapper whose close() leaves it open."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


class _Window(_Borrowed):
    """A stream that starts at ``start`` of another, so parsers see offset 0 there."""

    def __init__(self, stream: BinaryIO, start: int) -> None:
        super().__init__(stream)
        self._start = start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            offset += self._start
        return self._stream.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start


class FileChunks:
    """An async iterator of a stream's next ``size`` bytes, in chunks of at most 256 KiB.

    A class rather than an async generator, so that nothing is left to finalise when the
    upload stops half way; the stream's owner closes it. ``on_chunk`` sees each chunk's size.
    A read that fails (``OSError``) or comes up short raises :class:`RecordingError`, which
    is not retried: the next attempt would read the same disk.
    """

    def __init__(
        self, stream: BinaryIO, size: int, on_chunk: Callable[[int], None] | None = None
    ) -> None:
        self._stream = stream
        self._left = size
        self._on_chunk = on_chunk
        # Bytes in memory, or a file of one chunk, are read in place: a thread hop would cost
        # more than the read. Larger files are read in a worker thread, a chunk at a time.
        self._inline = isinstance(stream, io.BytesIO) or size <= CHUNK_BYTES

    def __aiter__(self) -> FileChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._left <= 0:
            raise StopAsyncIteration
        want = min(CHUNK_BYTES, self._left)
        try:
            if self._inline:
                chunk = self._stream.read(want)
            else:
                chunk = await asyncio.to_thread(self._stream.read, want)
        except OSError as exc:  # a disk error: the recording, not the network, failed
            raise RecordingError(
                "recording", f"the recording could not be read while it was uploaded: {exc}"
            ) from exc
        if not chunk:
            raise RecordingError("recording", "the recording became shorter while it was uploaded")
        self._left -= len(chunk)
        if self._on_chunk is not None:
            self._on_chunk(len(chunk))
        return chunk
