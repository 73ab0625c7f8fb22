"""helios_async._audio: format sniffing and duration probing (helios-api.md §4, D9, D14)."""

from __future__ import annotations

import io
import struct

import pytest
from recordings import pcm_wav, recording

from helios_async._audio import (
    SNIFF_BYTES,
    AudioFormat,
    probe_duration,
    sniff_format,
)

SPEECH_SECONDS = 18.41  # README: the same 18.4 s passage in four formats


def _ebml(element_id: bytes, body: bytes) -> bytes:
    """One EBML element with an 8-byte size field."""
    return element_id + bytes([0x01]) + len(body).to_bytes(7, "big") + body


def _webm(duration_ms: float | None) -> bytes:
    header = _ebml(b"\x1a\x45\xdf\xa3", _ebml(b"\x42\x82", b"webm"))
    info_body = _ebml(b"\x2a\xd7\xb1", (1_000_000).to_bytes(3, "big"))
    if duration_ms is not None:
        info_body += _ebml(b"\x44\x89", struct.pack(">d", duration_ms))
    segment = _ebml(b"\x11\x4d\x9b\x74", b"\x00" * 10) + _ebml(b"\x15\x49\xa9\x66", info_body)
    segment += _ebml(b"\x1f\x43\xb6\x75", b"\x00" * 32)  # a Cluster: audio data starts
    return header + _ebml(b"\x18\x53\x80\x67", segment)


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _mp4(seconds: int, timescale: int = 1000) -> bytes:
    """ftyp + moov/mvhd only: mutagen falls back to the movie header's duration."""
    mvhd = bytes(4) + struct.pack(">IIII", 0, 0, timescale, seconds * timescale) + bytes(80)
    return _box(b"ftyp", b"M4A \x00\x00\x02\x00isomM4A ") + _box(b"moov", _box(b"mvhd", mvhd))


# ----------------------------------------------------------------------------- content types


def test_content_types_are_the_d14_mime_types() -> None:
    """D14: each format uploads with its own MIME type; enum values are lowercase names."""
    assert {fmt.value: fmt.content_type for fmt in AudioFormat} == {
        "flac": "audio/flac",
        "mp3": "audio/mpeg",
        "mp4": "audio/mp4",
        "ogg": "audio/ogg",
        "webm": "audio/webm",
        "wav": "audio/wav",
    }
    assert SNIFF_BYTES == 64


# ----------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("speech-en.wav", AudioFormat.WAV),
        ("speech-en.flac", AudioFormat.FLAC),
        ("speech-en.mp3", AudioFormat.MP3),
        ("speech-en.ogg", AudioFormat.OGG),
        ("short.wav", AudioFormat.WAV),
        ("silence-15s.wav", AudioFormat.WAV),
    ],
)
def test_sniff_recognises_the_shared_recordings(name: str, expected: AudioFormat) -> None:
    """D9: the format comes from the leading bytes alone (§4 lists the six formats)."""
    assert sniff_format(recording(name).read_bytes()[:SNIFF_BYTES]) is expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_webm(1000.0)[:SNIFF_BYTES], AudioFormat.WEBM),
        (_mp4(12)[:SNIFF_BYTES], AudioFormat.MP4),
        (b"\x00\x00\x00\x1cftypisom", AudioFormat.MP4),
        (b"ID3\x04\x00\x00\x00\x00\x00\x23", AudioFormat.MP3),
        (b"\xff\xfb\x90\x64" + bytes(60), AudioFormat.MP3),  # MPEG-1 layer III frame
        (b"\xff\xf3\x80\xc4", AudioFormat.MP3),  # MPEG-2 layer III frame
    ],
)
def test_sniff_recognises_synthetic_headers(head: bytes, expected: AudioFormat) -> None:
    """§4: WebM (EBML magic), the MP4 family (``ftyp`` box) and bare MPEG frames."""
    assert sniff_format(head) is expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello, this is a text file, not a recording\n",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x00\x00\x00\x00AVI ",  # RIFF, but not WAVE
        b"\xff\xf1\x50\x80",  # AAC ADTS: sync word but layer bits 00
        b"\xff\xeb\x90\x64",  # reserved MPEG version 01
        b"\xff\xfb\xf0\x64",  # invalid bitrate index 1111
        b"\xff\xfb\x9c\x64",  # reserved sample-rate index 11
        b"ID",
        bytes(SNIFF_BYTES),
    ],
)
def test_sniff_rejects_garbage(head: bytes) -> None:
    """§3.4: anything else is ERR_RECORDING_INVALID_FORMAT material (None)."""
    assert sniff_format(head) is None


