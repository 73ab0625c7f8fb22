"""The models of what a create sends: :class:`User`, :class:`Tag`,
:class:`ModelRunRequest` and the optional fields (:class:`CreateFields`), every field
checked (``_validation``) when one is built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TypedDict

import attrs

from . import _validation as check
from ._enums import BirthSex
from ._errors import InvalidInputError
from ._model_methods import ModelMethods
from ._redaction import hidden

__all__ = ["CreateFields", "ModelRunRequest", "Tag", "TagsInput", "User"]


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


@attrs.frozen(kw_only=True, eq=False, repr=False)
class User(ModelMethods):
    """The person a run is for. The scores are benchmarked against people of the same age,
    birth sex and language, so give these as accurately as you can.

    The label and the date of birth identify the person, so the repr hides them:
    ``User(user_label=<redacted>, date_of_birth=<redacted>, birth_sex=<BirthSex.FEMALE:
    'FEMALE'>)``. They stay readable as attributes, and equality compares them.

    Raises:
        InvalidInputError: a field breaks its rule; the error names it.

    See https://helios-async.readthedocs.io/helios/#the-user
    """

    user_label: str = attrs.field(converter=check.check_user_label, repr=hidden)
    """Your own identifier for the person: 1 to 50 characters, not blank, no personal data,
    no control characters and no whitespace at either end. The same label means the same
    person."""
    date_of_birth: dt.date = attrs.field(converter=check.check_date_of_birth, repr=hidden)
    """A ``datetime.date`` in 1900 or later, not in the future; use day or month 1 where
    it is unknown."""
    birth_sex: BirthSex = attrs.field(converter=_to_birth_sex)
    """Sex assigned at birth; its name as a string (``"FEMALE"``) is taken too."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Tag(ModelMethods):
    """A name/value pair attached to a run to recognise it later; at most 20 per run, each
    name once. The value is the caller's data, so the repr hides it:
    ``Tag(name='cohort', value=<redacted>)``.

    See https://helios-async.readthedocs.io/helios/#tag-rules
    """

    name: str = attrs.field(converter=check.check_tag_name)
    """A non-empty string, unique among the run's tags."""
    value: str = attrs.field(converter=check.check_tag_value, repr=hidden)
    """A string."""


TagsInput = Mapping[str, str] | Iterable[Tag | tuple[str, str]] | None
"""What ``tags`` may be given as: a mapping ``{name: value}``, or a sequence of
:class:`Tag` or ``(name, value)`` pairs; None for no tags."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ModelRunRequest(ModelMethods):
    """The body of a create request (``POST /v1/models/mental-wellness``, and the Activity
    Plugin's create), every field checked when it is built. Its repr hides the user's label
    and date of birth and the tags' values (see :class:`User` and :class:`Tag`).

    Raises:
        InvalidInputError: a field breaks its rule; the error names it.

    See https://helios-async.readthedocs.io/helios/#request-fields
    """

    user: User = attrs.field(validator=lambda _i, _a, v: check.check_instance("user", v, User))
    """The person the run is for."""
    language: str = attrs.field(converter=check.check_language)
    """The language and dialect spoken, a well-formed code such as ``en-GB``."""
    accent: str | None = attrs.field(default=None, converter=check.check_accent)
    """The speaker's accent, besides the language: a free, non-blank string."""
    sleep_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("sleep_time")
    )
    """When the person fell asleep for their last main sleep: a naive ``datetime`` in their
    local time (an aware one is refused, never converted)."""
    wake_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("wake_time")
    )
    """When they woke from it: a naive local ``datetime``."""
    recording_time: dt.datetime | None = attrs.field(
        default=None, validator=check.check_naive_datetime("recording_time")
    )
    """When the recording was made: a naive local ``datetime``."""
    tags: tuple[Tag, ...] = attrs.field(
        default=(), converter=check.to_tags, validator=check.check_tags
    )
    """At most 20 tags with unique names; given as a mapping ``{name: value}``, or a
    sequence of :class:`Tag` or ``(name, value)`` pairs."""
    delete_data: bool = attrs.field(
        default=False, validator=lambda _i, _a, v: check.check_instance("delete_data", v, bool)
    )
    """Delete the run's recording, inputs and results 12 hours after it finishes; reading
    it after that raises :class:`~helios_async.NotFoundError`."""
    data_to_delete: tuple[str, ...] | None = attrs.field(
        default=None, converter=check.to_data_to_delete
    )
    """With ``delete_data``, the kinds of data to delete (non-empty strings, sent as given);
    None deletes everything."""


class CreateFields(TypedDict, total=False):
    """The optional create fields, as keyword arguments of
    ``run_wellness_check``, ``create_activity_run`` and ``WellnessJob``; see
    :class:`ModelRunRequest` for each one's rule."""

    accent: str | None
    sleep_time: dt.datetime | None
    wake_time: dt.datetime | None
    recording_time: dt.datetime | None
    tags: TagsInput
    delete_data: bool
    data_to_delete: Iterable[str] | None
