"""Local recording checks and chunked streaming (helios-api.md §4, D9, D14)."""

from __future__ import annotations

import asyncio
import io
import os
import wave
from pathlib import Path

import pytest

from helios_async import ErrorCode, InvalidInputError, RecordingError, _recording
from helios_async._recording import (
    CHUNK_BYTES,
    FileChunks,
    prepare_recording,
    prepare_recording_async,
)

SPEECH_SECONDS = 18.41  # the four speech-en files (tests/data/audio/README.md)


def wav_bytes(seconds: float, rate: int = 1000) -> bytes:
    """A mono 8-bit PCM WAV of silence lasting exactly ``seconds``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(b"\x80" * round(seconds * rate))
    return out.getvalue()


def refused(source: object, **kwargs: object) -> RecordingError:
    with pytest.raises(RecordingError) as caught:
        prepare_recording(source, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == "recording"
    assert isinstance(caught.value, InvalidInputError)
    return caught.value


# --- the sample files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("speech-en.wav", "audio/wav"),
        ("speech-en.flac", "audio/flac"),
        ("speech-en.mp3", "audio/mpeg"),
        ("speech-en.ogg", "audio/ogg"),
    ],
)
def test_the_sample_speech_files_are_accepted_with_format_size_and_duration(
    audio_dir, name, content_type
):
    """§4, D9, D14: format from the leading bytes, exact size, duration where readable."""
    path = audio_dir / name
    prepared = prepare_recording(path)
    assert prepared.content_type == content_type
    assert prepared.format.value == name.rsplit(".", 1)[1]
    assert prepared.size == path.stat().st_size
    assert prepared.duration == pytest.approx(SPEECH_SECONDS, abs=0.1)
    assert prepared.name == str(path)


def test_a_path_may_be_given_as_a_string(audio_dir):
    prepared = prepare_recording(str(audio_dir / "speech-en.wav"))
    assert prepared.size == (audio_dir / "speech-en.wav").stat().st_size


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_the_recording_may_be_given_as_bytes(audio_dir, kind):
    data = (audio_dir / "speech-en.flac").read_bytes()
    prepared = prepare_recording(kind(data))
    assert prepared.content_type == "audio/flac"
    assert prepared.size == len(data)
    assert prepared.duration == pytest.approx(SPEECH_SECONDS, abs=0.1)
    with prepared.open() as stream:
        assert stream.read() == data


def test_the_recording_may_be_given_as_an_open_file(audio_dir):
    path = audio_dir / "speech-en.mp3"
    with path.open("rb") as file:
        prepared = prepare_recording(file)
        assert prepared.content_type == "audio/mpeg"
        assert prepared.size == path.stat().st_size
        assert prepared.name == str(path)
        with prepared.open() as stream:
            assert stream.read() == path.read_bytes()
        # the caller's file is borrowed, not closed
        assert not file.closed


def test_open_gives_a_fresh_stream_from_the_first_byte_each_time(audio_dir):
    """Each upload attempt re-reads the whole recording (D13: retries resend everything)."""
    prepared = prepare_recording(audio_dir / "speech-en.wav")
    expected = (audio_dir / "speech-en.wav").read_bytes()
    for _ in range(2):
        with prepared.open() as stream:
            assert stream.read(4) == b"RIFF"
            assert stream.read() == expected[4:]


def test_a_file_object_positioned_midway_is_read_from_its_position(audio_dir):
    """A file object is read from its current position: the bytes before are not sent."""
    data = (audio_dir / "speech-en.wav").read_bytes()
    prefix = b"JUNKJUNK" * 100
    file = io.BytesIO(prefix + data)
    file.seek(len(prefix))
    prepared = prepare_recording(file)
    assert prepared.content_type == "audio/wav"
    assert prepared.size == len(data)
    assert prepared.duration == pytest.approx(SPEECH_SECONDS, abs=0.1)
    for _ in range(2):
        with prepared.open() as stream:
            assert stream.read() == data
    assert not file.closed


# --- refusals ----------------------------------------------------------------------------------


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty" in str(refused(empty))
    assert "empty" in str(refused(b""))


def test_a_file_object_at_its_end_is_refused_as_empty(audio_dir):
    file = io.BytesIO((audio_dir / "short.wav").read_bytes())
    file.seek(0, io.SEEK_END)
    assert "empty" in str(refused(file))


def test_a_missing_file_is_refused(tmp_path):
    error = refused(tmp_path / "nowhere.wav")
    assert "does not exist" in str(error)
    assert error.error_code is None


def test_a_directory_is_refused(tmp_path):
    assert "not a regular file" in str(refused(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(tmp_path, audio_dir):
    locked = tmp_path / "locked.wav"
    locked.write_bytes((audio_dir / "short.wav").read_bytes())
    locked.chmod(0)
    assert "not readable" in str(refused(locked))


@pytest.mark.parametrize(
    "content",
    [b"hello, I am text, not audio\n" * 10, b"RIFF\x00\x00\x00\x00AVI LIST", b"\x00" * 100],
)
def test_a_file_named_wav_that_is_not_audio_is_refused_as_format(tmp_path, content):
    """D9: the format is judged by the leading bytes, not the name."""
    fake = tmp_path / "recording.wav"
    fake.write_bytes(content)
    error = refused(fake)
    assert "FLAC, MP3, MP4, Ogg, WebM or WAV" in str(error)
    assert "first bytes" in str(error)


def test_the_readme_is_not_a_recording(audio_dir):
    refused(audio_dir / "README.md")


def test_short_wav_is_refused_as_too_short_with_the_api_error_code(audio_dir):
    """D9, §3.4: the local check names the code the API would end the run with."""
    error = refused(audio_dir / "short.wav")
    assert error.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert "ERR_RECORDING_TOO_SHORT" in str(error)
    assert "1.0 s" in str(error)
    assert "10 s" in str(error)


def test_check_duration_false_lets_a_short_recording_through(audio_dir):
    """D9: whether there is enough speech only the server can say; the check may be skipped."""
    prepared = prepare_recording(audio_dir / "short.wav", check_duration=False)
    assert prepared.content_type == "audio/wav"
    assert prepared.duration is None
    assert prepared.size == (audio_dir / "short.wav").stat().st_size


@pytest.mark.parametrize(("seconds", "ok"), [(9.9, False), (10.0, True), (179.9, True)])
def test_the_duration_limits_are_at_least_10_s(seconds, ok):
    """D9: at least 10 s, under 180 s."""
    data = wav_bytes(seconds)
    if ok:
        assert prepare_recording(data).duration == pytest.approx(seconds)
    else:
        assert refused(data).error_code is ErrorCode.ERR_RECORDING_TOO_SHORT


@pytest.mark.parametrize("seconds", [180.0, 181.0])
def test_a_recording_of_180_s_or_more_is_refused_as_too_long(seconds):
    """D9, §9.11: recordings must be under 3 minutes."""
    error = refused(wav_bytes(seconds))
    assert error.error_code is ErrorCode.ERR_RECORDING_TOO_LONG
    assert "ERR_RECORDING_TOO_LONG" in str(error)


def test_a_recording_whose_duration_cannot_be_read_is_left_to_the_api():
    """D9: where the duration is unreadable the API judges; locally it is None."""
    data = b"RIFF\x24\x00\x00\x00WAVE" + b"\x00" * 64  # a WAV with no fmt/data chunks
    prepared = prepare_recording(data)
    assert prepared.content_type == "audio/wav"
    assert prepared.duration is None


class NonSeekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_non_seekable_stream_is_refused(audio_dir):
    """Its size must be known (exact Content-Length, D14) and retries must re-read it."""
    stream = NonSeekable((audio_dir / "speech-en.wav").read_bytes())
    assert "seekable" in str(refused(stream))


@pytest.mark.parametrize("source", [42, None, ["a.wav"], io.StringIO("text")])
def test_anything_but_a_path_bytes_or_binary_file_is_refused(source):
    with pytest.raises(InvalidInputError) as caught:
        prepare_recording(source)  # type: ignore[arg-type]
    assert caught.value.field == "recording"


# --- FileChunks --------------------------------------------------------------------------------


async def collect(chunks: FileChunks) -> list[bytes]:
    return [chunk async for chunk in chunks]


async def test_file_chunks_yield_exactly_size_bytes_from_memory():
    data = bytes(range(256)) * 4000  # 1 024 000 bytes: several chunks
    seen: list[int] = []
    chunks = await collect(FileChunks(io.BytesIO(data), len(data), on_chunk=seen.append))
    assert b"".join(chunks) == data
    assert all(0 < len(c) <= CHUNK_BYTES for c in chunks)
    assert len(chunks) == -(-len(data) // CHUNK_BYTES)
    assert seen == [len(c) for c in chunks]


async def test_file_chunks_stop_at_size_even_if_the_stream_goes_on(audio_dir):
    """Exactly ``size`` bytes go out, matching the Content-Length (D14)."""
    path = audio_dir / "speech-en.wav"
    with path.open("rb") as stream:
        stream.seek(100)
        chunks = await collect(FileChunks(stream, 300_000))
        assert stream.tell() == 300_100
    assert b"".join(chunks) == path.read_bytes()[100:300_100]


async def test_file_chunks_stream_a_whole_file_from_disk(audio_dir):
    path: Path = audio_dir / "speech-en.flac"
    expected = await asyncio.to_thread(path.read_bytes)
    prepared = prepare_recording(path)
    with prepared.open() as stream:
        chunks = await collect(FileChunks(stream, prepared.size))
    assert b"".join(chunks) == expected
    assert max(len(c) for c in chunks) <= CHUNK_BYTES


async def test_file_chunks_of_zero_bytes_yield_nothing():
    assert await collect(FileChunks(io.BytesIO(b"abc"), 0)) == []


async def test_file_chunks_refuse_a_stream_that_became_shorter():
    """A file truncated during the upload must not send a short body under a long
    Content-Length."""
    with pytest.raises(RecordingError, match="became shorter"):
        await collect(FileChunks(io.BytesIO(b"x" * 10), 20))


async def test_file_chunks_end_for_good_once_done():
    chunks = FileChunks(io.BytesIO(b"abc"), 3)
    assert await chunks.__anext__() == b"abc"
    for _ in range(2):
        with pytest.raises(StopAsyncIteration):
            await chunks.__anext__()


async def test_a_small_recording_is_prepared_in_place_a_large_one_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Bytes and files of one chunk or less are checked on the loop (a thread hop would cost
    more than the work); a larger file is checked in a worker thread, never on the loop."""
    hops: list[object] = []
    real = asyncio.to_thread

    async def to_thread(function, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(args[0])
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(_recording.asyncio, "to_thread", to_thread)
    small = wav_bytes(11)
    assert len(small) <= CHUNK_BYTES
    small_file = tmp_path / "small.wav"
    small_file.write_bytes(small)
    large_file = tmp_path / "large.wav"
    large_file.write_bytes(wav_bytes(60, rate=8000))
    assert large_file.stat().st_size > CHUNK_BYTES
    for source in (small, bytearray(small), io.BytesIO(small), small_file, str(small_file)):
        assert (await prepare_recording_async(source)).size == len(small)
    assert hops == []
    assert (await prepare_recording_async(large_file)).size == large_file.stat().st_size
    assert hops == [large_file]
    with pytest.raises(RecordingError, match="does not exist"):
        await prepare_recording_async(tmp_path / "missing.wav")


# --- text-mode files, failing reads, streamed WAV sizes ----------------------------------------


def test_a_text_mode_file_is_refused_with_open_it_with_rb(audio_dir):
    """``open(path, "r")`` decodes as it reads: a RecordingError, not UnicodeDecodeError."""
    with (audio_dir / "speech-en.wav").open("r") as text:
        error = refused(text)
    assert "open it with 'rb'" in str(error)


class _Unreadable(io.RawIOBase):
    """A seekable binary file object whose every read fails, and whose seek says 0."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def readinto(self, buffer: object) -> int:
        raise OSError("disk on fire")


def test_a_file_object_whose_read_fails_is_reported_as_unreadable_not_empty():
    error = refused(_Unreadable())
    assert "cannot be read: disk on fire" in str(error)
    assert "empty" not in str(error)


def test_a_wav_whose_riff_and_data_sizes_are_zero_is_as_long_as_its_data():
    """A streaming writer leaves both sizes 0: read as unknown, the bytes present count."""
    data = bytearray(wav_bytes(12.0))
    data[4:8] = data[40:44] = bytes(4)
    prepared = prepare_recording(bytes(data))
    assert prepared.duration == pytest.approx(12.0)
