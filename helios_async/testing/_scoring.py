"""The sandbox's simulated analysis of a recording (docs/helios.md#sandbox-rules).

Decides how a run ends from the uploaded bytes alone, the way the real service's checks are
documented, and fabricates deterministic scores for recordings that pass: the same audio
bytes always produce the same results. Nothing here is a real voice-biomarker model.
"""

from __future__ import annotations

import hashlib
import typing

import attrs

from helios_async._audio import SNIFF_BYTES, AudioFormat, probe_duration, sniff_format
from helios_async._truncation import find_truncation
from helios_async.testing._silence import is_digital_silence

__all__ = [
    "BUCKET_VALUES",
    "ERROR_REASONS",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "SIMULATED_TRANSCRIPT",
    "SIMULATED_WARNING",
    "Outcome",
    "analyse_recording",
    "sha256_of",
]

#: Shortest accepted recording, seconds (docs/helios.md#recording-limits: 10 s of speech).
MIN_SECONDS: typing.Final[float] = 10.0
#: Recordings this long or longer are refused, seconds ("under 3 minutes").
MAX_SECONDS: typing.Final[float] = 180.0
#: The four values a bucketed score takes (docs/helios.md#score-values).
BUCKET_VALUES: typing.Final[tuple[float, ...]] = (0.0, 0.33, 0.66, 1.0)

#: The warning every sandbox result carries.
SIMULATED_WARNING: typing.Final[str] = (
    "This result is simulated by the helios-async sandbox: the scores are derived from a "
    "hash of the uploaded audio and say nothing about the speaker."
)
#: Added when the recording's length could not be read, so ``finishSecs`` is nominal.
NOMINAL_DURATION_WARNING: typing.Final[str] = (
    "The helios-async sandbox could not read the recording's duration; finishSecs is nominal."
)
#: The sandbox does not transcribe; every section carries this text.
SIMULATED_TRANSCRIPT: typing.Final[str] = (
    "[simulated transcript] The helios-async sandbox does not transcribe audio."
)
_NOMINAL_SECONDS: typing.Final[float] = 30.0

#: ``errorReason`` per ``errorCode``, in the service's style; TOO_SHORT is its documented text.
ERROR_REASONS: typing.Final[dict[str, str]] = {
    "ERR_RECORDING_INVALID_FORMAT": (
        "Recording supplied is not in a supported format. Please supply a recording in one "
        "of the following formats: FLAC, MP3, MP4, Ogg, WebM or WAV."
    ),
    "ERR_RECORDING_TOO_SHORT": (
        "Recording supplied is too short. Please supply a recording containing at least 10 "
        "seconds of speech and that is under 3 minutes in length."
    ),
    "ERR_RECORDING_TOO_LONG": (
        "Recording supplied is too long. The recording exceeded the maximum allowed length "
        "of 3 minutes."
    ),
    "ERR_TRANSCRIPTION_FAILED": (
        "Transcription failed: no speech could be detected in the recording supplied. "
        "Please check the audio and the microphone, then submit a new model run."
    ),
    "ERR_INTERNAL": (
        "An internal error occurred while processing the model run. Please submit a new model "
        "run; if the problem persists, contact support@thymia.ai quoting the model run id."
    ),
}

# Score names in the order the digest bytes are assigned to them (the API's order).
_BUCKETED: typing.Final[tuple[str, ...]] = (
    "distress",
    "stress",
    "exhaustion",
    "sleepPropensity",
    "lowSelfEsteem",
)


@attrs.frozen(kw_only=True)
class Outcome:
    """How a run ends, decided when its recording arrives.

    Exactly one of ``error_code`` (with ``error_reason``) and ``results`` is set.
    ``results`` is the API's JSON object (``{"sections": [...]}``).
    """

    sha256: str  # hex digest of the whole recording
    size: int  # bytes
    audio_format: AudioFormat | None
    duration: float | None  # seconds, None when unreadable
    error_code: str | None = None
    error_reason: str | None = None
    results: dict[str, typing.Any] | None = None
    warnings: tuple[str, ...] | None = None


