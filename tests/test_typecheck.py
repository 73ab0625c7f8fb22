"""The public API type-checks as users meet it: ``tests/typecheck_public_api.py``, the
examples and the pytest plugin pass ``mypy --strict`` (and pyright strict where installed),
and the misuses that file marks are really refused."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_API = ROOT / "tests" / "typecheck_public_api.py"
CHECKED = [
    PUBLIC_API,
    ROOT / "examples",
    ROOT / "helios_async_pytest.py",
]
IGNORE = re.compile(r"\s*# type: ignore\[[a-z-]+\]$")


def mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_mypy_strict_accepts_the_public_api_as_users_write_it() -> None:
    result = mypy(*CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_each_misuse_marked_in_the_public_api_file_is_refused(tmp_path: Path) -> None:
    """Without its ``# type: ignore``, each marked line is an error, and no other is."""
    lines = PUBLIC_API.read_text().splitlines()
    marked = {n for n, line in enumerate(lines, 1) if IGNORE.search(line)}
    assert len(marked) >= 4
    stripped = tmp_path / "typecheck_stripped.py"
    stripped.write_text("\n".join(IGNORE.sub("", line) for line in lines) + "\n")
    result = mypy(stripped)
    failing = {
        int(match.group(1))
        for match in re.finditer(r"typecheck_stripped\.py:(\d+): error", result.stdout)
    }
    assert failing == marked, result.stdout


def _pyright() -> str:
    for name in ("basedpyright", "pyright"):
        found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
        if found:
            return found
    pytest.skip("neither basedpyright nor pyright is installed")


def _assert_pyright_passes(config: dict[str, object], tmp_path: Path) -> None:
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    result = subprocess.run(
        [_pyright(), "-p", str(tmp_path / "pyrightconfig.json"), "--pythonpath", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b0 errors\b", result.stdout), result.stdout


def test_pyright_strict_accepts_the_public_api_as_users_write_it(tmp_path: Path) -> None:
    config = {
        "include": [str(path) for path in CHECKED],
        "extraPaths": [str(ROOT)],
        "pythonVersion": "3.11",
        "pythonPlatform": "Linux",
        "typeCheckingMode": "strict",
        "enableTypeIgnoreComments": True,
        "reportUnnecessaryTypeIgnoreComment": "error",
    }
    _assert_pyright_passes(config, tmp_path)


def test_pyright_accepts_the_package_itself(tmp_path: Path) -> None:
    """Issue 6: the package is clean under pyright (standard mode) as well as mypy --strict."""
    config = {
        "include": [str(ROOT / "helios_async")],
        "pythonVersion": "3.11",
        "pythonPlatform": "Linux",
        "typeCheckingMode": "standard",
    }
    _assert_pyright_passes(config, tmp_path)
