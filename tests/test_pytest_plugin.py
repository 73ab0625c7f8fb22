"""The ``helios_async`` pytest plugin, exercised the way users meet it: in a pytester project
of their own, with pytest-asyncio, warnings as errors and strict markers."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import helios_async
import helios_async_pytest as plugin

pytest_plugins = ["pytester"]

PACKAGE_ROOT = Path(helios_async.__file__).resolve().parents[1]
PLUGIN = "helios_async_pytest"
INI = """[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = --strict-markers -p no:cacheprovider
{extra}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: the package importable, plugins loaded explicitly (so the result
    does not depend on what else is installed), pytest-asyncio in auto mode."""
    monkeypatch.setenv("PYTHONPATH", str(PACKAGE_ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("THYMIA_API_KEY", "THYMIA_BASE_URL", "THYMIA_REGION"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI.format(mode="auto", extra=""))
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess("-p", "pytest_asyncio.plugin", "-p", PLUGIN, *args)


def test_the_fixtures_give_a_running_sandbox_and_a_fast_client_bound_to_it(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import datetime as dt

        import pytest

        from helios_async import ClientClosedError, HeliosClient, ModelRunStatus, User
        from helios_async.testing import FAST_POLL, FAST_RETRY, Sandbox

        seen = []

        async def test_bound(helios_sandbox, helios_client, helios_sample_recording):
            assert isinstance(helios_sandbox, Sandbox)
            assert helios_sandbox.base_url.startswith("http://127.0.0.1:")
            assert helios_sandbox.processing_delay == 0
            assert isinstance(helios_client, HeliosClient)
            assert helios_client.base_url == helios_sandbox.base_url
            assert (helios_client.poll, helios_client.retry) == (FAST_POLL, FAST_RETRY)
            user = User(user_label="u", date_of_birth=dt.date(1990, 1, 1), birth_sex="MALE")
            run = await helios_client.run_wellness_check(
                helios_sample_recording, user=user, language="en-GB"
            )
            assert run.status is ModelRunStatus.COMPLETE_OK
            assert helios_sandbox.runs_created("u") == 1
            seen.append((helios_sandbox, helios_client))

        async def test_a_fresh_sandbox_each_test(helios_sandbox, helios_client):
            old_sandbox, old_client = seen[0]
            assert helios_sandbox is not old_sandbox
            assert helios_sandbox.runs_created() == 0
            with pytest.raises(RuntimeError, match="not running"):
                old_sandbox.base_url  # closed after its test
            with pytest.raises(ClientClosedError):
                await old_client.get_account()
            assert (await helios_client.get_account()).id
        """
    )
    result = run(project)
    result.assert_outcomes(passed=2)


def test_the_processing_delay_comes_from_marker_option_or_ini(project: pytest.Pytester) -> None:
    project.makeini(INI.format(mode="auto", extra="helios_processing_delay = 2"))
    project.makepyfile(
        """
        import pytest

        async def test_from_option_or_ini(helios_sandbox, request):
            expected = request.config.getoption("helios_processing_delay") or 2.0
            assert helios_sandbox.processing_delay == expected

        @pytest.mark.helios(processing_delay=0.25, api_key="my-test-key", upload_url_ttl=5)
        async def test_from_marker(helios_sandbox, helios_client):
            assert helios_sandbox.processing_delay == 0.25
            assert helios_sandbox.api_key == "my-test-key"
            assert helios_sandbox.upload_url_ttl == 5
            assert (await helios_client.get_account()).id

        @pytest.mark.helios(procesing_delay=1)
        async def test_a_misspelt_setting_is_an_error(helios_sandbox):
            pass
        """
    )
    from_ini = run(project)
    from_ini.assert_outcomes(passed=2, errors=1)
    assert "unknown settings ['procesing_delay']" in from_ini.stdout.str()
    from_option = run(project, "--helios-processing-delay=7.5", "-k", "test_from_option_or_ini")
    from_option.assert_outcomes(passed=1, deselected=2)


