"""Whether a recording's data ends long before the duration its header declares.

See https://helios-async.readthedocs.io/helios/#recording-limits for the limits it serves.

A header's duration says what the file *should* hold; a copy cut short (an interrupted
download, a partial upload, ``head -c``) keeps its header and loses its audio. Pre-flight
refuses such a recording and the sandbox ends its run ``COMPLETE_ERROR``, as the service
would on decoding it. Only headers, indexes and at most the last 128 KiB are read.

The rule, per format: estimate the seconds the data *present* can hold, and call the
recording truncated when that is under :data:`PRESENT_FRACTION` (75 %) of the declared
duration. The tolerance absorbs estimates that are not exact (a VBR average, a container's
byte share) and never touches a whole file, for which each estimate is the declared length.

* MP3: the bytes after the ID3v2 tag, at the bitrate mutagen reads (the Xing/VBRI average
  for VBR, which those headers make exact; without one mutagen's own length comes from the
  size, so the two agree).
* FLAC: the sample number of the last intact frame (its header's CRC-8 checked) against
  STREAMINFO's total; a file cut before its first frame holds 0 s. STREAMINFO is read here
  too, so a file too short for mutagen is still judged.
* MP4: the share of its ``mdat`` box that is present, when the box runs past the end.
* WebM: the share of a sized ``Segment`` that is present, when it runs past the end
  (live recorders write unsized segments: those are not judged).
* WAV and Ogg: not judged here, as their duration already counts what is present (the
  ``data`` bytes there; the last Ogg page's granule position).

What is present decides the error code: under 10 s is ``ERR_RECORDING_TOO_SHORT``, more is
``ERR_RECORDING_INVALID_FORMAT`` (a damaged file). The contract is silent on truncated
files; these are this client's decisions.
"""

from __future__ import annotations

import importlib
import io
import struct
import typing

import attrs

from ._audio import AudioFormat, _read_vint
from ._models import ErrorCode

__all__ = ["PRESENT_FRACTION", "Truncation", "find_truncation"]

PRESENT_FRACTION: typing.Final[float] = 0.75
"""A recording whose data holds less than this share of its declared duration is truncated."""
_MIN_SECONDS: typing.Final[float] = 10.0  # as in _recording (docs/helios.md#recording-limits)
_TAIL_BYTES: typing.Final[int] = 128 * 1024


@attrs.frozen(kw_only=True)
class Truncation:
    """A recording cut short: ``declared`` seconds in its header, about ``present`` seconds
    of data."""

    declared: float
    present: float

    @property
    def error_code(self) -> ErrorCode:
        """``ERR_RECORDING_TOO_SHORT`` if under 10 s is left, else
        ``ERR_RECORDING_INVALID_FORMAT``."""
        if self.present < _MIN_SECONDS:
            return ErrorCode.ERR_RECORDING_TOO_SHORT
        return ErrorCode.ERR_RECORDING_INVALID_FORMAT


def find_truncation(
    stream: typing.BinaryIO, fmt: AudioFormat, declared: float | None
) -> Truncation | None:
    """The truncation of the recording in ``stream`` (read from offset 0; the position is
    restored), or None if it holds what it declares (within the tolerance) or cannot be
    judged. ``declared`` is the duration read from its header, in seconds, if any. Never
    raises on corrupt data."""
    position = stream.tell()
    try:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        if fmt is AudioFormat.FLAC:
            declared, present = _flac(stream, size, declared)
        elif declared is None:
            return None
        elif fmt is AudioFormat.MP3:
            present = _mp3(stream, size)
        elif fmt is AudioFormat.MP4:
            present = _share(_mp4_mdat(stream, size), declared)
        elif fmt is AudioFormat.WEBM:
            present = _share(_webm_segment(stream, size), declared)
        else:
            return None
    except Exception:  # corrupt input can raise almost anything from a parser
        return None
    finally:
        stream.seek(position)
    if declared is None or present is None or declared <= 0:
        return None
    if present >= declared * PRESENT_FRACTION:
        return None
    return Truncation(declared=declared, present=max(present, 0.0))


def _share(fraction: float | None, declared: float) -> float | None:
    return None if fraction is None else declared * fraction


# --------------------------------------------------------------------------- MP3


