"""The root of the error tree (drawn in ``_errors``): :class:`HeliosError`, and how every
error pickles."""

from __future__ import annotations

__all__ = ["HeliosError"]


class HeliosError(Exception):
    """Base class of every error helios_async raises on purpose (the tree above). Its
    message never contains the API key. Errors pickle whole (their message and every
    attribute), so they cross a process pool.

    See https://helios-async.readthedocs.io/helios/#status-mapping
    """

    def __reduce__(self) -> tuple[object, ...]:
        # By state, not by calling __init__ again: the subclasses take other arguments than
        # the message Exception keeps in ``args``.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(
    cls: type[HeliosError], args: tuple[object, ...], state: dict[str, object]
) -> HeliosError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
