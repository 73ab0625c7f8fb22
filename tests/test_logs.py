"""``_logs``: HELIOS_LOG switches the ``helios_async`` logger on, to stderr, like OPENAI_LOG."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from helios_async import _logs


@pytest.fixture
def package_logger() -> Iterator[logging.Logger]:
    """The package logger, restored afterwards (level and handlers)."""
    logger = logging.getLogger("helios_async")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), (" INFO ", logging.INFO)])
def test_helios_log_sets_the_level_and_one_stderr_handler(
    value: str, level: int, package_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _logs.configure_from_env({"HELIOS_LOG": value}) == level
    assert _logs.configure_from_env({"HELIOS_LOG": value}) == level  # twice: still one handler
    assert package_logger.level == level
    assert len([h for h in package_logger.handlers if isinstance(h, _logs._StderrHandler)]) == 1
    package_logger.info("a run %s", "id-1")
    err = capsys.readouterr().err
    assert "helios_async INFO a run id-1" in err


def test_no_or_an_unknown_value_leaves_the_logger_alone(
    package_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (package_logger.level, list(package_logger.handlers))
    assert _logs.configure_from_env({}) is None
    assert _logs.configure_from_env({"HELIOS_LOG": "loud"}) is None
    assert (package_logger.level, list(package_logger.handlers)) == before
    assert "ignoring HELIOS_LOG='loud'" in capsys.readouterr().err


def test_importing_the_package_applies_helios_log() -> None:
    """The variable is read on import, so it works without touching the code."""
    code = (
        "import logging, helios_async\n"
        "logging.getLogger('helios_async.x').debug('hello from the library')\n"
    )
    env = {**os.environ, "HELIOS_LOG": "debug"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "DEBUG hello from the library" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(("count", "level"), [(0, None), (1, logging.INFO), (3, logging.DEBUG)])
def test_verbosity_counts_map_to_levels(count: int, level: int | None) -> None:
    assert _logs.verbosity_level(count) == level
