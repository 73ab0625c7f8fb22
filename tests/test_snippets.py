"""Every Python snippet of README.md and docs/ runs here as written, against a sandbox.

Sybil finds the snippets (each fenced ``python`` block, plus the ``<!-- invisible-code-block:
python -->`` comments a page uses to set up what its prose takes as given). The snippets of
one page run in order in one namespace, the way a reader would paste them one after another
into ``python -m asyncio``: top-level ``await`` and ``async with`` work, and a complete
program (``asyncio.run(main())``) runs as it is.

While they run, ``THYMIA_BASE_URL`` and ``THYMIA_API_KEY`` point at a sandbox (served from
a thread of its own, so a snippet's own ``asyncio.run`` reaches it), ``THYMIA_REGION`` is
unset, and the working directory holds ``recording.wav`` and ``recordings/*.wav`` (copies of
the bundled ``sample_recording()``). A fragment may take these names as given:

* ``client``: an open :class:`~helios_async.HeliosClient` bound to the sandbox, with the
  pytest plugin's fast polling (given again before each snippet, so a snippet that closes
  its own ``client`` does not break the next one);
* ``user``: a :class:`~helios_async.User`;
* ``path`` and ``paths``: recordings in the working directory.

A snippet that defines ``async def test_...`` functions is a pytest example: each such
function is called, its parameters filled from the plugin's fixture names
(``helios_client``, ``helios_sandbox``, ``helios_env``, ``helios_sample_recording``).

A block consisting only of ``--8<-- "examples/..."`` includes a whole example into the page
when the site is built; here the file must exist and compile, and ``tests/test_examples.py``
runs it. A snippet that cannot run here is marked in its page with ``<!-- skip: next "why"
-->`` and is reported as skipped with that reason; none is left out silently.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import datetime as dt
import inspect
import re
import shutil
import subprocess
import sys
import threading
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from helios_async import HeliosClient, User
from helios_async.testing import FAST_POLL, FAST_RETRY, Sandbox, sample_recording

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
INCLUDE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$')
TEST_FIXTURES = ("helios_client", "helios_sandbox", "helios_env", "helios_sample_recording")


class SandboxThread:
    """A sandbox served by an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sandbox = Sandbox()
        self._call(self.sandbox.start())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self._call(self.sandbox.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()


class Page:
    """One page's snippets, their namespace and the event loop their ``await``s run in."""

    def __init__(self, path: Path, server: SandboxThread, workdir: Path) -> None:
        self.path = path
        self.server = server
        self.workdir = workdir
        self.runner = asyncio.Runner()
        self.client = HeliosClient(
            server.sandbox.api_key,
            base_url=server.sandbox.base_url,
            poll=FAST_POLL,
            retry=FAST_RETRY,
        )
        self.runner.run(self.client.__aenter__())
        self.document: Document = SYBIL.parse(path)
        self.examples: list[Example] = list(self.document.examples())
        self.done = 0
        self.document.namespace.update(
            __name__="__main__",  # as in a script or the REPL
            __page__=self,
            user=User(
                user_label="docs-reader",
                date_of_birth=dt.date(1990, 8, 24),
                birth_sex="FEMALE",
            ),
            path=workdir / "recording.wav",
            paths=sorted((workdir / "recordings").glob("*.wav")),
        )

    def run_through(self, index: int) -> None:
        """Run the page's snippets up to ``index`` (earlier ones first, once each)."""
        while self.done <= index:
            example = self.examples[self.done]
            self.done += 1
            self.document.namespace["client"] = self.client
            if self.done <= index:
                with contextlib.suppress(unittest.SkipTest):  # reported by its own test
                    example.evaluate()
            else:
                example.evaluate()

    def close(self) -> None:
        self.runner.run(self.client.__aexit__(None, None, None))
        self.runner.close()


def evaluate(example: Example) -> None:
    """Run one snippet: an include is checked, anything else executed (``await`` allowed)."""
    source = str(example.parsed)
    lines = [line for line in source.splitlines() if line.strip()]
    if lines and all(INCLUDE.match(line) for line in lines):
        for line in lines:
            match = INCLUDE.match(line)
            assert match is not None
            included = ROOT / match.group(1)
            compile(included.read_text(encoding="utf-8"), str(included), "exec")
        return
    namespace = example.namespace
    page: Page = namespace["__page__"]
    before = set(namespace)
    padded = "\n" * (example.line + example.parsed.line_offset) + source
    code = compile(
        padded, str(example.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(code, namespace)  # a coroutine when the snippet awaits at top level
    if inspect.iscoroutine(result):
        page.runner.run(result)
    namespace.pop("__builtins__", None)
    for name in sorted(set(namespace) - before):
        if name.startswith("test_") and inspect.iscoroutinefunction(namespace[name]):
            page.runner.run(_call_test(namespace[name], page))


async def _call_test(function: Any, page: Page) -> None:
    fixtures = {
        "helios_client": page.client,
        "helios_sandbox": page.server.sandbox,
        "helios_env": page.server.sandbox,
        "helios_sample_recording": page.workdir / "recording.wav",
    }
    parameters = inspect.signature(function).parameters
    unknown = [name for name in parameters if name not in fixtures]
    assert not unknown, f"{function.__name__} asks for fixtures the harness lacks: {unknown}"
    await function(**{name: fixtures[name] for name in parameters})


SYBIL = Sybil(
    parsers=[CodeBlockParser(language="python", evaluator=evaluate), SkipParser()],
    pattern="*.md",
)


def _snippets() -> list[Any]:
    return [
        pytest.param(page, index, id=f"{page.relative_to(ROOT)}:{example.line}")
        for page in PAGES
        for index, example in enumerate(SYBIL.parse(page).examples())
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxThread]:
    running = SandboxThread()
    yield running
    running.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``recording.wav`` and ``recordings/*.wav``: copies of the bundled sample."""
    folder = tmp_path_factory.mktemp("snippets")
    (folder / "recordings").mkdir()
    shutil.copyfile(sample_recording(), folder / "recording.wav")
    for name in ("monday.wav", "tuesday.wav"):
        shutil.copyfile(sample_recording(), folder / "recordings" / name)
    return folder


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[Path, Page]]:
    opened: dict[Path, Page] = {}
    yield opened
    for page in opened.values():
        page.close()


@pytest.mark.parametrize(("page_path", "index"), _snippets())
def test_snippet_runs_as_written(
    page_path: Path,
    index: int,
    pages: dict[Path, Page],
    server: SandboxThread,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The snippet at this line of this page runs as written (after the page's earlier ones)."""
    monkeypatch.setenv("THYMIA_BASE_URL", server.sandbox.base_url)
    monkeypatch.setenv("THYMIA_API_KEY", server.sandbox.api_key)
    monkeypatch.delenv("THYMIA_REGION", raising=False)
    monkeypatch.chdir(workdir)
    if page_path not in pages:
        pages[page_path] = Page(page_path, server, workdir)
    pages[page_path].run_through(index)


def test_the_readme_programs_pass_mypy_strict(tmp_path: Path) -> None:
    """What the README shows type-checks as a user's ``mypy --strict`` would see it."""
    programs = [str(example.parsed) for example in SYBIL.parse(ROOT / "README.md").examples()]
    assert len(programs) >= 3
    for number, program in enumerate(programs, 1):
        (tmp_path / f"readme_snippet_{number}.py").write_text(program, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
