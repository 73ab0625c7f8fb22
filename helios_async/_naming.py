"""Public classes report their public namespace as their ``__module__``.

``helios_async.InvalidInputError`` is defined in ``helios_async._errors``; without this its
tracebacks, reprs and pickles would name the private module. Each public namespace calls
:func:`adopt` on its own ``__all__`` once, at import.

Renaming a class's module changes where ``typing.get_type_hints`` looks up its string
annotations (``from __future__ import annotations``), so they are resolved first, in the
module that wrote them: attrs classes get their field types resolved, and every class's own
``__annotations__`` become the objects they name. Pickling finds each class by its public
name; cattrs and attrs work from the resolved types.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable, Mapping

import attrs

__all__ = ["DEFINED_IN", "adopt"]

DEFINED_IN: dict[type, str] = {}
"""Each adopted class, and the private module that defines it (for the package's tests)."""


def adopt(module: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__`` to ``module`` on each class among ``names`` that a private module
    beneath it (``module._x``) defines."""
    for name in names:
        cls = namespace[name]
        if not isinstance(cls, type) or not cls.__module__.startswith(f"{module}._"):
            continue
        try:
            if attrs.has(cls):
                attrs.resolve_types(cls)
            own = inspect.get_annotations(cls)
            if own:
                hints = typing.get_type_hints(cls, include_extras=True)
                cls.__annotations__ = {key: hints[key] for key in own if key in hints}
        except NameError:  # a name only imported for type checking: left as it was
            pass
        DEFINED_IN[cls] = cls.__module__
        cls.__module__ = module
