"""One-pass structuring: a generated function per attrs class that reads a decoded JSON
object straight into an instance; the converter's fast path (``_converter``).

The generated function, one per class, built on first use:

- reads each field by its wire name with one ``dict.get`` and treats a ``null`` exactly as a
  missing field: the field's default if it has one, else a ``KeyError``;
- hands a present value to the field's hook; for ``str``, ``bool``, ``float`` and the string
  enums the exact JSON type is tested inline first (``type(v) is str``) and anything else
  goes to the hook, which accepts or refuses it, so a rule lives in the hook alone; a field
  hook may carry its own common case as source (its ``inline`` attribute, ``"<value> if
  <test>"`` on ``{v}``), which its tests hold to the same answers as the hook;
- keeps the payload as received on a field named ``raw`` and the caller's request id on a
  field named ``request_id``;
- copies no dict, and builds the instance without ``__init__`` when ``__init__`` would only
  assign (no converter, validator, on-setattr hook or ``__attrs_post_init__``): the object
  is made with ``object.__new__`` and its attributes set in one step.

It raises whatever a hook raises (``KeyError``, ``TypeError``, ``ValueError``); the converter
then re-runs its detailed path on the payload for a message that names every problem.
"""

from __future__ import annotations

import enum
import linecache
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["LeafHook", "compile_structure", "optional_of"]

LeafHook = Callable[[Any, Any], Any]
"""A hook for one value: ``hook(value, type)`` returns the value structured as ``type`` or
raises (cattrs' signature)."""

_NOTHING = attrs.NOTHING


def optional_of(annotation: Any) -> Any:
    """``X`` for an annotation ``X | None``, else None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


def _item_type(annotation: Any) -> Any:
    """``X`` for ``tuple[X, ...]``, else None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _only_assigns(cls: type[Any]) -> bool:
    """Whether ``cls.__init__`` does nothing but store its arguments."""
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        return False
    return all(
        field.converter is None and field.validator is None and field.on_setattr is None
        for field in attrs.fields(cls)
    )


class _Builder:
    """The source of one structuring function and the names it refers to."""

    def __init__(self, leaf: Callable[[Any], LeafHook], nested: Callable[[Any], Any]) -> None:
        self.leaf = leaf
        self.nested = nested
        self.names: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"_n{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, kind: Any, var: str, hook: LeafHook | None = None) -> str:
        """Python source that structures ``var`` (known not to be None) as ``kind``."""
        if hook is not None:
            call = f"{self.bind(hook)}({var}, {self.bind(kind)})"
            inline = getattr(hook, "inline", None)  # the hook's own common case, as source
            return f"({inline.format(v=var)} else {call})" if inline else call
        if attrs.has(kind):
            return f"{self.bind(self.nested(kind))}({var})"
        item = _item_type(kind)
        if item is not None:
            array = f"{self.bind(_array)}({var})"
            if attrs.has(item):  # one call per item, without a comprehension's frame
                return f"tuple(map({self.bind(self.nested(item))}, {array}))"
            return f"tuple([{self.expression(item, 'x')} for x in {array}])"
        call = f"{self.bind(self.leaf(kind))}({var}, {self.bind(kind)})"
        if kind is str or kind is bool:
            return f"({var} if type({var}) is {self.bind(kind)} else {call})"
        if kind is float:  # v - v == 0.0 holds for finite floats only (not inf, not nan)
            return f"({var} if type({var}) is float and {var} - {var} == 0.0 else {call})"
        if isinstance(kind, type) and issubclass(kind, enum.Enum) and issubclass(kind, str):
            members = self.bind(kind._value2member_map_)
            return f"(type({var}) is str and {members}.get({var}) or {call})"
        return call


def _array(value: Any) -> Any:
    """A JSON array as is; anything else (a string above all) refused."""
    if type(value) is list or isinstance(value, tuple):
        return value
    raise TypeError(f"expected a JSON array, got {type(value).__name__}")


def compile_structure(
    cls: type[Any],
    *,
    wire_name: Callable[[str], str],
    leaf: Callable[[Any], LeafHook],
    nested: Callable[[Any], Any],
    field_hook: Callable[[type[Any], str], LeafHook | None] = lambda _cls, _name: None,
) -> Callable[..., Any]:
    """The one-pass structuring function for attrs class ``cls``:
    ``fn(payload, request_id=None)``.

    ``wire_name`` maps a field name to its JSON key; ``leaf(type)`` gives the hook for a value
    of a type that is neither an attrs class nor ``tuple[X, ...]`` (``str``, ``float``,
    enums, datetimes...); ``nested(cls)`` gives the structuring function of a nested attrs
    class; ``field_hook(cls, name)`` may give a field a hook of its own.
    """
    fields = attrs.fields(attrs.resolve_types(cls))
    build = _Builder(leaf, nested)
    lines = [
        "def structure(o, request_id=None):",
        f"    if type(o) is not dict and not isinstance(o, {build.bind(Mapping)}):",
        '        raise TypeError(f"expected a JSON object, got {type(o).__name__}")',
        "    get = o.get",
    ]
    values: list[tuple[str, str]] = []
    for index, field in enumerate(fields):
        var = f"f{index}"
        values.append((field.name, var))
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            fallback = f"{build.bind(default.factory)}()"
        elif default is _NOTHING:
            fallback = ""
        else:
            fallback = build.bind(default)
        if field.name == "raw":
            lines.append(f"    {var} = o")
            continue
        if field.name == "request_id":
            otherwise = fallback or "None"
            lines.append(f"    {var} = {otherwise} if request_id is None else request_id")
            continue
        kind = optional_of(field.type)
        kind = field.type if kind is None else kind
        key = wire_name(field.name)
        lines.append(f"    v = get({key!r})")
        value = build.expression(kind, "v", field_hook(cls, field.name))
        if fallback:
            lines.append(f"    {var} = {fallback} if v is None else {value}")
        else:
            lines.append(f"    if v is None: raise KeyError({key!r})")
            lines.append(f"    {var} = {value}")
    new = build.bind(object.__new__)
    setattr_ = build.bind(object.__setattr__)
    klass = build.bind(cls)
    if not _only_assigns(cls):
        arguments = ", ".join(f"{name}={var}" for name, var in values)
        lines.append(f"    return {klass}({arguments})")
    elif "__slots__" not in vars(cls):  # one dict for all the attributes
        items = ", ".join(f"{name!r}: {var}" for name, var in values)
        lines += [
            f"    i = {new}({klass})",
            f"    {setattr_}(i, '__dict__', {{{items}}})",
            "    return i",
        ]
    else:
        lines.append(f"    i = {new}({klass})")
        lines += [f"    {setattr_}(i, {name!r}, {var})" for name, var in values]
        lines.append("    return i")
    source = "\n".join(lines) + "\n"
    namespace = dict(build.names)
    filename = f"<helios_async structure {cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # tracebacks show the source
    function: Callable[..., Any] = namespace["structure"]
    function.__qualname__ = f"structure_{cls.__qualname__}"
    return function
