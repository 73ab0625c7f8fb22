"""The API's string enums: :class:`BirthSex`, and the open :class:`ModelRunStatus` and
:class:`ErrorCode`, which keep a value the API does not document instead of failing."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["NO_STATUS", "BirthSex", "ErrorCode", "ModelRunStatus"]


class _OpenEnum(enum.StrEnum):
    """A string enum that keeps values it does not know instead of failing.

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
        """Whether this value is one the API documents (False for a value kept as received).

        See https://helios-async.readthedocs.io/helios/#unknown-values
        """
        return self._name_ in type(self).__members__


class BirthSex(enum.StrEnum):
    """Sex assigned at birth, as the API takes it in ``user.birthSex``.

    See https://helios-async.readthedocs.io/helios/#the-user
    """

    MALE = "MALE"
    """Male at birth."""
    FEMALE = "FEMALE"
    """Female at birth."""
    INTERSEX = "INTERSEX"
    """Intersex at birth."""
    UNKNOWN = "UNKNOWN"
    """Not known, or not given."""


class ModelRunStatus(_OpenEnum):
    """A model run's status. A value the API does not document is kept, never fatal
    (``is_known`` is False), and counts as not finished.

    See https://helios-async.readthedocs.io/helios/#statuses
    """

    CREATED = "CREATED"
    """The run exists and waits for its recording (or for the activity to be done)."""
    RUNNING = "RUNNING"
    """The recording has arrived and the model is working on it; ``run_at`` is set."""
    COMPLETE_OK = "COMPLETE_OK"
    """Finished with results; ``completed_at`` is set."""
    COMPLETE_ERROR = "COMPLETE_ERROR"
    """Finished without results; ``error_code``, ``error_reason`` and ``completed_at`` are
    set."""


NO_STATUS = ModelRunStatus("")
"""The status of a run whose status the API left out or sent as null: not a member,
``is_known`` False, an empty string (false as a bool)."""


class ErrorCode(_OpenEnum):
    """Why a run ended ``COMPLETE_ERROR``. A code the API does not document is kept, never
    fatal (``is_known`` is False). Every remedy is a new run.

    See https://helios-async.readthedocs.io/helios/#error-codes
    """

    ERR_RECORDING_INVALID_FORMAT = "ERR_RECORDING_INVALID_FORMAT"
    """Not FLAC, MP3, MP4, Ogg, WebM or WAV: convert it."""
    ERR_RECORDING_TOO_SHORT = "ERR_RECORDING_TOO_SHORT"
    """Under 10 seconds of speech: record longer."""
    ERR_RECORDING_TOO_LONG = "ERR_RECORDING_TOO_LONG"
    """3 minutes or longer: trim it."""
    ERR_TRANSCRIPTION_FAILED = "ERR_TRANSCRIPTION_FAILED"
    """No speech could be made out: check the audio and the microphone."""
    ERR_INTERNAL = "ERR_INTERNAL"
    """The service failed: try a new run, and contact thymia if it keeps failing."""