def test_a_processing_delay_that_is_not_a_number_is_a_usage_error(
    project: pytest.Pytester,
) -> None:
    project.makeini(INI.format(mode="auto", extra="helios_processing_delay = soon"))
    project.makepyfile("async def test_it(helios_sandbox):\n    pass\n")
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*helios_processing_delay must be a number of seconds*"])


def test_helios_env_points_code_that_makes_its_own_client_at_the_sandbox(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THYMIA_REGION", "ca")  # would win over the default host otherwise
    project.makepyfile(
        """
        import os

        from helios_async import HeliosClient

        async def test_env(helios_env, helios_sandbox):
            assert helios_env is helios_sandbox
            assert "THYMIA_REGION" not in os.environ
            async with HeliosClient() as client:
                assert client.base_url == helios_sandbox.base_url
                assert (await client.get_account()).id

        def test_restored_afterwards():
            assert "THYMIA_BASE_URL" not in os.environ
            assert "THYMIA_API_KEY" not in os.environ
            assert os.environ["THYMIA_REGION"] == "ca"
        """
    )
    run(project).assert_outcomes(passed=2)


def test_the_fixtures_work_in_pytest_asyncio_strict_mode(project: pytest.Pytester) -> None:
    project.makeini(INI.format(mode="strict", extra=""))
    project.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_strict(helios_client):
            assert (await helios_client.get_account()).id
        """
    )
    run(project).assert_outcomes(passed=1)


def test_the_option_and_marker_are_documented_in_pytest_help(project: pytest.Pytester) -> None:
    help_text = run(project, "--help")
    help_text.stdout.fnmatch_lines(["*--helios-processing-delay=SECONDS*"])
    markers = run(project, "--markers")
    markers.stdout.fnmatch_lines(["*@pytest.mark.helios(processing_delay=None*"])
    fixtures = run(project, "--fixtures")
    fixtures.stdout.fnmatch_lines(["*helios_sandbox*", "*helios_client*", "*helios_env*"])


def test_the_entry_point_names_the_plugin_module_and_the_wheel_ships_it() -> None:
    pyproject = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"] == {"helios_async": PLUGIN}
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert f"{PLUGIN}.py" in wheel["only-include"]
    assert plugin.__name__ == PLUGIN
    assert {"helios_sandbox", "helios_client", "helios_env"} <= set(plugin.__all__)


def test_loading_the_plugin_imports_nothing_of_helios_async() -> None:
    """pytest loads entry-point plugins into every session, before coverage starts: loading
    this one must not run ``helios_async/__init__`` nor pull in aiohttp or the sandbox."""
    code = (
        "import json, sys, pytest, helios_async_pytest\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('helios_async', 'helios_async_pytest', 'aiohttp'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == ["helios_async_pytest"]


def test_the_installed_entry_point_loads_the_plugin_by_itself(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, the plugin needs no ``-p``: pytest finds it through ``pytest11``."""
    installed = [
        ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "helios_async"
    ]
    if not installed:
        pytest.skip("helios-async is not installed with its entry points (pip install -e .)")
    assert installed[0].value == PLUGIN
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makeini(INI.format(mode="auto", extra=""))
    pytester.makepyfile("async def test_it(helios_client):\n    assert helios_client\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_without_pytest_asyncio_a_test_asking_for_a_fixture_says_what_to_install(
    project: pytest.Pytester,
) -> None:
    """pytest-asyncio disabled (``-p no:asyncio``; autoloading is off and it is not named):
    each test that asks for an async fixture fails with one line naming pytest-asyncio, not
    with pytest internals."""
    project.makeini(
        "[pytest]\nfilterwarnings = error\naddopts = --strict-markers -p no:cacheprovider\n"
    )
    project.makepyfile(
        """
        def test_sync_sandbox(helios_sandbox):
            pass

        def test_env(helios_env):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:asyncio", "-p", PLUGIN)
    result.assert_outcomes(errors=2)
    output = result.stdout.str()
    assert output.count(f"helios_sandbox: {plugin.NEEDS_PYTEST_ASYNCIO}") >= 2
    assert "pip install pytest-asyncio" in plugin.NEEDS_PYTEST_ASYNCIO
    assert "no plugin or hook" not in output
    assert "AssertionError" not in output
