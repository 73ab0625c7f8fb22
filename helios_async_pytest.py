"""The ``helios_async`` pytest plugin: fixtures for testing your own code against the sandbox.

Installed with the package and loaded by pytest through the ``pytest11`` entry point
``helios_async``; nothing to import. The fixtures are async, so the test session needs
``pytest-asyncio`` (``asyncio_mode = "auto"``, or ``@pytest.mark.asyncio`` in strict mode;
``pip install 'helios-async[pytest]'`` brings it). Without it, a test that asks for one of
them fails in one line that says so (:data:`NEEDS_PYTEST_ASYNCIO`).

Loading the plugin costs nothing: pytest loads it into every session of every project that
installs helios-async, before coverage measurement starts, so this module sits outside the
``helios_async`` package (importing anything inside it would run ``helios_async/__init__``)
and imports nothing of helios-async until a fixture is first used, then only public names.

Fixtures (all function-scoped):

* ``helios_sandbox``: a running :class:`~helios_async.testing.Sandbox`, closed after the test.
* ``helios_client``: an open :class:`~helios_async.HeliosClient` bound to that sandbox, with
  :data:`~helios_async.testing.FAST_POLL` and :data:`~helios_async.testing.FAST_RETRY` so
  tests do not wait seconds between polls.
* ``helios_env``: sets ``THYMIA_BASE_URL`` and ``THYMIA_API_KEY`` to the sandbox's (and
  removes ``THYMIA_REGION``), so code that builds its own ``HeliosClient()`` reaches it.
* ``helios_sample_recording``: the path of the shipped 18.4 s Ogg sample recording.

Configuration: ``--helios-processing-delay=SECONDS`` (or the ini option
``helios_processing_delay``) sets how long sandbox runs stay ``RUNNING`` (default 0), and
``@pytest.mark.helios(processing_delay=..., api_key=..., upload_url_ttl=...)`` overrides
the sandbox's settings for one test.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from helios_async import HeliosClient
    from helios_async.testing import Sandbox

__all__ = [
    "NEEDS_PYTEST_ASYNCIO",
    "helios_client",
    "helios_env",
    "helios_sample_recording",
    "helios_sandbox",
]

NEEDS_PYTEST_ASYNCIO = (
    "the helios_async fixtures are async and need the pytest-asyncio plugin: "
    "pip install pytest-asyncio (or 'helios-async[pytest]'), with asyncio_mode = \"auto\" "
    "or @pytest.mark.asyncio on each test"
)
"""The one-line failure of a test that asks for an async fixture with pytest-asyncio
missing or disabled (``-p no:asyncio``)."""
_ASYNC_FIXTURES = frozenset({"helios_sandbox", "helios_client"})
_MARKER = "helios"
_MARKER_KEYWORDS = frozenset({"processing_delay", "api_key", "upload_url_ttl"})
_OPTION = "--helios-processing-delay"
_INI = "helios_processing_delay"

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """``pytest_asyncio.fixture`` where pytest-asyncio is installed, else ``pytest.fixture``.

    Loading the plugin must never break a pytest session that has no pytest-asyncio; a test
    that asks for the fixture then fails with :data:`NEEDS_PYTEST_ASYNCIO`
    (:func:`pytest_fixture_setup`).
    """
    try:
        from pytest_asyncio import fixture
    except ImportError:  # pragma: no cover - pytest-asyncio is a test dependency here
        return cast(F, pytest.fixture(function))
    return cast(F, fixture(function))


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> None:
    """With no plugin to run our async fixtures, pytest would fail the first test that asks
    for one with its internals ("no plugin or hook that handled it") and the next with a bare
    ``AssertionError``. Instead the fixture becomes a plain function that fails in one line,
    which pytest runs, reports and caches as a fixture error like any other."""
    if fixturedef.argname in _ASYNC_FIXTURES and not _has_pytest_asyncio(request.config):
        message = f"{fixturedef.argname}: {NEEDS_PYTEST_ASYNCIO}"

        def missing_plugin(**_: object) -> NoReturn:
            pytest.fail(message, pytrace=False)

        fixturedef.func = missing_plugin


def _has_pytest_asyncio(config: pytest.Config) -> bool:
    # Registered as "asyncio" by its entry point, or by module name with -p pytest_asyncio.plugin.
    return any(
        getattr(plugin, "__name__", None) == "pytest_asyncio.plugin"
        for plugin in config.pluginmanager.get_plugins()
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("helios_async", "helios-async sandbox fixtures")
    group.addoption(
        _OPTION,
        dest="helios_processing_delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds a sandbox run stays RUNNING after its upload (default: 0)",
    )
    parser.addini(_INI, "seconds a sandbox run stays RUNNING after its upload", default="0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(processing_delay=None, api_key=None, upload_url_ttl=None): settings of "
        "the helios_sandbox fixture for this test (seconds; see helios_async.testing.Sandbox)",
    )


def _processing_delay(config: pytest.Config) -> float:
    option: float | None = config.getoption("helios_processing_delay")
    if option is not None:
        return option
    raw = str(config.getini(_INI)).strip() or "0"
    try:
        return float(raw)
    except ValueError:
        raise pytest.UsageError(f"{_INI} must be a number of seconds, got {raw!r}") from None


def _sandbox_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {"processing_delay": _processing_delay(request.config)}
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
        unknown = set(marker.kwargs) - _MARKER_KEYWORDS
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{_MARKER} got unknown settings {sorted(unknown)}; "
                f"known: {sorted(_MARKER_KEYWORDS)}"
            )
        settings.update({k: v for k, v in marker.kwargs.items() if v is not None})
    return settings


@_async_fixture
async def helios_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A running :class:`~helios_async.testing.Sandbox` on 127.0.0.1, closed after the test.

    Its processing delay (seconds) comes from ``@pytest.mark.helios(processing_delay=...)``,
    else ``--helios-processing-delay``, else the ``helios_processing_delay`` ini option, else
    0 (runs finish as soon as the recording is uploaded).
    """
    from helios_async.testing import Sandbox

    async with Sandbox(**_sandbox_settings(request)) as sandbox:
        yield sandbox


