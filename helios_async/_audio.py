"""Recording inspection: format sniffing and duration probing.

Pure helpers of the client's local pre-flight checks (docs/helios.md#recording-limits) and
upload headers (docs/helios.md#upload-rules), which the sandbox's simulated analysis
(docs/helios.md#sandbox-rules) reuses; its silence check lives in ``testing``. Nothing here
opens files: every function works on the bytes or the seekable binary stream it is given,
reads lazily and never loads a whole recording into memory.

The six formats the service accepts (docs/helios.md#recordings): FLAC, MP3, MP4, Ogg, WebM and
WAV.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import io
import math
import struct
import typing

__all__ = [
    "SNIFF_BYTES",
    "AudioFormat",
    "probe_duration",
    "sniff_format",
]


class AudioFormat(enum.Enum):
    """A recording format the Helios service accepts.

    See https://helios-async.readthedocs.io/helios/#recordings
    """

    FLAC = "flac"
    """FLAC, sent as ``audio/flac``."""
    MP3 = "mp3"
    """MP3, sent as ``audio/mpeg``."""
    MP4 = "mp4"
    """MP4 (and M4A) audio, sent as ``audio/mp4``."""
    OGG = "ogg"
    """Ogg (Vorbis or Opus), sent as ``audio/ogg``."""
    WEBM = "webm"
    """WebM, sent as ``audio/webm``."""
    WAV = "wav"
    """WAV, sent as ``audio/wav``."""

    @property
    def content_type(self) -> str:
        """The MIME type sent as ``Content-Type`` on the upload PUT."""
        return _CONTENT_TYPES[self]


_CONTENT_TYPES: typing.Final[dict[AudioFormat, str]] = {
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.MP4: "audio/mp4",
    AudioFormat.OGG: "audio/ogg",
    AudioFormat.WEBM: "audio/webm",
    AudioFormat.WAV: "audio/wav",
}

#: How many leading bytes of a recording :func:`sniff_format` needs to decide.
SNIFF_BYTES: typing.Final[int] = 64


# --------------------------------------------------------------------------- sniffing


def sniff_format(head: bytes) -> AudioFormat | None:
    """Identify a recording's format from its leading bytes (magic numbers only).

    ``head`` should hold the first :data:`SNIFF_BYTES` bytes of the recording (fewer is fine
    for short inputs). Returns ``None`` when no supported format matches, which the service
    reports as ``ERR_RECORDING_INVALID_FORMAT``.
    """
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return AudioFormat.WAV
    if head[:4] == b"fLaC":
        return AudioFormat.FLAC
    if head[:4] == b"OggS":
        return AudioFormat.OGG
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # EBML; Matroska audio shares this container and is treated as WebM.
        return AudioFormat.WEBM
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return AudioFormat.MP4
    if head[:3] == b"ID3" or _is_mpeg_audio_frame(head):
        return AudioFormat.MP3
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """True when ``head`` starts with a plausible MPEG-1/2/2.5 audio frame header."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate_index = head[2] >> 4
    sample_rate_index = (head[2] >> 2) & 0b11
    # version 01 is reserved; layer 00 is reserved (and is what AAC ADTS uses);
    # bitrate 1111 and sample rate 11 are invalid. Rejecting these keeps random bytes out.
    return version != 0b01 and layer != 0 and bitrate_index != 0xF and sample_rate_index != 0b11


# --------------------------------------------------------------------------- duration


def probe_duration(stream: typing.BinaryIO, fmt: AudioFormat) -> float | None:
    """Return the length of the recording in ``stream`` in seconds, or ``None``.

    ``stream`` must be a seekable binary stream; reading starts at offset 0 whatever its
    current position, and the position is restored afterwards. Only headers and indexes are
    read (mutagen and the RIFF/EBML walkers here seek over the audio data), so large files
    are cheap. ``None`` means the duration could not be read: unknown in the headers,
    truncated or corrupt data. Corrupt data never raises.

    WAV is parsed here rather than with the stdlib ``wave`` module because ``wave`` on
    Python 3.11 rejects ``WAVE_FORMAT_EXTENSIBLE`` files, which common tools write. WebM is
    parsed here because mutagen has no Matroska support; the others use mutagen.
    """
    try:
        position = stream.tell()
    except (OSError, ValueError):
        return None
    try:
        stream.seek(0)
        if fmt is AudioFormat.WAV:
            info = read_wav_info(stream)
            length = None if info is None else info.duration
        elif fmt is AudioFormat.WEBM:
            length = _webm_duration(stream)
        else:
            length = _mutagen_duration(stream, fmt)
    except Exception:  # corrupt input can raise almost anything from a parser
        length = None
    finally:
        with contextlib.suppress(OSError, ValueError):
            stream.seek(position)
    if length is None or not math.isfinite(length) or length < 0:
        return None
    return length


