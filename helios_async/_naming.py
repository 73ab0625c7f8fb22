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

import inspect
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
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
    for name in names:
        cls = namespace[name]
        if not isinstance(cls, type) or not cls.__module__.startswith(f"{module}._"):
            continue
        home: dict[str, Any] | None = None
        local: dict[str, Any] | None = None
        if public is not None:
            home = vars(sys.modules[cls.__module__])
            local = _Names(home, public)
        try:
            if attrs.has(cls):
                attrs.resolve_types(cls, home, local)
            own = inspect.get_annotations(cls)
            if own:
                hints = typing.get_type_hints(cls, home, local, include_extras=True)
                cls.__annotations__ = {key: hints[key] for key in own if key in hints}
        except NameError:  # a name only imported for type checking, and not public
            pass
        DEFINED_IN[cls] = cls.__module__
        cls.__module__ = module
