"""Recordings whose data ends long before their declared duration (``_truncation``, D9):
refused by pre-flight, failed by the sandbox as the service would, and no whole recording
in any format refused."""

from __future__ import annotations

import datetime as dt
import io
import struct

import pytest
from recordings import SHIPPED, recording

from helios_async import ErrorCode, HeliosClient, ModelRunFailedError, RecordingError, User
from helios_async._audio import AudioFormat, probe_duration
from helios_async._recording import prepare_recording
from helios_async._truncation import PRESENT_FRACTION, Truncation, find_truncation
from helios_async.testing import FAST_POLL, Sandbox, sample_recording
from helios_async.testing._scoring import analyse_recording, sha256_of

FORMATS = {
    "wav": AudioFormat.WAV,
    "flac": AudioFormat.FLAC,
    "mp3": AudioFormat.MP3,
    "ogg": AudioFormat.OGG,
}


def judged(data: bytes, fmt: AudioFormat) -> Truncation | None:
    stream = io.BytesIO(data)
    return find_truncation(stream, fmt, probe_duration(stream, fmt))


def first_bytes(name: str, count: int) -> bytes:
    return recording(name).read_bytes()[:count]


@pytest.mark.parametrize("name", sorted(SHIPPED))
@pytest.mark.parametrize("cut", [0, 1, 100])
def test_no_whole_recording_is_called_truncated_nor_one_missing_a_few_bytes(
    name: str, cut: int
) -> None:
    """Every shipped recording (four formats, CBR MP3, FLAC, Vorbis, PCM) holds what it
    declares; losing its last bytes stays within the tolerance."""
    data = recording(name).read_bytes()
    data = data[: len(data) - cut]
    assert judged(data, FORMATS[name.rpartition(".")[2]]) is None
    prepare_recording(data, check_duration=name != "short.wav")  # no RecordingError


def test_the_package_sample_is_not_truncated() -> None:
    assert judged(sample_recording().read_bytes(), AudioFormat.OGG) is None


def test_the_first_3000_bytes_of_an_mp3_are_refused_before_sending() -> None:
    """Its header still says 18.47 s; its data holds about 0.4 s: too short, locally."""
    with pytest.raises(RecordingError) as caught:
        prepare_recording(first_bytes("speech-en.mp3", 3000))
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert "declares 18.5 s" in str(caught.value)
    assert "truncated" in str(caught.value)
    prepare_recording(first_bytes("speech-en.mp3", 3000), check_duration=False)  # opted out


@pytest.mark.parametrize(
    ("name", "share", "code"),
    [
        ("speech-en.mp3", 0.5, ErrorCode.ERR_RECORDING_TOO_SHORT),
        ("speech-en.mp3", 0.6, ErrorCode.ERR_RECORDING_INVALID_FORMAT),
        ("speech-en.flac", 0.01, ErrorCode.ERR_RECORDING_TOO_SHORT),
        ("speech-en.flac", 0.6, ErrorCode.ERR_RECORDING_INVALID_FORMAT),
    ],
)
def test_what_is_left_decides_the_code(name: str, share: float, code: ErrorCode) -> None:
    """Under 10 s left: too short; more: a damaged file (invalid format)."""
    data = recording(name).read_bytes()
    cut = judged(data[: int(len(data) * share)], FORMATS[name.rpartition(".")[2]])
    assert cut is not None
    assert cut.present < cut.declared * PRESENT_FRACTION
    assert cut.error_code is code


def test_within_the_tolerance_a_cut_file_is_judged_by_its_duration_alone() -> None:
    data = recording("speech-en.mp3").read_bytes()
    assert judged(data[: int(len(data) * 0.8)], AudioFormat.MP3) is None


def test_a_flac_cut_before_its_first_frame_holds_nothing_even_if_mutagen_cannot_read_it() -> None:
    data = first_bytes("speech-en.flac", 3000)
    assert probe_duration(io.BytesIO(data), AudioFormat.FLAC) is None
    cut = judged(data, AudioFormat.FLAC)
    assert cut is not None
    assert (round(cut.declared, 1), cut.present) == (18.4, 0.0)


def ebml_head(element: int, size: int) -> bytes:
    """An element's id and an 8-byte size (-1: unknown size, as live recorders write)."""
    marker = 0x01FFFFFFFFFFFFFF if size == -1 else (0x01 << 56) | size
    return element.to_bytes((element.bit_length() + 7) // 8, "big") + marker.to_bytes(8, "big")


def webm(declared_size: int | None, present: int) -> bytes:
    """An empty EBML header, then a Segment declaring ``declared_size`` bytes (None: what
    follows) of which ``present`` follow."""
    size = present if declared_size is None else declared_size
    return ebml_head(0x1A45DFA3, 0) + ebml_head(0x18538067, size) + b"\x00" * present


def test_a_webm_whose_sized_segment_runs_past_the_end_is_truncated() -> None:
    assert find_truncation(io.BytesIO(webm(10_000, 1_000)), AudioFormat.WEBM, 20.0) is not None
    assert find_truncation(io.BytesIO(webm(10_000, 9_000)), AudioFormat.WEBM, 20.0) is None
    assert find_truncation(io.BytesIO(webm(None, 1_000)), AudioFormat.WEBM, 20.0) is None
    unsized = webm(-1, 1_000)  # a live recorder's segment: not judged
    assert find_truncation(io.BytesIO(unsized), AudioFormat.WEBM, 20.0) is None


def box(kind: bytes, body: bytes, *, size: int | None = None) -> bytes:
    return struct.pack(">I4s", 8 + len(body) if size is None else size, kind) + body


def test_an_mp4_whose_mdat_runs_past_the_end_is_truncated() -> None:
    head = box(b"ftyp", b"M4A \x00\x00\x00\x00") + box(b"moov", b"\x00" * 32)
    whole = head + box(b"mdat", b"\x00" * 10_000)
    assert find_truncation(io.BytesIO(whole), AudioFormat.MP4, 20.0) is None
    cut = find_truncation(io.BytesIO(whole[:5_000]), AudioFormat.MP4, 20.0)
    assert cut is not None
    assert cut.present == pytest.approx(20.0 * (5_000 - len(head) - 8) / 10_000)
    assert find_truncation(io.BytesIO(whole[:9_900]), AudioFormat.MP4, 20.0) is None


@pytest.mark.parametrize(
    ("name", "share", "code"),
    [
        ("speech-en.mp3", 3000, "ERR_RECORDING_TOO_SHORT"),
        ("speech-en.flac", 0.6, "ERR_RECORDING_INVALID_FORMAT"),
    ],
)
def test_the_sandbox_fails_a_truncated_recording_with_the_fitting_code(
    name: str, share: float, code: str
) -> None:
    data = recording(name).read_bytes()
    data = data[: int(share)] if share > 1 else data[: int(len(data) * share)]
    stream = io.BytesIO(data)
    digest, size = sha256_of(stream)
    outcome = analyse_recording(stream, digest=digest, size=size)
    assert outcome.error_code == code
    assert outcome.results is None


async def test_a_truncated_mp3_sent_without_preflight_ends_too_short_on_the_sandbox() -> None:
    async with (
        Sandbox() as sandbox,
        HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as client,
    ):
        with pytest.raises(ModelRunFailedError) as caught:
            await client.run_wellness_check(
                first_bytes("speech-en.mp3", 3000),
                user=User(user_label="cut", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"),
                language="en-GB",
                check_duration=False,
            )
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