def _mp3(stream: typing.BinaryIO, size: int) -> float | None:
    head = stream.read(10)
    start = 0
    if head[:3] == b"ID3" and len(head) == 10:
        tag = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        start = 10 + tag + (10 if head[5] & 0x10 else 0)  # a footer, when flagged
    stream.seek(0)
    mp3 = getattr(importlib.import_module("mutagen.mp3"), "MP3")  # noqa: B009
    bitrate = getattr(mp3(stream).info, "bitrate", 0)
    if not isinstance(bitrate, int) or bitrate <= 0:
        return None
    return max(size - start, 0) * 8 / bitrate


# --------------------------------------------------------------------------- FLAC


def _flac(
    stream: typing.BinaryIO, size: int, declared: float | None
) -> tuple[float | None, float | None]:
    """(declared, present) seconds: STREAMINFO's total, and the last intact frame's start."""
    if stream.read(4) != b"fLaC":
        return declared, None
    block = stream.read(4)
    if len(block) < 4 or block[0] & 0x7F != 0:  # STREAMINFO comes first
        return declared, None
    info = stream.read(34)
    if len(info) < 34:
        return declared, None
    min_block = struct.unpack(">H", info[0:2])[0]
    packed = int.from_bytes(info[10:18], "big")
    rate = packed >> 44
    total = packed & ((1 << 36) - 1)
    if not rate:
        return declared, None
    if total:
        declared = total / rate
    tail_start = max(0, size - _TAIL_BYTES)
    stream.seek(tail_start)
    tail = stream.read()
    for offset in range(len(tail) - 2, -1, -1):
        if tail[offset] != 0xFF or tail[offset + 1] not in (0xF8, 0xF9):
            continue
        start = _flac_frame_start(tail[offset : offset + 16], min_block)
        if start is not None:
            return declared, start / rate
    # No frame in the tail: cut before the first frame (a small file), else not judged.
    return declared, 0.0 if tail_start == 0 else None


def _flac_frame_start(header: bytes, min_block: int) -> int | None:
    """The first sample of the frame whose header starts ``header``, if it is one."""
    if len(header) < 6 or header[2] >> 4 == 0 or header[2] & 0x0F == 0x0F:
        return None
    if header[3] >> 4 > 10 or header[3] & 0x01 or (header[3] >> 1) & 0x07 == 3:
        return None
    first = header[4]
    extra = 0
    while extra < 7 and first & (0x80 >> extra):
        extra += 1
    if extra == 1 or extra > 7:
        return None
    length = max(extra, 1)
    number = first & (0xFF >> (extra + 1)) if extra else first
    for byte in header[5 : 4 + length]:
        if byte & 0xC0 != 0x80:
            return None
        number = (number << 6) | (byte & 0x3F)
    end = 4 + length
    end += {6: 1, 7: 2}.get(header[2] >> 4, 0) + {12: 1, 13: 2, 14: 2}.get(header[2] & 0x0F, 0)
    if len(header) <= end or _crc8(header[:end]) != header[end]:
        return None
    variable = header[1] & 0x01
    return number if variable else number * min_block


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


# --------------------------------------------------------------------------- containers


def _mp4_mdat(stream: typing.BinaryIO, size: int) -> float | None:
    """The present share of an ``mdat`` box that runs past the end, else None."""
    offset = 0
    for _ in range(256):  # bound the walk on hostile input
        stream.seek(offset)
        header = stream.read(16)
        if len(header) < 8:
            return None
        box_size: int = struct.unpack(">I", header[:4])[0]
        kind = header[4:8]
        body = offset + 8
        if box_size == 1 and len(header) == 16:
            (box_size,) = struct.unpack(">Q", header[8:16])
            body = offset + 16
        elif box_size == 0:
            return None  # to the end of the file, by definition whole
        if box_size < body - offset:
            return None
        end = offset + box_size
        if end > size:
            if kind != b"mdat":
                return None
            return max(size - body, 0) / (end - body)
        offset = end
    return None


def _webm_segment(stream: typing.BinaryIO, size: int) -> float | None:
    """The present share of a sized ``Segment`` that runs past the end, else None."""
    for _ in range(4):  # the EBML header, then the Segment
        element = _read_vint(stream, keep_marker=True)
        length = _read_vint(stream, keep_marker=False)
        if element is None or length is None or length[0] < 0:
            return None
        body = stream.tell()
        if element[0] == 0x18538067:  # Segment
            end = body + length[0]
            if end <= size or not length[0]:
                return None
            return max(size - body, 0) / float(length[0])
        stream.seek(body + length[0])
    return None
