"""Every script in ``examples/`` runs against the sandbox here, so the docs' code never rots."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import importlib
import importlib.util
import os
import re
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

import helios_async
from helios_async import ClientClosedError, HeliosClient, User
from helios_async.testing import Sandbox, sample_recording

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PACKAGE_ROOT = Path(helios_async.__file__).resolve().parents[1]
PARAMS = {
    "user_label": "web-user",
    "date_of_birth": "1990-08-24",
    "birth_sex": "FEMALE",
    "language": "en-GB",
}


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (registered, so dataclasses and pydantic can
    resolve its annotations)."""
    module_name = f"helios_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def _forget_loaded_examples() -> Iterator[None]:
    yield
    for name in [n for n in sys.modules if n.startswith("helios_example_")]:
        del sys.modules[name]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as server:
        yield server


async def test_quickstart_scores_the_sample(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    run = await load("quickstart").main(sandbox.base_url, sandbox.api_key)
    assert run.succeeded
    out = capsys.readouterr().out
    assert f"model run {run.id}: COMPLETE_OK" in out
    assert "uniform_low_self_esteem" in out
    assert sandbox.runs_created("quickstart-0001") == 1


async def test_quickstart_reads_the_key_and_host_from_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THYMIA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("THYMIA_BASE_URL", sandbox.base_url)
    run = await load("quickstart").main(None, None)
    assert run.succeeded


async def test_quickstart_reraises_a_failed_run(sandbox: Sandbox) -> None:
    sandbox.set_outcome("quickstart-0001", "ERR_RECORDING_TOO_SHORT")
    with pytest.raises(helios_async.ModelRunFailedError) as caught:
        await load("quickstart").main(sandbox.base_url, sandbox.api_key)
    assert caught.value.error_code is helios_async.ErrorCode.ERR_RECORDING_TOO_SHORT


# --- aiohttp.web --------------------------------------------------------------------------------


async def test_the_aiohttp_app_end_to_end(sandbox: Sandbox) -> None:
    summary = await load("aiohttp_app").main(sandbox.base_url, sandbox.api_key)
    assert (summary["status"], summary["finished"], summary["error_code"]) == (
        "COMPLETE_OK",
        True,
        None,
    )
    assert set(summary["scores"]) >= {"stress", "mental_strain", "uniform_stress"}


async def test_the_aiohttp_app_maps_errors_and_closes_its_client(sandbox: Sandbox) -> None:
    example = load("aiohttp_app")
    app = example.create_app(sandbox.base_url, sandbox.api_key, deadline=0.5)
    recording = sample_recording().read_bytes()
    async with TestClient(TestServer(app)) as http:
        bad_date = await http.post("/checks", params={**PARAMS, "date_of_birth": "24/08/1990"})
        assert bad_date.status == 422
        assert (await bad_date.json())["field"] == "date_of_birth"

        not_audio = await http.post("/checks", params=PARAMS, data=b"plain text")
        assert not_audio.status == 422
        assert (await not_audio.json())["field"] == "recording"
        assert sandbox.runs_created() == 0  # refused before any run was created

        sandbox.set_outcome("web-user", "ERR_INTERNAL")
        failed = await http.post("/checks", params=PARAMS, data=recording)
        assert failed.status == 422
        assert (await failed.json())["error_code"] == "ERR_INTERNAL"

        sandbox.processing_delay = 60
        slow = await http.post("/checks", params={**PARAMS, "user_label": "slow"}, data=recording)
        assert slow.status == 504
        run_id = (await slow.json())["run_id"]
        later = await http.get(f"/checks/{run_id}")
        assert later.status == 200
        assert (await later.json())["status"] == "RUNNING"

        assert (await http.get("/checks/not-a-uuid")).status == 404
        unknown = await http.get("/checks/00000000-0000-4000-8000-000000000000")
        assert unknown.status == 404
        client: HeliosClient = app[example.HELIOS]
    assert sandbox.runs_created() == 2
    with pytest.raises(ClientClosedError):
        await client.get_account()  # cleanup_ctx closed the app's client


async def test_the_aiohttp_app_answers_500_when_its_key_is_wrong(sandbox: Sandbox) -> None:
    app = load("aiohttp_app").create_app(sandbox.base_url, "not-the-key")
    async with TestClient(TestServer(app)) as http:
        answer = await http.post("/checks", params=PARAMS, data=sample_recording().read_bytes())
        assert answer.status == 500
        assert "not-the-key" not in await answer.text()


# --- FastAPI ------------------------------------------------------------------------------------


async def test_the_fastapi_app_end_to_end(sandbox: Sandbox) -> None:
    summary = await load("fastapi_app").main(sandbox.base_url, sandbox.api_key)
    assert (summary["status"], summary["finished"]) == ("COMPLETE_OK", True)
    assert summary["scores"]["stress"] in (0.0, 0.33, 0.66, 1.0)


async def test_the_fastapi_app_maps_errors_and_closes_its_client(sandbox: Sandbox) -> None:
    example = load("fastapi_app")
    app = example.create_app(sandbox.base_url, sandbox.api_key, deadline=0.5)
    recording = sample_recording().read_bytes()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        client: HeliosClient = app.state.helios
        bad_sex = await http.post("/checks", params={**PARAMS, "birth_sex": "X"}, content=b"")
        assert bad_sex.status_code == 422  # FastAPI's own validation
        not_audio = await http.post("/checks", params=PARAMS, content=b"plain text")
        assert not_audio.status_code == 422
        assert not_audio.json()["detail"].startswith("recording: ")
        too_long = await http.post(
            "/checks", params={**PARAMS, "user_label": "x" * 51}, content=recording
        )
        assert too_long.status_code == 422
        assert too_long.json()["detail"].startswith("user.user_label: ")
        assert sandbox.runs_created() == 0  # refused before any run was created

        sandbox.set_outcome("web-user", "ERR_RECORDING_TOO_SHORT")
        failed = await http.post("/checks", params=PARAMS, content=recording)
        assert (failed.status_code, failed.json()["error_code"]) == (
            422,
            "ERR_RECORDING_TOO_SHORT",
        )

        sandbox.processing_delay = 60
        slow = await http.post(
            "/checks", params={**PARAMS, "user_label": "slow"}, content=recording
        )
        assert slow.status_code == 504
        later = await http.get(f"/checks/{slow.json()['run_id']}")
        assert (later.status_code, later.json()["status"]) == (200, "RUNNING")
        assert (await http.get("/checks/not-a-uuid")).status_code == 404
    assert sandbox.runs_created() == 2
    with pytest.raises(ClientClosedError):
        await client.get_account()  # the lifespan closed it


# --- the worker -------------------------------------------------------------------------------


async def test_the_worker_sorts_each_job_by_its_outcome(sandbox: Sandbox) -> None:
    outcomes = await load("worker").main(sandbox.base_url, sandbox.api_key)
    assert {job: o.state for job, o in outcomes.items()} == {
        "job-1": "scored",
        "job-2": "scored",
        "job-3": "rejected",
    }
    assert outcomes["job-1"].scores is not None
    assert outcomes["job-3"].run_id is None
    assert sandbox.runs_created() == 2


async def test_the_worker_resumes_a_saved_run_instead_of_creating_another(
    sandbox: Sandbox,
) -> None:
    example = load("worker")
    user = User(user_label="resumed", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
        uploaded = await client.create_model_run(user=user, language="en-GB")
        await client.upload_recording(uploaded, sample_recording())
        abandoned = await client.create_model_run(user=user, language="en-GB")  # no upload
        store = example.Store(run_ids={"up": uploaded.id, "lost": abandoned.id})
        worker = example.Worker(client, store)
        resumed = await worker.process(example.Job("up", sample_recording(), user))
        restarted = await worker.process(example.Job("lost", sample_recording(), user))
    assert (resumed.state, resumed.run_id) == ("scored", uploaded.id)
    assert restarted.state == "scored"
    assert restarted.run_id not in (uploaded.id, abandoned.id)
    assert store.run_ids == {"up": uploaded.id, "lost": restarted.run_id}
    assert sandbox.runs_created("resumed") == 3  # two made here, one by the restart


async def test_the_worker_reports_a_failed_run_and_a_deadline(sandbox: Sandbox) -> None:
    example = load("worker")
    sandbox.set_outcome("fails", "ERR_RECORDING_TOO_LONG")
    fails = User(user_label="fails", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
    slow = User(user_label="slow", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
        store = example.Store()
        failed = await example.Worker(client, store).process(
            example.Job("f", sample_recording(), fails)
        )
        sandbox.processing_delay = 60
        timed_out = await example.Worker(client, store, deadline=0.3).process(
            example.Job("s", sample_recording(), slow)
        )
    assert (failed.state, failed.detail) == ("failed", "ERR_RECORDING_TOO_LONG")
    assert timed_out.state == "timed_out"
    assert timed_out.run_id == store.run_ids["s"]  # kept, to resume later


# --- fanning out --------------------------------------------------------------------------------


async def test_fan_out_tallies_every_job(sandbox: Sandbox) -> None:
    tally = await load("fan_out").main(sandbox.base_url, sandbox.api_key, count=12)
    assert tally == {"COMPLETE_OK": 9, "RecordingError": 3}
    assert sandbox.runs_created() == 9


# --- testing your own code ------------------------------------------------------------------


def test_the_testing_example_passes_with_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\naddopts = --strict-markers\n"
    )
    pytester.makepyfile(test_my_service=(EXAMPLES / "test_my_service.py").read_text())
    monkeypatch.setenv("PYTHONPATH", str(PACKAGE_ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess(
        "-p", "pytest_asyncio.plugin", "-p", "helios_async_pytest"
    )
    result.assert_outcomes(passed=6)


# --- run directly, as the docs say ------------------------------------------------------------


async def test_every_example_runs_as_a_script_on_an_embedded_sandbox() -> None:
    scripts = ["quickstart", "aiohttp_app", "fastapi_app", "worker", "fan_out", "observability"]
    assert {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("test_")} == set(scripts)
    env = {k: v for k, v in os.environ.items() if not k.startswith("THYMIA_")}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)

    async def run(name: str) -> tuple[str, int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            str(EXAMPLES / f"{name}.py"),
            "--sandbox",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        return name, await process.wait(), out.decode()

    results: list[tuple[str, int, str]] = await asyncio.gather(*(run(n) for n in scripts))
    for name, code, out in results:
        assert code == 0, f"{name} exited {code}:\n{out}"
    outputs: dict[str, Any] = {name: out for name, _, out in results}
    assert "COMPLETE_OK" in outputs["quickstart"]
    assert "'status': 'COMPLETE_OK'" in outputs["aiohttp_app"]
    assert "'status': 'COMPLETE_OK'" in outputs["fastapi_app"]
    assert "job-3 rejected" in outputs["worker"]
    assert "'COMPLETE_OK': 9" in outputs["fan_out"]
    # The console exporters print the spans and metrics of the check, and no label.
    assert outputs["observability"].startswith("COMPLETE_OK\n")
    for name in (
        "helios.wellness_check",
        "POST /v1/models/mental-wellness",
        "helios.check.duration",
    ):
        assert f'"name": "{name}"' in outputs["observability"], name
    assert "user-42" not in outputs["observability"]


# --- the docs' own snippets -----------------------------------------------------------------

DOCS = EXAMPLES.parent / "docs"
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```$", re.S | re.M)


def test_every_python_snippet_in_the_docs_compiles_and_imports_what_exists() -> None:
    """Snippets too short to run still must parse (top-level ``await`` allowed), include only
    files that exist, and import only names the package has."""
    checked = 0
    for page in sorted(DOCS.rglob("*.md")):
        for match in FENCE.finditer(page.read_text()):
            code = textwrap.dedent(match.group(2))
            where = f"{page.relative_to(DOCS)} at offset {match.start()}"
            if code.startswith("--8<--"):
                included = EXAMPLES.parent / code.split('"')[1]
                assert included.is_file(), where
                continue
            tree = compile(code, where, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "helios_async"
                ):
                    module = importlib.import_module(node.module or "")
                    for alias in node.names:
                        assert hasattr(module, alias.name), f"{where}: {alias.name}"
            checked += 1
    assert checked >= 15


def _requirement_names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()
        for requirement in requirements
    }


def test_every_example_says_what_it_needs_beyond_the_package_and_the_extra_declares_it() -> None:
    """An example importing a package that is not a dependency says so in its docstring, on
    one line: ``Needs ...: pip install 'helios-async[EXTRA]' [other packages]``; the extra (or
    a package named there) brings every package it imports (for a namespace package such as
    ``opentelemetry``, one of its distributions)."""
    import tomllib

    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    core = _requirement_names(project["dependencies"]) | {"helios-async"}
    owners = importlib.metadata.packages_distributions()

    def extra_requirements(name: str) -> set[str]:
        names = _requirement_names(extras[name])
        for requirement in extras[name]:
            if requirement.startswith("helios-async["):
                for nested in requirement.partition("[")[2].partition("]")[0].split(","):
                    names |= extra_requirements(nested)
        return names - {"helios-async"}

    for path in sorted(EXAMPLES.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = {
            (node.module if isinstance(node, ast.ImportFrom) else alias.name).partition(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            and not (isinstance(node, ast.ImportFrom) and (node.level or not node.module))
            for alias in node.names
        }
        needed = {
            module: {name.lower() for name in owners[module]}
            for module in modules - set(sys.stdlib_module_names)
            if module in owners and not {name.lower() for name in owners[module]} & core
        }
        if not needed:
            continue
        docstring = ast.get_docstring(tree) or ""
        found = re.search(r"pip install 'helios-async\[(\w+)\]'([^`\n]*)", docstring)
        assert found, f"{path.name} imports {sorted(needed)} but does not say what it needs"
        declared = extra_requirements(found.group(1)) | _requirement_names(found.group(2).split())
        brought = set(declared)
        for name in declared:
            brought |= _requirement_names(importlib.metadata.requires(name) or [])
        missing = sorted(module for module, dists in needed.items() if not dists & brought)
        assert not missing, (path.name, missing)
