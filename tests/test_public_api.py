"""The public surface: ``helios_async.__all__`` is complete, sorted and private-free."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import pkgutil
import re
import subprocess
import sys
import traceback
import typing
from pathlib import Path
from types import ModuleType

import attrs
import pytest

import helios_async
from helios_async import HeliosClient, HeliosError
from helios_async._naming import DEFINED_IN

PACKAGE = "helios_async"


def private_modules() -> list[ModuleType]:
    """Every ``helios_async/_*.py`` module (the implementation; users import the package)."""
    return [
        importlib.import_module(f"{PACKAGE}.{info.name}")
        for info in pkgutil.iter_modules(helios_async.__path__)
        if info.name.startswith("_") and not info.name.startswith("__") and not info.ispkg
    ]


def defined_in(module: ModuleType) -> dict[str, object]:
    """Public classes and functions defined (not imported) in ``module``."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and DEFINED_IN.get(obj, obj.__module__) == module.__name__
    }


def package_types_in(hint: object) -> set[type]:
    """Every helios_async class mentioned anywhere inside a type hint."""
    found: set[type] = set()
    if inspect.isclass(hint) and hint.__module__.startswith(PACKAGE):
        found.add(hint)
    for arg in typing.get_args(hint):
        if isinstance(arg, list):  # Callable[[A, B], R]
            for item in arg:
                found |= package_types_in(item)
        else:
            found |= package_types_in(arg)
    return found


def types_users_meet() -> set[type]:
    """The package's classes a user of HeliosClient passes in, gets back or reads: closure over
    the public methods' signatures and the fields of the models they reach."""
    pending: set[type] = set()
    for name, member in inspect.getmembers(HeliosClient, inspect.isfunction):
        if name.startswith("_") and name != "__init__":
            continue
        for hint in typing.get_type_hints(member).values():
            pending |= package_types_in(hint)
    seen: set[type] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if attrs.has(cls):
            hints = typing.get_type_hints(cls)
            for field in attrs.fields(cls):
                if not field.name.startswith("_"):  # a private field is no user's to read
                    pending |= package_types_in(hints[field.name]) - seen
    return seen


EXPORTED = helios_async.__all__


def test_all_is_sorted_and_has_no_duplicates():
    assert list(EXPORTED) == sorted(EXPORTED)
    assert len(set(EXPORTED)) == len(EXPORTED)


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_name_exists_and_is_importable(name):
    namespace: dict[str, object] = {}
    exec(f"from helios_async import {name}", namespace)
    assert namespace[name] is getattr(helios_async, name)


