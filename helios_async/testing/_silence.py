"""The sandbox's digital-silence check of a WAV recording (docs/helios.md#sandbox-rules).

The client never judges silence (the service does); only the sandbox needs this, to end a
silent recording's run with ``ERR_TRANSCRIPTION_FAILED`` as the service would.
"""

from __future__ import annotations

import array
import contextlib
import math
import sys
import typing

from helios_async._audio import WAVE_FLOAT, WAVE_PCM, read_wav_info

__all__ = ["is_digital_silence"]

# Below 1 % of full scale a sample counts as silent.
_SILENCE_FRACTION: typing.Final[float] = 0.01
# Bytes read at a time while scanning (a multiple of every sample width).
_SCAN_CHUNK: typing.Final[int] = 24 * 4096


def is_digital_silence(stream: typing.BinaryIO) -> bool | None:
    """Whether a WAV recording holds only digital silence.

    True when every sample's amplitude is below 1 % of full scale (an empty data chunk is
    vacuously silent), False as soon as one sample reaches it. ``None`` when ``stream`` is
    not a readable WAV with integer PCM (8 to 32 bits) or IEEE float samples. The data is
    read in chunks, so memory stays small whatever the length. Reading starts at offset 0
    and the stream position is restored. The sandbox maps silence to
    ``ERR_TRANSCRIPTION_FAILED``.
    """
    try:
        position = stream.tell()
    except (OSError, ValueError):
        return None
    try:
        return _scan_wav_for_sound(stream)
    except Exception:  # corrupt input: say "unknown" rather than guess
        return None
    finally:
        with contextlib.suppress(OSError, ValueError):
            stream.seek(position)


def _scan_wav_for_sound(stream: typing.BinaryIO) -> bool | None:
    info = read_wav_info(stream)
    if info is None:
        return None
    width = info.block_align // info.channels  # bytes per sample slot
    if info.block_align % info.channels:
        return None
    if info.format_tag == WAVE_FLOAT and width in (4, 8):
        typecode = "f" if width == 4 else "d"
        limit: float = _SILENCE_FRACTION
    elif info.format_tag == WAVE_PCM and width == 1:
        typecode = "B"  # unsigned, centred on 128
        limit = math.ceil(_SILENCE_FRACTION * 128)
    elif info.format_tag == WAVE_PCM and 2 <= width <= 4:
        typecode = "h"  # wider samples are reduced to their top 16 bits
        limit = math.ceil(_SILENCE_FRACTION * 32768)
    else:
        return None
    stream.seek(info.data_offset)
    remaining = info.data_size
    while remaining > 0:
        chunk = stream.read(min(_SCAN_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        chunk = chunk[: len(chunk) - len(chunk) % width]  # drop a truncated final sample
        if width in (3, 4) and typecode == "h":
            # Keep the two most significant bytes of each little-endian sample.
            top = bytearray(2 * (len(chunk) // width))
            top[0::2] = chunk[width - 2 :: width]
            top[1::2] = chunk[width - 1 :: width]
            chunk = bytes(top)
        samples: array.array[typing.Any] = array.array(typecode, chunk)
        if sys.byteorder == "big" and typecode != "B":
            samples.byteswap()  # RIFF data is little-endian
        if not samples:
            continue
        high, low = max(samples), min(samples)
        if typecode == "B":
            high, low = high - 128, low - 128
        if high >= limit or -low >= limit:
            return False
    return True