@_async_fixture
async def helios_client(helios_sandbox: Sandbox) -> AsyncIterator[HeliosClient]:
    """An open :class:`~helios_async.HeliosClient` bound to ``helios_sandbox``.

    It polls with :data:`~helios_async.testing.FAST_POLL` and retries with
    :data:`~helios_async.testing.FAST_RETRY`; it is closed after the test. Use
    ``helios_client.with_options(...)`` for other policies or hooks.
    """
    from helios_async import HeliosClient
    from helios_async.testing import FAST_POLL, FAST_RETRY

    async with HeliosClient(
        helios_sandbox.api_key,
        base_url=helios_sandbox.base_url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
    ) as client:
        yield client


@pytest.fixture
def helios_env(helios_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Point the ``THYMIA_*`` variables at ``helios_sandbox`` for this test, and return it.

    Sets ``THYMIA_BASE_URL`` and ``THYMIA_API_KEY``, removes ``THYMIA_REGION``; everything is
    restored after the test.
    """
    monkeypatch.setenv("THYMIA_BASE_URL", helios_sandbox.base_url)
    monkeypatch.setenv("THYMIA_API_KEY", helios_sandbox.api_key)
    monkeypatch.delenv("THYMIA_REGION", raising=False)
    return helios_sandbox


@pytest.fixture
def helios_sample_recording() -> pathlib.Path:
    """Path of the shipped sample: 18.4 s of synthesised English speech (Ogg Vorbis).

    A wellness check with it ends ``COMPLETE_OK`` on the sandbox.
    """
    from helios_async.testing import sample_recording

    return sample_recording()