def _mutagen_duration(stream: typing.BinaryIO, fmt: AudioFormat) -> float | None:
    # Imported lazily (only compressed formats need mutagen) and looked up dynamically, so
    # this module type-checks whether or not the installed mutagen ships type information.
    def load(module: str, name: str) -> typing.Any:
        return getattr(importlib.import_module(module), name)

    parsed: object
    if fmt is AudioFormat.OGG:
        # Ogg is a container; let mutagen pick the codec from the first page.
        kinds = [
            load("mutagen.oggvorbis", "OggVorbis"),
            load("mutagen.oggopus", "OggOpus"),
            load("mutagen.oggflac", "OggFLAC"),
            load("mutagen.oggspeex", "OggSpeex"),
        ]
        parsed = load("mutagen", "File")(stream, options=kinds)
    elif fmt is AudioFormat.FLAC:
        parsed = load("mutagen.flac", "FLAC")(stream)
    elif fmt is AudioFormat.MP3:
        parsed = load("mutagen.mp3", "MP3")(stream)
    elif fmt is AudioFormat.MP4:
        parsed = load("mutagen.mp4", "MP4")(stream)
    else:
        return None
    length: object = getattr(getattr(parsed, "info", None), "length", None)
    if not isinstance(length, int | float) or isinstance(length, bool):
        return None
    if fmt is AudioFormat.FLAC and length == 0:
        # STREAMINFO total_samples == 0 means "unknown", not "empty".
        return None
    return float(length)


