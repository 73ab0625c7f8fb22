"""Every recording the tests use, found by name; nothing outside the repository is read.

Two kinds, one lookup (:func:`recording`):

* shipped: the small real recordings in ``tests/data/audio`` (see its README), committed with
  the tests and carried by the sdist;
* written: recordings that are only a header and zeros (digital silence), built here with
  ``struct`` the first time a test asks for them, into a temporary folder removed when the
  test process exits, rather than shipped as a megabyte of zeros.

A name that is neither, or a shipped file that has gone missing, raises
:class:`MissingRecordingError`: the test that needs it fails, loudly; it never skips.
"""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import struct
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path

AUDIO = Path(__file__).resolve().parent / "data" / "audio"
SHIPPED = frozenset(
    {"speech-en.wav", "speech-en.flac", "speech-en.mp3", "speech-en.ogg", "short.wav"}
)

_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_KSDATAFORMAT_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
_SPEAKER_FRONT_CENTER = 0x4


class MissingRecordingError(FileNotFoundError):
    """A test asked for a recording the repository does not hold."""


def silence_wav(seconds: float = 15.0, rate: int = 16_000) -> bytes:
    """``seconds`` of digital silence: mono 32-bit PCM in a ``WAVE_FORMAT_EXTENSIBLE`` file.

    The layout ffmpeg writes for 32-bit PCM (a 40-byte ``fmt `` chunk, a ``fact`` chunk, then
    ``data``), which Python 3.11's ``wave`` module can neither read nor write, so it is packed
    by hand; at the defaults it is byte for byte the ``silence-15s.wav`` the suite once read.
    """
    frames = round(seconds * rate)
    width = 4
    fmt = struct.pack(
        "<HHIIHHHHI",
        _WAVE_FORMAT_EXTENSIBLE,
        1,  # channels
        rate,
        rate * width,  # bytes per second
        width,  # block align
        8 * width,  # bits per sample
        22,  # size of the extension
        8 * width,  # valid bits per sample
        _SPEAKER_FRONT_CENTER,
    )
    chunks = [
        (b"fmt ", fmt + _KSDATAFORMAT_SUBTYPE_PCM),
        (b"fact", struct.pack("<I", frames)),
        (b"data", bytes(frames * width)),
    ]
    body = b"".join(tag + struct.pack("<I", len(data)) + data for tag, data in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


WRITTEN: dict[str, Callable[[], bytes]] = {"silence-15s.wav": silence_wav}


@functools.cache
def _written_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="helios-async-test-recordings-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def recording(name: str) -> Path:
    """The path of the test recording ``name`` (``"speech-en.flac"``, ``"silence-15s.wav"``).

    Raises :class:`MissingRecordingError` if the repository does not hold it.
    """
    if name in WRITTEN:
        path = _written_folder() / name
        if not path.is_file():
            path.write_bytes(WRITTEN[name]())
        return path
    path = AUDIO / name
    if name not in SHIPPED:
        known = ", ".join(sorted(SHIPPED | WRITTEN.keys()))
        raise MissingRecordingError(f"no test recording is named {name!r} (known: {known})")
    if not path.is_file():
        raise MissingRecordingError(
            f"the test recording {path} is missing; it ships with the repository "
            "(tests/data/audio/README.md): restore it, e.g. `git checkout -- tests/data/audio`"
        )
    return path


def audio_dir() -> Path:
    """``tests/data/audio``, once every shipped recording is checked to be there.

    Raises :class:`MissingRecordingError` naming the first one that is not.
    """
    for name in sorted(SHIPPED):
        recording(name)
    return AUDIO


def pcm_wav(samples: bytes, *, width: int = 2, rate: int = 8000, channels: int = 1) -> bytes:
    """A PCM WAV of ``samples`` (raw frames), written by the stdlib ``wave`` module."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(samples)
    return out.getvalue()


def float_wav(values: list[float], rate: int = 8000) -> bytes:
    """A WAVE_FORMAT_IEEE_FLOAT (tag 3) mono file, which ``wave`` cannot write."""
    data = struct.pack(f"<{len(values)}f", *values)
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + len(data)) + b"WAVE" + chunks + data
