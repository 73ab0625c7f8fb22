"""The errors of the tree (``_errors``) raised before anything is sent: input refused, a
closed client, the wrong event loop."""

from __future__ import annotations

from ._enums import ErrorCode
from ._error_base import HeliosError

__all__ = [
    "ClientClosedError",
    "InvalidInputError",
    "RecordingError",
    "WrongEventLoopError",
]


class InvalidInputError(HeliosError, ValueError):
    """Input refused before any request was sent: a field that breaks its rule, a missing
    key, an unknown region, or a bad argument such as ``concurrency``. See
    https://helios-async.readthedocs.io/helios/#request-fields

    Attributes:
        field: the argument or wire field at fault (``"user.user_label"``, ``"recording"``).
        rule: the rule it broke, in a few words.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class RecordingError(InvalidInputError):
    """The recording cannot be sent: missing, empty, unsupported format or length. See
    https://helios-async.readthedocs.io/helios/#recording-limits

    Attributes:
        error_code: the error code the API would have ended the run with, where one fits
            (``ERR_RECORDING_TOO_SHORT``, ``ERR_RECORDING_TOO_LONG``), else None.
    """

    def __init__(self, field: str, rule: str, *, error_code: ErrorCode | None = None) -> None:
        super().__init__(field, rule)
        self.error_code = error_code


class ClientClosedError(HeliosError, RuntimeError):
    """The :class:`~helios_async.HeliosClient` was used outside ``async with`` or after close,
    or the session it borrowed was closed by its owner. Nothing was sent.

    Closing a client wakes every request waiting out a 429 cool-down with this error, and a
    fan-out (``run_wellness_checks``) raises it once and stops, instead of failing each job.
    """


class WrongEventLoopError(ClientClosedError):
    """The client was used from an event loop other than the one it first sent from (two
    ``asyncio.run`` calls, say). An aiohttp session belongs to one loop; make one client per
    loop. When the loop a client's own session was opened in ends, that session is closed
    with it, so nothing is left unclosed. Nothing was sent."""
