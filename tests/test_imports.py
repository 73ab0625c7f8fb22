"""What ``import helios_async`` costs: the client alone, never the command line's ``rich``,
the sandbox (``helios_async.testing``) or the server half of aiohttp (``aiohttp.web``).
Each import runs in a fresh interpreter, so what other tests imported does not count."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def loaded_after(statement: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(result.stdout))


def under(modules: set[str], package: str) -> set[str]:
    return {m for m in modules if m == package or m.startswith(f"{package}.")}


def test_importing_the_library_loads_no_rich_no_sandbox_no_cli_no_aiohttp_web() -> None:
    """Nor the fleet's ``redis`` and ``docket``, nor ``RedisJournal``, nor OpenTelemetry
    (imported on a client's first use of it): not even once every public name has
    been read (``from helios_async import *`` imports each one's module)."""
    modules = loaded_after("from helios_async import *")
    assert "helios_async._client" in modules  # the import really ran
    for heavy in (
        "rich",
        "aiohttp.web",
        "helios_async.testing",
        "helios_async.cli",
        "helios_async.fleet",
        "helios_async._journal_redis",
        "redis",
        "docket",
        "opentelemetry",
    ):
        assert not under(modules, heavy), heavy


def test_a_public_name_s_module_is_imported_when_the_name_is_first_read() -> None:
    """``import helios_async`` alone imports none of the client; ``helios_async.HeliosClient``
    imports the client and what it needs, but not the run journal, the journaled check, nor
    the truncation check a recording's first duration check imports."""
    bare = under(loaded_after("import helios_async"), "helios_async")
    assert bare == {"helios_async", "helios_async._logs", "helios_async._version"}
    client = under(loaded_after("import helios_async\nhelios_async.HeliosClient"), "helios_async")
    assert {"helios_async._client", "helios_async._models", "helios_async._errors"} <= client
    lazy = {"helios_async._journal_file", "helios_async._journal_check", "helios_async._truncation"}
    assert not lazy & client


def test_the_first_use_leaves_what_only_a_retry_a_wait_or_a_failure_needs_unimported() -> None:
    """``from helios_async import HeliosClient`` imports no tenacity (a request's first retry
    imports it, with the retry controller ``_retrying``, or a poll policy's first wait), and
    no ``html`` (the first HTML error page does)."""
    modules = loaded_after("from helios_async import HeliosClient")
    assert "helios_async._client" in modules  # the import really ran
    assert not under(modules, "tenacity")
    assert "helios_async._retrying" not in modules
    assert "html" not in modules


def test_redis_journal_is_public_in_the_fleet_package() -> None:
    """``from helios_async.fleet import RedisJournal``: the store the fleet's workers use."""
    from helios_async._journal_redis import RedisJournal
    from helios_async.fleet import RedisJournal as public

    assert public is RedisJournal


def test_the_command_line_loads_rich_only_for_batch() -> None:
    """``demo``, ``check``, ``get`` and ``account`` work without the ``cli`` extra. (The
    package itself loads nothing: ``main`` imports the program, ``_commands``, as it runs.)"""
    package = under(loaded_after("import helios_async.cli"), "helios_async")
    assert not {name for name in package if name.startswith("helios_async.cli._")}
    command_line = loaded_after("import helios_async.cli._commands")
    assert "helios_async.cli._parser" in command_line
    assert not under(command_line, "rich")
    assert not under(command_line, "helios_async.testing")
    assert under(loaded_after("import helios_async.cli._batch"), "rich")


# The internals the README ("Architecture", "On top") says each package reuses; anything else
# of the library it must reach through ``helios_async``'s public names.
REUSED_INTERNALS = {
    "cli": {"_logs", "_models", "_redaction"},  # logging set-up, score names, redaction
    # the audio parsers; public names' home; redaction (RecordedRequest's repr)
    "testing": {"_audio", "_truncation", "_naming", "_redaction"},
}


def private_imports(package: str) -> set[str]:
    """The library's private modules (``_audio``) imported in ``helios_async/<package>``."""
    found: set[str] = set()
    for path in (ROOT / "helios_async" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "helios_async" and len(parts) > 1 and parts[1].startswith("_"):
                    found.add(parts[1])
                elif node.module == "helios_async":
                    found |= {a.name for a in node.names if a.name[:1] == "_" != a.name[1:2]}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "helios_async" and len(parts) > 1 and parts[1].startswith("_"):
                        found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(REUSED_INTERNALS))
def test_the_cli_and_testing_use_no_internals_but_the_ones_the_readme_names(package: str) -> None:
    """``MockTransport`` imports ``ApiRequest`` from ``helios_async``, not ``_protocol``."""
    found = private_imports(package)
    assert found, "the scan found nothing: it no longer reads the package's imports"
    assert sorted(found - REUSED_INTERNALS[package]) == []
