"""helios_async.testing._silence: the sandbox's digital-silence check of WAV recordings
(helios-api.md §3.4, D16)."""

from __future__ import annotations

import io
import struct

import pytest
from recordings import float_wav, pcm_wav, recording

from helios_async.testing._silence import is_digital_silence


def test_silence_of_the_shared_recordings() -> None:
    """silence-15s.wav is digital silence; the speech samples are not; non-WAV is None."""
    with recording("silence-15s.wav").open("rb") as stream:
        assert is_digital_silence(stream) is True
    with recording("speech-en.wav").open("rb") as stream:
        assert is_digital_silence(stream) is False
    with recording("short.wav").open("rb") as stream:
        assert is_digital_silence(stream) is False
    with recording("speech-en.flac").open("rb") as stream:
        assert is_digital_silence(stream) is None


def test_silence_threshold_is_one_percent_of_full_scale() -> None:
    """Samples under 1 % of full scale are silence (dither); one louder sample is not."""
    quiet = struct.pack("<4h", 0, 300, -327, 12)
    loud = quiet + struct.pack("<h", -328)
    assert is_digital_silence(io.BytesIO(pcm_wav(quiet * 1000))) is True
    assert is_digital_silence(io.BytesIO(pcm_wav(quiet * 100_000 + loud))) is False


@pytest.mark.parametrize(
    ("width", "silent", "sound"),
    [
        (1, bytes([128, 129, 127]) * 10, bytes([128, 131])),
        (3, b"\x00\x00\x00\xff\xff\xff" * 10, b"\x00\x00\x10"),  # 0x100000 = 12.5 %
        (4, b"\x00\x00\x00\x00" * 10, b"\x00\x00\x00\x40"),
    ],
)
def test_silence_for_8_24_and_32_bit_pcm(width: int, silent: bytes, sound: bytes) -> None:
    assert is_digital_silence(io.BytesIO(pcm_wav(silent, width=width))) is True
    assert is_digital_silence(io.BytesIO(pcm_wav(silent + sound, width=width))) is False


def test_silence_for_float_wav() -> None:
    assert is_digital_silence(io.BytesIO(float_wav([0.0, 0.001, -0.005]))) is True
    assert is_digital_silence(io.BytesIO(float_wav([0.0, 0.5]))) is False


def test_silence_restores_position_and_rejects_garbage() -> None:
    stream = io.BytesIO(recording("silence-15s.wav").read_bytes())
    stream.seek(99)
    assert is_digital_silence(stream) is True
    assert stream.tell() == 99
    assert is_digital_silence(io.BytesIO(b"not audio at all")) is None
    assert is_digital_silence(io.BytesIO(b"RIFF\x04\x00\x00\x00WAVE")) is None
