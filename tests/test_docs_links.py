"""Users have the docs site, not the project's research notes: the package, its examples, the
docs and the README cite no ``helios-api.md``, none of its sections (``§2.3``) and none of its
decisions (``D13``), and every link into the page "The Helios API" (``docs/helios.md``) names a
heading that exists there, whether written as the site's URL (in docstrings, readable in
``help()``) or as ``docs/helios.md#anchor`` (in comments). ``mkdocs build --strict`` checks the
same links where the docs render them; this test also covers comments and the README."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import sys
from pathlib import Path

import attrs
import pytest

import helios_async
import helios_async.fleet
import helios_async.testing
from helios_async._naming import DEFINED_IN

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "helios.md"
CITATION = re.compile(r"helios-api\.md|§\s*\d|\bD(?:1[0-6]|[1-9])\b")
SOURCES = sorted(
    [
        *(ROOT / "helios_async").rglob("*.py"),
        ROOT / "helios_async_pytest.py",
        *(ROOT / "examples").glob("*.py"),
        *(ROOT / "docs").rglob("*.md"),
        ROOT / "README.md",
    ]
)


def _site_url() -> str:
    found = re.search(
        r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M
    )
    assert found is not None, "mkdocs.yml sets no site_url"
    return found.group(1).rstrip("/") + "/"


def _anchors() -> set[str]:
    return set(re.findall(r"\{#([\w-]+)\}", PAGE.read_text(encoding="utf-8")))


def _links(text: str) -> list[str]:
    site = re.escape(_site_url() + "helios/#")
    return re.findall(rf"(?:{site}|docs/helios\.md#)([\w-]+)", text)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_citation_of_the_research_notes(path: Path) -> None:
    """No ``helios-api.md``, ``§x.y`` or ``Dn`` is left for a user to meet."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CITATION.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_into_the_helios_api_page_names_one_of_its_headings(path: Path) -> None:
    unknown = sorted(set(_links(path.read_text(encoding="utf-8"))) - _anchors())
    assert not unknown, f"{path.relative_to(ROOT)} links to missing anchors: {unknown}"


def test_the_code_links_to_the_helios_api_page() -> None:
    """The check above would pass on nothing: the package does link to the page, a lot."""
    package = [*(ROOT / "helios_async").rglob("*.py")]
    assert sum(len(_links(p.read_text(encoding="utf-8"))) for p in package) >= 30
    assert len(_anchors()) >= 30


def test_every_public_name_has_a_place_in_the_reference() -> None:
    """Each name of ``helios_async.__all__``, ``helios_async.testing.__all__`` and
    ``helios_async.fleet.__all__`` is rendered by
    a ``::: name`` directive of ``docs/reference/``, so the reference misses nothing public."""
    reference = "\n".join(
        page.read_text(encoding="utf-8") for page in (ROOT / "docs" / "reference").glob("*.md")
    )
    rendered = set(re.findall(r"^::: (\S+)", reference, re.MULTILINE))
    public = [
        f"{module.__name__}.{name}"
        for module in (helios_async, helios_async.testing, helios_async.fleet)
        for name in module.__all__
        if not name.startswith("__")
    ]
    assert sorted(set(public) - rendered) == []


def _documented_fields(cls: type) -> set[str]:
    """The fields of ``cls`` followed by a docstring in its source (read from the private
    module that defines it: public classes report the public namespace as their module)."""
    module = sys.modules[DEFINED_IN.get(cls, cls.__module__)]
    tree = ast.parse(inspect.getsource(module))
    [node] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    body = node.body
    return {
        statement.target.id
        for statement, following in itertools.pairwise(body)
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    }


def test_every_field_of_a_public_attrs_class_has_a_docstring() -> None:
    """The reference lists each field with its type, default and the docstring under it."""
    undocumented = [
        f"{name}.{field.name}"
        for module in (helios_async, helios_async.testing, helios_async.fleet)
        for name in module.__all__
        if isinstance(cls := getattr(module, name), type) and attrs.has(cls)
        for field in attrs.fields(cls)
        if field.name not in _documented_fields(cls)
    ]
    assert undocumented == []
