"""The typed models of the Helios API (helios-api.md §2, §3, §6).

All are ``attrs.frozen`` and keyword-only. Field names are snake_case here and camelCase on
the wire; the private converter in ``_converter`` maps them, both ways. The response models
(built by the converter, never by hand in a hot path) are unslotted: the converter sets an
instance's attributes in one step, without ``__init__``, which is about half the cost of a
slotted instance's per-attribute stores; they hold no converters or validators for that
reason, so anything a field must satisfy on the wire is judged by the converter's hooks.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import attrs

from . import _validation as check
from ._errors import InvalidInputError

__all__ = [
    "Account",
    "ActivityRunCreated",
    "BirthSex",
    "CreateFields",
    "ErrorCode",
    "ModelRun",
    "ModelRunCreated",
    "ModelRunRequest",
    "ModelRunResults",
    "ModelRunStatus",
    "Section",
    "Tag",
    "User",
]


class _OpenEnum(enum.StrEnum):
    """A string enum that keeps values it does not know instead of failing (D11).

    An unknown value becomes an instance that is not a member: ``is_known`` is False, and it
    compares equal to no member.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value
        pseudo._value_ = value
        return pseudo

    @property
    def is_known(self) -> bool:
        """Whether this value is one the contract documents."""
        return self._name_ in type(self).__members__


class BirthSex(enum.StrEnum):
    """Sex assigned at birth (helios-api.md §6.1)."""

    MALE = "MALE"
    FEMALE = "FEMALE"
    INTERSEX = "INTERSEX"
    UNKNOWN = "UNKNOWN"


class ModelRunStatus(_OpenEnum):
    """A model run's status (§3.1). Unknown values are kept, never fatal (D11)."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    COMPLETE_OK = "COMPLETE_OK"
    COMPLETE_ERROR = "COMPLETE_ERROR"


class ErrorCode(_OpenEnum):
    """Why a run ended ``COMPLETE_ERROR`` (§3.4). Unknown codes are kept (D11)."""

    ERR_RECORDING_INVALID_FORMAT = "ERR_RECORDING_INVALID_FORMAT"
    ERR_RECORDING_TOO_SHORT = "ERR_RECORDING_TOO_SHORT"
    ERR_RECORDING_TOO_LONG = "ERR_RECORDING_TOO_LONG"
    ERR_TRANSCRIPTION_FAILED = "ERR_TRANSCRIPTION_FAILED"
    ERR_INTERNAL = "ERR_INTERNAL"


def _to_birth_sex(value: object) -> BirthSex:
    if isinstance(value, BirthSex):
        return value
    if isinstance(value, str):
        try:
            return BirthSex(value.upper())
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in BirthSex)
    raise InvalidInputError("user.birth_sex", f"must be one of {allowed}; got {value!r}")


@attrs.frozen(kw_only=True)
class User:
    """The person a run is for (§6.1).

    ``user_label`` is your own identifier, 1 to 50 characters, no personal data; the same
    label means the same person. ``date_of_birth`` is a date (use day or month 1 where
    unknown). ``birth_sex`` also takes its name as a string (``"FEMALE"``).

    Raises:
        InvalidInputError: a field breaks its rule; the error names it.
    """

    user_label: str = attrs.field(converter=check.check_user_label)
    date_of_birth: dt.date = attrs.field(converter=check.check_date_of_birth)
    birth_sex: BirthSex = attrs.field(converter=_to_birth_sex)


@attrs.frozen(kw_only=True)
class Tag:
    """A name/value pair attached to a run for later identification (§6.4, D7)."""

    name: str = attrs.field(converter=check.check_tag_name)
    value: str = attrs.field(converter=check.check_tag_value)


@attrs.frozen(kw_only=True)
class ModelRunRequest:
    """The body of a create request (E2 ``POST /v1/models/mental-wellness``, §2.3, §7).

    ``sleep_time``, ``wake_time`` and ``recording_time`` are naive local datetimes (D8).
    ``tags`` takes a mapping ``{name: value}`` or a sequence of :class:`Tag` or pairs.
    ``data_to_delete`` narrows what ``delete_data`` deletes; values pass through as given.

    Raises:
        InvalidInputError: a field breaks its rule; the error names it.
    """

    user: User = attrs.field(validator=lambda _i, _a, v: check.check_instance("user", v, User))
    language: str = attrs.field(converter=check.check_language)
    accent: str | None = attrs.field(default=None, converter=check.check_accent)
    sleep_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("sleep_time")
    )
    wake_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("wake_time")
    )
    recording_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("recording_time")
    )
    tags: tuple[Tag, ...] = attrs.field(
        default=(), converter=check.to_tags, validator=check.check_tags
    )
    delete_data: bool = attrs.field(
        default=False, validator=lambda _i, _a, v: check.check_instance("delete_data", v, bool)
    )
    data_to_delete: tuple[str, ...] | None = attrs.field(
        default=None, converter=check.to_data_to_delete
    )


class CreateFields(TypedDict, total=False):
    """The optional create fields (§2.3, §6), as keyword arguments of
    ``run_wellness_check``, ``create_activity_run`` and ``WellnessJob``; see
    :class:`ModelRunRequest` for each one's rule."""

    accent: str | None
    sleep_time: dt.datetime | None
    wake_time: dt.datetime | None
    recording_time: dt.datetime | None
    tags: Mapping[str, str] | Iterable[Tag | tuple[str, str]] | None
    delete_data: bool
    data_to_delete: Iterable[str] | None


