"""tests/recordings.py: every test recording comes from the repository, and a missing one fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import recordings


def test_every_shipped_recording_is_in_the_repository() -> None:
    """The shipped set is exactly the audio files committed in tests/data/audio."""
    assert recordings.audio_dir() == recordings.AUDIO
    on_disk = {path.name for path in recordings.AUDIO.iterdir() if path.suffix != ".md"}
    assert on_disk == recordings.SHIPPED


def test_an_unknown_recording_fails_loudly_instead_of_skipping() -> None:
    with pytest.raises(recordings.MissingRecordingError, match="no test recording is named"):
        recordings.recording("silence-16s.wav")


def test_a_shipped_recording_gone_missing_names_the_file_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(recordings, "AUDIO", tmp_path)
    with pytest.raises(recordings.MissingRecordingError, match=r"short\.wav is missing.*git"):
        recordings.audio_dir()


def test_written_silence_is_extensible_32_bit_pcm_of_the_asked_length() -> None:
    """A WAVE_FORMAT_EXTENSIBLE header (tag 0xFFFE, 80 bytes in all), then only zeros."""
    data = recordings.silence_wav(seconds=0.5, rate=8000)
    assert data[20:22] == b"\xfe\xff"
    assert len(data) == 80 + 0.5 * 8000 * 4
    assert not any(data[80:])
    assert recordings.recording("silence-15s.wav").stat().st_size == 80 + 15 * 16_000 * 4
