"""``-v``/``--verbose``: the client's log on stderr, before or after the command's name."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from helios_async.cli import main


@pytest.fixture(autouse=True)
def package_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("helios_async")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.mark.parametrize("argv", [["-vv", "demo"], ["demo", "--verbose", "-v"]])
def test_twice_verbose_logs_each_request_at_debug_on_stderr(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, out=io.StringIO()) == 0
    err = capsys.readouterr().err
    assert "helios_async DEBUG POST http://127.0.0.1:" in err
    assert "/v1/models/mental-wellness -> 200" in err
    assert "Signature" not in err  # the upload's URL is logged without its query


def test_without_verbose_the_command_logs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"], out=io.StringIO()) == 0
    assert "helios_async" not in capsys.readouterr().err
