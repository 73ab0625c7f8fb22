"""Public classes report their public namespace as their ``__module__``.

``helios_async.InvalidInputError`` is defined in ``helios_async._errors``; without this its
tracebacks, reprs and pickles would name the private module. Each public namespace calls
:func:`adopt` on its names once their module has loaded (``helios_async`` imports a name's
module when the name is first read).

Renaming a class's module changes where ``typing.get_type_hints`` looks up its string
annotations (``from __future__ import annotations``), so they are resolved first, in the
module that wrote them: attrs classes get their field types resolved, and every class's own
``__annotations__`` become the objects they name. A name that module imports only for type
checking is looked up among the public names (``public``), which imports its module. Pickling
finds each class by its public name; cattrs and attrs work from the resolved types.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from types import CodeType
from typing import Any

import attrs

__all__ = ["DEFINED_IN", "adopt"]

DEFINED_IN: dict[type, str] = {}
"""Each adopted class, and the private module that defines it (for the package's tests)."""


class _Names(dict[str, object]):
    """A defining module's names, then the public ones (``public``) for what it lacks."""

    def __init__(self, own: Mapping[str, object], public: Callable[[str], object]) -> None:
        super().__init__(own)
        self._public = public

    def __missing__(self, name: str) -> object:
        return self._public(name)  # KeyError if not public: eval goes on to the builtins


def adopt(
    module: str,
    namespace: Mapping[str, object],
    names: Iterable[str],
    *,
    public: Callable[[str], object] | None = None,
) -> None:
    """Set ``__module__`` to ``module`` on each class among ``names`` that a private module
    beneath it (``module._x``) defines; ``public(name)`` returns a public name's object, or
    raises ``KeyError``."""
    scopes: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for name in names:
        cls = namespace[name]
        if not isinstance(cls, type) or not cls.__module__.startswith(f"{module}._"):
            continue
        scope = scopes.get(cls.__module__)
        if scope is None:
            home = vars(sys.modules[cls.__module__])
            scope = scopes[cls.__module__] = (
                home,
                None if public is None else _Names(home, public),
            )
        with contextlib.suppress(NameError):  # a name only imported for type checking
            _resolve(cls, *scope)  # and not public: left as it was
        DEFINED_IN[cls] = cls.__module__
        cls.__module__ = module


_CODE: dict[str, CodeType] = {}
"""Each annotation's text, compiled once: many fields share one (``str | None``)."""


def _resolve(cls: type, home: dict[str, Any], local: dict[str, Any] | None) -> None:
    """Replace ``cls``'s own string annotations by the objects they name, evaluated in
    ``home`` (its module's names) then ``local``; and so its attrs fields' types."""
    own = inspect.get_annotations(cls)
    if not own:
        if attrs.has(cls):
            attrs.resolve_types(cls, home, local)
        return
    if all(isinstance(value, str) for value in own.values()):
        hints = {}
        for key, text in own.items():
            code = _CODE.get(text)
            if code is None:
                code = _CODE[text] = compile(text, "<annotation>", "eval")
            value = eval(code, home, local)
            hints[key] = type(None) if value is None else value
        cls.__annotations__ = hints
    else:  # ForwardRef objects already (a TypedDict's): typing's full resolution
        hints = typing.get_type_hints(cls, home, local, include_extras=True)
        cls.__annotations__ = {key: hints[key] for key in own if key in hints}
    if attrs.has(cls):
        attrs.resolve_types(cls, home, local)