def sha256_of(stream: typing.BinaryIO) -> tuple[bytes, int]:
    """SHA-256 digest and byte count of ``stream`` read from offset 0 in 1 MiB steps."""
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest(), size


def analyse_recording(
    stream: typing.BinaryIO,
    *,
    digest: bytes,
    size: int,
    forced_error: str | None = None,
) -> Outcome:
    """Decide the outcome of a run from its recording (blocking; run it in a thread).

    ``stream`` is the whole recording, seekable; ``digest`` its SHA-256 and ``size`` its
    length in bytes (computed while it streamed in). The checks mirror the error codes in
    order (docs/helios.md#error-codes): format from the magic bytes, then truncation (data
    that ends long before the declared duration: too short if under 10 s remain, else
    invalid format; see ``helios_async._truncation``), then duration (< 10 s too short,
    >= 180 s too long; an unreadable duration passes), then digital silence for WAV (no
    speech to transcribe). ``forced_error`` (from ``Sandbox.set_outcome``) wins over all of
    them.
    """
    stream.seek(0)
    fmt = sniff_format(stream.read(SNIFF_BYTES))
    duration = None if fmt is None else probe_duration(stream, fmt)
    cut = None if fmt is None else find_truncation(stream, fmt, duration)
    base = Outcome(sha256=digest.hex(), size=size, audio_format=fmt, duration=duration)

    code = forced_error
    if code is None and fmt is None:
        code = "ERR_RECORDING_INVALID_FORMAT"
    elif code is None and cut is not None:
        code = cut.error_code.value  # its data ends long before its declared duration
    elif code is None and duration is not None and duration < MIN_SECONDS:
        code = "ERR_RECORDING_TOO_SHORT"
    elif code is None and duration is not None and duration >= MAX_SECONDS:
        code = "ERR_RECORDING_TOO_LONG"
    elif code is None and fmt is AudioFormat.WAV and is_digital_silence(stream):
        code = "ERR_TRANSCRIPTION_FAILED"
    if code is not None:
        reason = ERROR_REASONS.get(code, f"The model run failed with {code} (sandbox).")
        return attrs.evolve(base, error_code=code, error_reason=reason)

    warnings = [SIMULATED_WARNING]
    if duration is None:
        warnings.append(NOMINAL_DURATION_WARNING)
    finish = round(_NOMINAL_SECONDS if duration is None else duration, 2)
    return attrs.evolve(base, results=simulated_results(digest, finish), warnings=tuple(warnings))


def simulated_results(digest: bytes, finish_secs: float) -> dict[str, typing.Any]:
    """The ``results`` object for a recording whose SHA-256 is ``digest``.

    One section from 0 to ``finish_secs`` seconds. Each bucketed score is picked from
    :data:`BUCKET_VALUES` by one digest byte; its ``uniform*`` twin lies in the matching
    quarter of [0, 1] so the two agree; ``mentalStrain`` is their mean.
    """
    buckets: dict[str, float] = {}
    uniforms: dict[str, float] = {}
    for index, name in enumerate(_BUCKETED):
        bucket = digest[index] % len(BUCKET_VALUES)
        fraction = int.from_bytes(digest[8 + 2 * index : 10 + 2 * index], "big") / 65536
        buckets[name] = BUCKET_VALUES[bucket]
        uniforms["uniform" + name[0].upper() + name[1:]] = round(
            (bucket + fraction) / len(BUCKET_VALUES), 4
        )
    strain = round(sum(uniforms.values()) / len(uniforms), 4)
    # Key order follows the API's documented example.
    section: dict[str, typing.Any] = {
        "startSecs": 0,
        "finishSecs": finish_secs,
        "transcript": SIMULATED_TRANSCRIPT,
        "mentalStrain": {"value": strain},
    }
    section.update({name: {"value": value} for name, value in buckets.items()})
    section.update({name: {"value": value} for name, value in uniforms.items()})
    return {"sections": [section]}
