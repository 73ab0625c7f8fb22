"""Equality, hashing and the repr of the models (and of the recordings and the retry and
telemetry options), written once for all of them.

attrs would generate the three for each class, compiling their source on every import (about
0.1 ms a class); :class:`ModelMethods` reads a class's attrs fields instead (once per class),
with the same results. Two instances are equal when their class is the same and each of their
compared fields (``eq=True``) is, by ``==`` (so a NaN field is never equal, not even to
itself); the hash is that of the class and the same fields; the repr is
``Name(field=value, ...)``, each value through its field's own ``repr`` (``hidden``) or
``repr()``, the fields with ``repr=False`` left out. Such a class gives attrs ``eq=False,
repr=False`` and inherits these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["ModelMethods"]


class _Plan:
    """What the three methods read of one class's fields."""

    __slots__ = ("compared", "hashed", "shown")

    def __init__(self, cls: type) -> None:
        fields = attrs.fields(cls)
        self.compared = tuple(a.name for a in fields if a.eq)
        self.hashed = tuple(a.name for a in fields if (a.eq if a.hash is None else a.hash))
        self.shown: tuple[tuple[str, Callable[[Any], str]], ...] = tuple(
            (a.name, repr if a.repr is True else a.repr) for a in fields if a.repr is not False
        )


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


class ModelMethods:
    """``__eq__``, ``__hash__`` and ``__repr__`` for an attrs class made with ``eq=False,
    repr=False`` (a mixin of no state)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        for name in _plan(type(self)).compared:
            if not getattr(self, name) == getattr(other, name):
                return False
        return True

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, name) for name in _plan(type(self)).hashed)))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={show(getattr(self, name))}" for name, show in _plan(type(self)).shown
        )
        return f"{type(self).__qualname__.rsplit('>.', 1)[-1]}({shown})"