class _WavInfo(typing.NamedTuple):
    """What the RIFF walker learned about a WAV file."""

    format_tag: int  # 1 PCM, 3 IEEE float (after resolving WAVE_FORMAT_EXTENSIBLE)
    channels: int
    sample_rate: int  # frames per second
    byte_rate: int  # average bytes per second
    block_align: int  # bytes per frame
    bits_per_sample: int
    data_offset: int  # absolute offset of the first sample byte
    data_size: int  # bytes of sample data actually present in the stream

    @property
    def duration(self) -> float | None:
        if self.format_tag in (WAVE_PCM, WAVE_FLOAT) and self.block_align and self.sample_rate:
            return (self.data_size // self.block_align) / self.sample_rate
        if self.byte_rate:  # compressed WAV (ADPCM, G.711...): the average byte rate is exact
            return self.data_size / self.byte_rate
        return None


WAVE_PCM: typing.Final[int] = 0x0001
WAVE_FLOAT: typing.Final[int] = 0x0003
_WAVE_EXTENSIBLE: typing.Final[int] = 0xFFFE
_UNKNOWN_SIZES: typing.Final = (0, 0xFFFFFFFF)  # a data chunk's size a streaming writer left


def read_wav_info(stream: typing.BinaryIO) -> _WavInfo | None:
    """Walk the RIFF chunks from offset 0 to find ``fmt `` and ``data``; None if malformed."""
    end = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    header = stream.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    fmt_fields: tuple[int, int, int, int, int, int] | None = None
    data: tuple[int, int] | None = None
    offset = 12
    while offset + 8 <= end and (fmt_fields is None or data is None):
        stream.seek(offset)
        chunk_header = stream.read(8)
        if len(chunk_header) < 8:
            break
        chunk_id = chunk_header[:4]
        (chunk_size,) = struct.unpack("<I", chunk_header[4:])
        body_offset = offset + 8
        if chunk_id == b"fmt ":
            fmt_fields = _parse_fmt_chunk(stream.read(min(chunk_size, 64)))
            if fmt_fields is None:
                return None
        elif chunk_id == b"data":
            # Streaming writers leave 0 or 0xFFFFFFFF (or a too-large size) as a placeholder,
            # an unknown size: count the bytes really there, to the end of the stream.
            if chunk_size in _UNKNOWN_SIZES:
                chunk_size = end - body_offset
            data = (body_offset, max(0, min(chunk_size, end - body_offset)))
        offset = body_offset + chunk_size + (chunk_size & 1)  # chunks are word-aligned
    if fmt_fields is None or data is None:
        return None
    return _WavInfo(*fmt_fields, data_offset=data[0], data_size=data[1])


def _parse_fmt_chunk(body: bytes) -> tuple[int, int, int, int, int, int] | None:
    if len(body) < 16:
        return None
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _WAVE_EXTENSIBLE:
        # cbSize(2) validBits(2) channelMask(4) then a GUID whose first two bytes are the tag.
        if len(body) < 26:
            return None
        (tag,) = struct.unpack("<H", body[24:26])
    if channels == 0 or block_align == 0:
        return None
    return tag, channels, rate, byte_rate, block_align, bits


# The EBML/Matroska element ids the WebM walker needs.
_EBML_HEADER: typing.Final[int] = 0x1A45DFA3
_MKV_SEGMENT: typing.Final[int] = 0x18538067
_MKV_INFO: typing.Final[int] = 0x1549A966
_MKV_CLUSTER: typing.Final[int] = 0x1F43B675
_MKV_TIMESTAMP_SCALE: typing.Final[int] = 0x2AD7B1
_MKV_DURATION: typing.Final[int] = 0x4489
_EBML_MAX_ELEMENTS: typing.Final[int] = 256  # bound the walk on hostile input


def _read_vint(stream: typing.BinaryIO, *, keep_marker: bool) -> tuple[int, int] | None:
    """Read an EBML variable-length integer; returns (value, length) or None at EOF/garbage.

    Element ids keep their length-marker bit; sizes drop it. An all-ones size (unknown size,
    used by live recorders such as browsers' MediaRecorder) is returned as -1.
    """
    first = stream.read(1)
    if not first:
        return None
    length = 1
    mask = 0x80
    while length <= 8 and not first[0] & mask:
        mask >>= 1
        length += 1
    if length > 8:
        return None
    rest = stream.read(length - 1)
    if len(rest) != length - 1:
        return None
    value = first[0] if keep_marker else first[0] & (mask - 1)
    for byte in rest:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def _webm_duration(stream: typing.BinaryIO) -> float | None:
    """Seconds from the ``Segment/Info/Duration`` element, or None when it is absent."""
    seen = 0
    in_segment = False
    while seen < _EBML_MAX_ELEMENTS:
        seen += 1
        element_id = _read_vint(stream, keep_marker=True)
        size = _read_vint(stream, keep_marker=False)
        if element_id is None or size is None:
            return None
        eid, body_size = element_id[0], size[0]
        if eid == _MKV_SEGMENT:
            in_segment = True  # descend: its children follow directly
            continue
        if eid == _MKV_CLUSTER or body_size < 0:
            return None  # audio data started (or unsized element) before any Info
        if in_segment and eid == _MKV_INFO:
            return _parse_webm_info(stream.read(min(body_size, 1 << 16)))
        if eid != _EBML_HEADER and not in_segment:
            return None  # not a Matroska/WebM layout
        stream.seek(body_size, io.SEEK_CUR)
    return None


def _parse_webm_info(body: bytes) -> float | None:
    scale = 1_000_000  # Matroska default TimestampScale: 1 ms, in nanoseconds
    duration: float | None = None
    reader = io.BytesIO(body)
    while reader.tell() < len(body):
        element_id = _read_vint(reader, keep_marker=True)
        size = _read_vint(reader, keep_marker=False)
        if element_id is None or size is None or size[0] < 0:
            break
        value = reader.read(size[0])
        if element_id[0] == _MKV_TIMESTAMP_SCALE and value:
            scale = int.from_bytes(value, "big")
        elif element_id[0] == _MKV_DURATION and len(value) in (4, 8):
            (duration,) = struct.unpack(">f" if len(value) == 4 else ">d", value)
    if duration is None:
        return None
    return duration * scale / 1e9