@attrs.frozen(kw_only=True, slots=False)
class ModelRunCreated:
    """The answer to a create (§2.3): the run's ``id`` and where to PUT the recording.

    ``recording_upload_url`` is a presigned URL valid for 1 hour (§4); it is used exactly as
    given (D14).
    """

    id: str
    recording_upload_url: str = attrs.field(repr=False)  # carries a signature
    request_id: str | None = attrs.field(default=None, eq=False)  # of the response it came in


@attrs.frozen(kw_only=True, slots=False)
class ActivityRunCreated:
    """The answer to an Activity Plugin create (E3, §2.4, D4).

    ``activity_link`` is the page the user performs the activity on; ``raw`` is the payload
    as received, since the link's field name is not documented.
    """

    id: str
    activity_link: str = attrs.field(repr=False)
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    request_id: str | None = attrs.field(default=None, eq=False)  # of the response it came in


@attrs.frozen(kw_only=True, slots=False)
class Section:
    """One timed section of a recording's results (§3.3); seconds from the recording's start.

    The five bucketed scores (``distress``, ``stress``, ``exhaustion``, ``sleep_propensity``,
    ``low_self_esteem``) each take one of 0.0, 0.33, 0.66, 1.0 (D6); ``mental_strain`` and
    the ``uniform_*`` scores are continuous in [0, 1]. On the wire each is ``{"value": x}``.
    """

    start_secs: float
    finish_secs: float
    transcript: str
    mental_strain: float
    distress: float
    stress: float
    exhaustion: float
    sleep_propensity: float
    low_self_esteem: float
    uniform_distress: float
    uniform_stress: float
    uniform_exhaustion: float
    uniform_sleep_propensity: float
    uniform_low_self_esteem: float

    def scores(self) -> dict[str, float]:
        """The eleven scores by field name, in the contract's order (§3.3)."""
        return {name: getattr(self, name) for name in SCORE_NAMES}


SCORE_NAMES: tuple[str, ...] = tuple(
    a.name
    for a in attrs.fields(Section)
    if a.name not in ("start_secs", "finish_secs", "transcript")
)
BUCKETED_SCORES = frozenset(
    {"distress", "stress", "exhaustion", "sleep_propensity", "low_self_esteem"}
)


@attrs.frozen(kw_only=True, slots=False)
class ModelRunResults:
    """A finished run's results: its sections, currently always one (§3.3)."""

    sections: tuple[Section, ...]


@attrs.frozen(kw_only=True, slots=False)
class ModelRun:
    """A model run as GET returns it (E4, §2.5).

    Timestamps are timezone-aware (D12). ``warnings`` is empty when the API sent none (D10).
    ``results`` is set only for ``COMPLETE_OK``; ``error_code`` and ``error_reason`` only for
    ``COMPLETE_ERROR``. ``raw`` is the JSON as received, unknown fields included (D10).
    """

    id: str
    status: ModelRunStatus
    created_at: dt.datetime | None = None  # documented as always set; lenient per D10
    user_label: str = ""
    delete_data: bool = False
    run_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    error_reason: str | None = None
    warnings: tuple[str, ...] = ()
    results: ModelRunResults | None = None
    error_code: ErrorCode | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    request_id: str | None = attrs.field(default=None, eq=False)  # of the response it came in

    @property
    def is_finished(self) -> bool:
        """Whether the run is done: a terminal status, or ``completedAt`` set (D11)."""
        return (
            self.status in (ModelRunStatus.COMPLETE_OK, ModelRunStatus.COMPLETE_ERROR)
            or self.completed_at is not None
        )

    @property
    def succeeded(self) -> bool:
        """Whether the run ended ``COMPLETE_OK`` with results."""
        return self.status == ModelRunStatus.COMPLETE_OK and self.results is not None

    @property
    def section(self) -> Section | None:
        """The first (today the only) section of the results, or None (§3.3)."""
        if self.results is None or not self.results.sections:
            return None
        return self.results.sections[0]


@attrs.frozen(kw_only=True, slots=False)
class Account:
    """The account behind the API key (E1, §2.2): its opaque ``id`` and enabled ``features``."""

    id: str
    features: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    request_id: str | None = attrs.field(default=None, eq=False)  # of the response it came in
