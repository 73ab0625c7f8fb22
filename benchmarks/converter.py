"""Converter benchmark: microseconds to structure the §7 ``COMPLETE_OK`` run into
``helios_async.ModelRun``, with pydantic v2 and msgspec equivalents as reference points.

Run by hand (needs the ``benchmarks`` extra: ``pip install -e '.[benchmarks]'``)::

    python benchmarks/converter.py [--seconds 2]

Each library decodes the same bytes (helios-api.md §7, the success example) into typed
objects of the same shape: timestamps parsed to aware datetimes, the status to an enum, the
one section with its eleven scores. Two paths each: from the JSON bytes, and from an
already-decoded dict. Everything runs in this one process, nothing on the network, so no
server is involved; the best of five timing repeats counts.

Prints one line: microseconds per run for each library and path, and helios' ratio to each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
import timeit
from typing import Any

import msgspec
import pydantic
from _support import load
from pydantic.alias_generators import to_camel

from helios_async import ModelRun
from helios_async._converter import structure, structure_json

RUN_COMPLETE_OK: dict[str, Any] = {  # helios-api.md §7, verbatim
    "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
    "createdAt": "2026-03-26T09:30:05+00:00",
    "status": "COMPLETE_OK",
    "userLabel": "operator-1234",
    "deleteData": False,
    "runAt": "2026-03-26T09:31:10+00:00",
    "completedAt": "2026-03-26T09:31:40+00:00",
    "errorReason": None,
    "warnings": ["Audio quality may affect result accuracy."],
    "errorCode": None,
    "results": {
        "sections": [
            {
                "startSecs": 0,
                "finishSecs": 28.6,
                "transcript": "The North Wind and the Sun had a quarrel...",
                "mentalStrain": {"value": 0.42},
                "distress": {"value": 0.33},
                "stress": {"value": 0.33},
                "exhaustion": {"value": 0.66},
                "sleepPropensity": {"value": 0.66},
                "lowSelfEsteem": {"value": 0.0},
                "uniformDistress": {"value": 0.48},
                "uniformStress": {"value": 0.39},
                "uniformExhaustion": {"value": 0.61},
                "uniformSleepPropensity": {"value": 0.58},
                "uniformLowSelfEsteem": {"value": 0.21},
            }
        ]
    },
}
BODY = json.dumps(RUN_COMPLETE_OK).encode()


class Status(enum.StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    COMPLETE_OK = "COMPLETE_OK"
    COMPLETE_ERROR = "COMPLETE_ERROR"


# -- pydantic v2 ----------------------------------------------------------------------------


class PValue(pydantic.BaseModel):
    value: float


class PSection(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=to_camel, frozen=True)
    start_secs: float
    finish_secs: float
    transcript: str
    mental_strain: PValue
    distress: PValue
    stress: PValue
    exhaustion: PValue
    sleep_propensity: PValue
    low_self_esteem: PValue
    uniform_distress: PValue
    uniform_stress: PValue
    uniform_exhaustion: PValue
    uniform_sleep_propensity: PValue
    uniform_low_self_esteem: PValue


class PResults(pydantic.BaseModel):
    sections: tuple[PSection, ...]


class PModelRun(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=to_camel, frozen=True)
    id: str
    status: Status
    created_at: dt.datetime | None = None
    user_label: str = ""
    delete_data: bool = False
    run_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    error_reason: str | None = None
    warnings: tuple[str, ...] | None = None
    results: PResults | None = None
    error_code: str | None = None


# -- msgspec --------------------------------------------------------------------------------


class MValue(msgspec.Struct, frozen=True):
    value: float


class MSection(msgspec.Struct, rename="camel", frozen=True):
    start_secs: float
    finish_secs: float
    transcript: str
    mental_strain: MValue
    distress: MValue
    stress: MValue
    exhaustion: MValue
    sleep_propensity: MValue
    low_self_esteem: MValue
    uniform_distress: MValue
    uniform_stress: MValue
    uniform_exhaustion: MValue
    uniform_sleep_propensity: MValue
    uniform_low_self_esteem: MValue


class MResults(msgspec.Struct, frozen=True):
    sections: tuple[MSection, ...]


class MModelRun(msgspec.Struct, rename="camel", frozen=True):
    id: str
    status: Status
    created_at: dt.datetime | None = None
    user_label: str = ""
    delete_data: bool = False
    run_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    error_reason: str | None = None
    warnings: tuple[str, ...] | None = None
    results: MResults | None = None
    error_code: str | None = None


MSGSPEC_DECODER = msgspec.json.Decoder(MModelRun)


def microseconds(function: Any, seconds: float) -> float:
    """Best of five repeats, each about ``seconds`` / 5 long, in microseconds per call."""
    count, _ = timeit.Timer(function).autorange()
    number = max(1, int(count * seconds / 5 / 0.2))
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    seconds = parser.parse_args().seconds

    run = structure_json(BODY, ModelRun)  # all three agree on what they read
    assert run.section is not None
    assert run.section.mental_strain == 0.42
    assert PModelRun.model_validate_json(BODY).results.sections[0].mental_strain.value == 0.42  # type: ignore[union-attr]
    assert MSGSPEC_DECODER.decode(BODY).results.sections[0].mental_strain.value == 0.42  # type: ignore[union-attr]

    payload = json.loads(BODY)
    timings = {
        "helios bytes": microseconds(lambda: structure_json(BODY, ModelRun), seconds),
        "helios dict": microseconds(lambda: structure(payload, ModelRun), seconds),
        "pydantic bytes": microseconds(lambda: PModelRun.model_validate_json(BODY), seconds),
        "pydantic dict": microseconds(lambda: PModelRun.model_validate(payload), seconds),
        "msgspec bytes": microseconds(lambda: MSGSPEC_DECODER.decode(BODY), seconds),
        "msgspec dict": microseconds(lambda: msgspec.convert(payload, MModelRun), seconds),
        "json.loads alone": microseconds(lambda: json.loads(BODY), seconds),
    }
    shown = ", ".join(f"{name} {value:.1f} us" for name, value in timings.items())
    print(
        f"converter: §7 COMPLETE_OK run, per structure: {shown}; helios/pydantic "
        f"{timings['helios bytes'] / timings['pydantic bytes']:.1f}x, helios/msgspec "
        f"{timings['helios bytes'] / timings['msgspec bytes']:.1f}x (from bytes); "
        f"pydantic {pydantic.VERSION}, msgspec {msgspec.__version__}; {load()}"
    )


if __name__ == "__main__":
    main()
