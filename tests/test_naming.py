"""``_naming.adopt``: public classes report their public module, with their string
annotations resolved first where they were written (and among the public names)."""

from __future__ import annotations

import sys
import types
import typing

import attrs
import pytest

from helios_async import _naming

SOURCE = """
from __future__ import annotations
import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict
import attrs

@attrs.frozen(kw_only=True)
class Model:
    when: dt.datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict)
    other: Elsewhere | None = None  # not in this module: a public name
    nothing: None = None

class Plain:
    kind: ClassVar[str] = "plain"
    count: int

class Fields(TypedDict, total=False):
    when: dt.datetime | None
"""


class Elsewhere:
    """A public name of the fake package, not imported by the module that uses it."""


@pytest.fixture
def module() -> typing.Iterator[types.ModuleType]:
    name = "fakepkg._impl"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(SOURCE, vars(module))
    try:
        yield module
    finally:
        del sys.modules[name]


def public(name: str) -> object:
    if name == "Elsewhere":
        return Elsewhere
    raise KeyError(name)


def test_adopted_classes_report_the_public_module_and_keep_their_hints(module):
    names = ("Model", "Plain", "Fields")
    namespace = {name: getattr(module, name) for name in names}
    expected = {
        name: typing.get_type_hints(
            namespace[name], vars(module), {"Elsewhere": Elsewhere}, include_extras=True
        )
        for name in names
    }
    _naming.adopt("fakepkg", namespace, names, public=public)
    for name in names:
        cls = namespace[name]
        assert cls.__module__ == "fakepkg"
        assert _naming.DEFINED_IN[cls] == "fakepkg._impl"
        assert typing.get_type_hints(cls, include_extras=True) == expected[name]
    assert {a.name: a.type for a in attrs.fields(namespace["Model"])} == expected["Model"]
    assert expected["Model"]["nothing"] is type(None)


def test_a_hint_that_names_nothing_known_is_left_as_written(module):
    """A name imported only for type checking and not public: the class is still adopted."""
    cls = module.Plain
    cls.__annotations__ = {"count": "Unknowable"}
    _naming.adopt("fakepkg", {"Plain": cls}, ["Plain"], public=public)
    assert cls.__module__ == "fakepkg"
    assert cls.__annotations__ == {"count": "Unknowable"}
