"""The one cattrs converter: JSON payloads to models and back, camelCase on the wire.

Rules it implements: field names are camelCase on the wire (§2, §7); a ``null`` is the same
as a missing field and unknown fields are ignored but kept on ``raw`` (D10); response
timestamps take ``Z``, offsets, fractions and naive values as UTC (D12); request datetimes
stay naive (D8); a score is ``{"value": x}`` on the wire and a float here (§3.3).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import DecodeError
from ._models import ModelRun, ModelRunRequest, Section

T = TypeVar("T")

__all__ = ["camel", "structure", "structure_json", "unstructure"]

_SCORE_FIELDS = frozenset(
    a.name
    for a in attrs.fields(Section)
    if a.name not in ("start_secs", "finish_secs", "transcript")
)
# Kept beside the payload, never read from it or written to it.
_NOT_ON_THE_WIRE = frozenset({"raw", "request_id"})
# Request bodies leave out what the caller did not set, so a minimal create is exactly §7's.
_OMIT_DEFAULTS = (ModelRunRequest,)


def camel(name: str) -> str:
    """``sleep_propensity`` -> ``sleepPropensity``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _parse_datetime(value: Any, _type: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = dt.datetime.fromisoformat(value)  # 3.11+: takes "Z" and fractions
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _parse_date(value: Any, _type: object) -> dt.date:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _parse_score(value: Any) -> float:
    if isinstance(value, Mapping):
        value = value["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _strict_str(value: Any, cls: type[str]) -> str:
    """A JSON string, for ``str`` and the string enums (which dispatch here too)."""
    if isinstance(value, str):
        return value if cls is str else cls(value)
    # An int is taken as an opaque id: old accounts' ids are customer numbers (§2.2).
    if cls is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_bool(value: Any, _type: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _strict_float(value: Any, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _is_homogeneous_tuple(cls: Any) -> bool:
    args: tuple[Any, ...] = getattr(cls, "__args__", ())
    return getattr(cls, "__origin__", None) is tuple and args[1:] == (Ellipsis,)


def _make_converter() -> cattrs.Converter:
    """The converter, strict about JSON types so a wrong type never turns into a plausible value
    ("false" is not True, a string is not a tuple of characters)."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_structure_hook(str, _strict_str)  # also dispatches the StrEnums
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(float, _strict_float)

    def structure_tuple(cls: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = cls.__args__[0]

        def structure(value: Any, _type: object) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected a JSON array, got {type(value).__name__}")
            return tuple(converter.structure(item, item_type) for item in value)

        return structure

    converter.register_structure_hook_factory(_is_homogeneous_tuple, structure_tuple)
    converter.register_structure_hook(dt.datetime, _parse_datetime)
    converter.register_structure_hook(dt.date, _parse_date)
    converter.register_unstructure_hook(dt.datetime, lambda value: value.isoformat())
    converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())
    converter.register_structure_hook_factory(attrs.has, lambda cls: _structure_fn(converter, cls))
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: _unstructure_fn(converter, cls)
    )
    return converter


def _structure_fn(converter: cattrs.Converter, cls: type[T]) -> Callable[[Any, Any], T]:
    overrides: dict[str, Any] = {}
    has_raw = False
    for field in attrs.fields(cast(Any, cls)):
        if field.name in _NOT_ON_THE_WIRE:
            has_raw = has_raw or field.name == "raw"
            overrides[field.name] = override(omit=True)
        elif cls is Section and field.name in _SCORE_FIELDS:
            overrides[field.name] = override(
                rename=camel(field.name), struct_hook=lambda v, _t: _parse_score(v)
            )
        else:
            overrides[field.name] = override(rename=camel(field.name))
    generated = make_dict_structure_fn(cls, converter, **overrides)

    def structure_without_nulls(payload: Any, _type: Any) -> T:
        if not isinstance(payload, Mapping):
            raise TypeError(f"expected a JSON object, got {type(payload).__name__}")
        cleaned = {key: value for key, value in payload.items() if value is not None}  # D10
        instance = generated(cleaned, cls)
        return attrs.evolve(instance, raw=payload) if has_raw else instance  # type: ignore[misc]

    return structure_without_nulls


def _unstructure_fn(converter: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    overrides: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name in _NOT_ON_THE_WIRE:
            overrides[field.name] = override(omit=True)
        elif cls is Section and field.name in _SCORE_FIELDS:
            overrides[field.name] = override(
                rename=camel(field.name), unstruct_hook=lambda v: {"value": v}
            )
        elif cls is ModelRun and field.name == "warnings":
            # An empty tuple is how the API's null reads here; send it back as null.
            overrides[field.name] = override(
                rename="warnings", unstruct_hook=lambda v: list(v) or None
            )
        else:
            overrides[field.name] = override(rename=camel(field.name))
    return make_dict_unstructure_fn(
        cls, converter, _cattrs_omit_if_default=cls in _OMIT_DEFAULTS, **overrides
    )


_converter = _make_converter()


def structure(payload: Any, cls: type[T], *, body: bytes = b"") -> T:
    """Structure decoded JSON into ``cls``.

    Raises:
        DecodeError: the payload does not fit the model; the message lists every problem and
            ``body`` (the raw bytes it came from, if given) is attached.
    """
    try:
        return _converter.structure(payload, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError) as exc:
        problems = (
            "; ".join(cattrs.transform_error(exc, path=cls.__name__))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise DecodeError(
            f"the response does not fit {cls.__name__}: {problems}", body=body
        ) from exc


def structure_json(body: bytes, cls: type[T]) -> T:
    """Decode a JSON body and structure it into ``cls``.

    Raises:
        DecodeError: the body is not JSON, or does not fit; ``body`` is attached.
    """
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise DecodeError(f"the response is not JSON ({exc})", body=body, malformed=True) from exc
    return structure(payload, cls, body=body)


def unstructure(instance: Any) -> Any:
    """A model as the API's JSON-ready payload (camelCase keys, ISO 8601 strings)."""
    return _converter.unstructure(instance)