# ----------------------------------------------------------------------------- duration


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3", "ogg"])
def test_probe_duration_of_the_shared_speech(suffix: str) -> None:
    """D9: the duration of the 18.4 s sample is read in every shared format."""
    with recording(f"speech-en.{suffix}").open("rb") as stream:
        duration = probe_duration(stream, AudioFormat(suffix))
    assert duration == pytest.approx(SPEECH_SECONDS, abs=0.1)


@pytest.mark.parametrize(("name", "seconds"), [("short.wav", 0.965), ("silence-15s.wav", 15.0)])
def test_probe_duration_of_short_and_extensible_wavs(name: str, seconds: float) -> None:
    """silence-15s.wav is WAVE_FORMAT_EXTENSIBLE (which stdlib wave rejects on 3.11)."""
    with recording(name).open("rb") as stream:
        assert probe_duration(stream, AudioFormat.WAV) == pytest.approx(seconds, abs=0.01)


def test_probe_duration_ignores_and_restores_the_stream_position() -> None:
    """The caller's position does not matter and is put back afterwards."""
    stream = io.BytesIO(recording("speech-en.flac").read_bytes())
    stream.seek(1234)
    assert probe_duration(stream, AudioFormat.FLAC) == pytest.approx(SPEECH_SECONDS, abs=0.1)
    assert stream.tell() == 1234


def test_probe_duration_of_synthetic_webm_and_mp4() -> None:
    """WebM via Segment/Info/Duration (ms at the default scale); MP4 via mvhd."""
    assert probe_duration(io.BytesIO(_webm(12345.0)), AudioFormat.WEBM) == pytest.approx(12.345)
    assert probe_duration(io.BytesIO(_mp4(42)), AudioFormat.MP4) == pytest.approx(42.0)


def test_probe_duration_of_webm_without_duration_is_none() -> None:
    """A live-recorded WebM (MediaRecorder) has no Duration element: unknown, not 0."""
    assert probe_duration(io.BytesIO(_webm(None)), AudioFormat.WEBM) is None


def test_probe_duration_counts_only_wav_data_present() -> None:
    """A streamed WAV's placeholder data size (0xFFFFFFFF) is clamped to the bytes present."""
    data = bytearray(pcm_wav(bytes(16000)))  # 1 s of 8 kHz 16-bit
    data[40:44] = b"\xff\xff\xff\xff"
    assert probe_duration(io.BytesIO(bytes(data)), AudioFormat.WAV) == pytest.approx(1.0)


def test_a_wav_whose_riff_and_data_sizes_are_zero_counts_the_data_present() -> None:
    """A streaming writer may leave both sizes 0 (unknown), like 0xFFFFFFFF: the duration
    is the sample bytes actually present, not 0.0 s."""
    data = bytearray(pcm_wav(bytes(16000)))  # 1 s of 8 kHz 16-bit
    data[4:8] = data[40:44] = bytes(4)
    assert probe_duration(io.BytesIO(bytes(data)), AudioFormat.WAV) == pytest.approx(1.0)


@pytest.mark.parametrize("fmt", list(AudioFormat))
@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"hello, this is a text file\n" * 10,
        b"RIFF\x10\x00\x00\x00WAVEfmt \x02\x00\x00\x00",
        b"fLaC\x00\x00\x00\x22" + bytes(10),
        b"OggS" + bytes(40),
        b"\x1a\x45\xdf\xa3\xff" + bytes(20),
        b"\x00\x00\x00\x10ftypM4A " + bytes(8),
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f",
    ],
)
def test_probe_duration_never_raises_on_garbage(fmt: AudioFormat, payload: bytes) -> None:
    """Corrupt or mislabelled input gives None, never an exception."""
    assert probe_duration(io.BytesIO(payload), fmt) is None


def test_probe_duration_of_truncated_shared_files_does_not_raise() -> None:
    """Truncated real files: a number or None, never an exception."""
    for name in ("speech-en.flac", "speech-en.mp3", "speech-en.ogg", "speech-en.wav"):
        head = recording(name).read_bytes()[:300]
        fmt = sniff_format(head)
        assert fmt is not None
        result = probe_duration(io.BytesIO(head), fmt)
        assert result is None or result >= 0
