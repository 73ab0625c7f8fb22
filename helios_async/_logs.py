"""The ``helios_async`` logger, switched on from the environment or the command line.

``HELIOS_LOG=debug`` (or ``info``) in the environment gives the ``helios_async`` logger that
level and a handler writing to stderr, when the package is imported; ``-v``/``--verbose``
on the ``helios-async`` command does the same (``-vv`` for debug). Otherwise the library
only logs to the handlers you configure, the usual way for a library.

The log lines carry metadata only: operations, statuses, timings, run ids, URLs without
their query string. Never the API key, a signature, a user label, a tag or a transcript.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Final

ENV_LOG: Final = "HELIOS_LOG"
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
FORMAT: Final = "%(asctime)s %(name)s %(levelname)s %(message)s"

logger = logging.getLogger("helios_async")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module adds: one per logger, always to the current ``sys.stderr``."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass  # always the current stderr (pytest and the CLI's tests swap it)


def enable(level: int) -> None:
    """Give the ``helios_async`` logger ``level`` and one handler writing to stderr."""
    logger.setLevel(level)
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        logger.addHandler(_StderrHandler())


def configure_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """Apply ``HELIOS_LOG`` (``debug`` or ``info``, any case); returns the level set, if any.

    An unknown value is ignored with a warning on the logger's own stderr handler.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_LOG, "").strip().lower()
    if not value:
        return None
    level = LEVELS.get(value)
    if level is None:
        print(f"helios_async: ignoring {ENV_LOG}={value!r} (use debug or info)", file=sys.stderr)
        return None
    enable(level)
    return level


def verbosity_level(count: int) -> int | None:
    """The level of ``-v`` given ``count`` times: none, info, then debug."""
    if count <= 0:
        return None
    return logging.INFO if count == 1 else logging.DEBUG