def type_checking_imports() -> dict[str, tuple[str, ...]]:
    """What ``helios_async/__init__.py`` imports under ``if TYPE_CHECKING:``, by module."""
    tree = ast.parse(Path(helios_async.__file__).read_text(encoding="utf-8"))
    [block] = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    found: dict[str, tuple[str, ...]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        assert all(alias.asname is None for alias in node.names)
        found[node.module] = tuple(alias.name for alias in node.names)
    return found


def test_the_type_checkers_view_the_lazy_homes_and_all_agree():
    """Type checkers and the docs read the ``TYPE_CHECKING`` imports, the run time reads
    ``_HOMES``: each names the same module for the same names, which are ``__all__``."""
    homes = helios_async._HOMES
    assert type_checking_imports() == homes
    assert sorted([name for names in homes.values() for name in names] + ["__version__"]) == (
        list(EXPORTED)
    )


def test_dir_lists_every_public_name_before_any_is_read():
    assert set(EXPORTED) <= set(dir(helios_async))


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        helios_async.NoSuchThing  # noqa: B018
    with pytest.raises(ImportError):
        exec("from helios_async import NoSuchThing", {})


FIRST_READ = """
import pickle, sys, typing
import helios_async
from helios_async import {first}
for name in {names!r}:
    obj = getattr(helios_async, name)
    if isinstance(obj, type):
        assert obj.__module__ == "helios_async", (name, obj.__module__)
        typing.get_type_hints(obj)
        for member in vars(obj).values():
            if callable(member) and getattr(member, "__annotations__", None):
                typing.get_type_hints(member)
        assert pickle.loads(pickle.dumps(obj)) is obj
    elif callable(obj) and getattr(obj, "__annotations__", None):
        typing.get_type_hints(obj)  # a public function's hints resolve too
print("ok")
"""


@pytest.mark.parametrize("home", sorted(helios_async._HOMES))
def test_a_name_read_first_in_a_fresh_interpreter_is_whole(home):
    """Whichever public name a program reads first, its module's classes report the
    package, pickle by their public name, and their type hints and their methods' resolve,
    even the hints their module imports only for type checking."""
    names = helios_async._HOMES[home]
    code = FIRST_READ.format(first=names[0], names=names)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from helios_async import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(EXPORTED)


def test_no_private_name_leaks_into_all():
    leaked = [
        name
        for name in EXPORTED
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    ]
    assert leaked == []
    assert all(not inspect.ismodule(getattr(helios_async, name)) for name in EXPORTED)


# Type aliases used in public signatures: exported so users can annotate with them.
ALIASES = {"RecordingSource", "Sleep", "TagsInput"}


@pytest.mark.parametrize("name", [n for n in EXPORTED if not n.startswith("__")])
def test_every_export_is_the_package_s_own_and_documented(name):
    obj = getattr(helios_async, name)
    if name in ALIASES:
        definition = re.compile(rf"^{name} = ", re.M)
        [home] = [m for m in private_modules() if definition.search(inspect.getsource(m))]
        assert vars(home)[name] is obj
        assert typing.get_args(obj), f"{name} is not a type alias"
        documented = rf'^{name} = [^\n]+\n"""\S'
        assert re.search(documented, inspect.getsource(home), re.M), f"{name} has no docstring"
        return
    assert DEFINED_IN.get(obj, obj.__module__).startswith(f"{PACKAGE}._")
    assert inspect.getdoc(obj), f"{name} has no docstring"


@pytest.mark.parametrize(
    "name", [n for n in EXPORTED if inspect.isclass(getattr(helios_async, n, None))]
)
def test_every_public_class_reports_the_package_as_its_module(name):
    """Tracebacks and reprs say ``helios_async.InvalidInputError``, not the private module
    it is written in; pickle finds the class by that name, and its type hints still resolve."""
    cls = getattr(helios_async, name)
    assert cls.__module__ == PACKAGE
    assert f"{cls.__module__}.{cls.__qualname__}" == f"{PACKAGE}.{name}"
    typing.get_type_hints(cls)  # string annotations resolved where they were written
    assert pickle.loads(pickle.dumps(cls)) is cls


def test_a_traceback_names_the_public_module():
    try:
        raise helios_async.InvalidInputError("language", "must be ll-CC")
    except helios_async.InvalidInputError as exc:
        line = traceback.format_exception_only(exc)[-1]
    assert line == "helios_async.InvalidInputError: language: must be ll-CC\n"


def test_testing_classes_report_the_testing_namespace():
    import helios_async.testing as testing

    assert testing.Sandbox.__module__ == "helios_async.testing"
    assert testing.FaultPlan.__module__ == "helios_async.testing"


def test_the_aliases_public_signatures_use_are_exported():
    """``recording`` and ``tags`` parameters name their accepted shapes by exported aliases."""
    hints = typing.get_type_hints(HeliosClient.run_wellness_check)
    assert hints["recording"] == helios_async.RecordingSource
    assert typing.get_type_hints(HeliosClient.create_model_run)["tags"] == helios_async.TagsInput


def test_the_client_s_policies_are_read_only():
    """``timeouts``, ``retry``, ``poll`` and ``hooks`` change only through ``with_options``."""
    client = HeliosClient("k", base_url="https://h")
    for name in ("timeouts", "retry", "poll", "hooks"):
        with pytest.raises(AttributeError):
            setattr(client, name, None)


def test_every_error_class_is_exported():
    """Users catch these; each one in the error tree must be importable from the package."""
    errors = [
        name
        for module in private_modules()
        for name, obj in defined_in(module).items()
        if inspect.isclass(obj) and issubclass(obj, HeliosError)
    ]
    assert len(errors) >= 15
    assert sorted(set(errors) - set(EXPORTED)) == []


@pytest.mark.parametrize("module", ["_models", "_retry", "_polling"])
def test_the_public_names_of_the_model_and_policy_modules_are_exported(module):
    names = importlib.import_module(f"{PACKAGE}.{module}").__all__
    assert sorted(set(names) - set(EXPORTED)) == []


def test_every_type_in_the_client_s_signatures_and_models_is_exported():
    """What a user passes to HeliosClient, gets back, or finds in a model's fields must be
    importable from ``helios_async`` (not only from a private module)."""
    met = types_users_meet()
    assert {"ModelRun", "Section", "User", "Timeouts", "RetryPolicy"} <= {c.__name__ for c in met}
    missing = sorted(cls.__name__ for cls in met if cls.__name__ not in EXPORTED)
    assert missing == []
    for cls in met:
        assert getattr(helios_async, cls.__name__) is cls


def test_the_version_is_a_pep_440_string():
    assert isinstance(helios_async.__version__, str)
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?((a|b|rc)\d+)?(\.dev\d+)?", helios_async.__version__)
