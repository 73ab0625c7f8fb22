"""The one converter: JSON payloads to models and back, camelCase on the wire.

Rules it implements: field names are camelCase on the wire; a ``null`` is the same as a
missing field and unknown fields are ignored but kept on ``raw``; response timestamps take
``Z``, offsets, fractions and naive values as UTC; request datetimes stay naive; a score is
``{"value": x}`` on the wire and a float here, a finite number in [0, 1], anything else a
:class:`~helios_async.DecodeError`; a bucketed score off the documented buckets (0.0, 0.33,
0.66, 1.0, within 0.01) is kept as sent and logged once per field name at WARNING (the
name only: a score is health data). A JSON number is never taken for a string, except the
account id, which old deployments send as a customer number. See
https://helios-async.readthedocs.io/helios/#missing-and-unknown-fields and
https://helios-async.readthedocs.io/helios/#timestamps

Three paths, one set of rules (the hooks below): structuring runs a generated one-pass
function per class (``_onepass``); only a payload it refuses goes through cattrs with
detailed validation, for a message that names every problem; requests are unstructured by
cattrs. Bodies are decoded by orjson, and what orjson refuses (a ``NaN``, a byte-order mark,
UTF-16) is judged by ``json``, so a non-finite number is still refused by the field it is
in. The cattrs converters are built, and orjson imported, on first use, not on import.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import attrs

from ._errors import DecodeError
from ._models import BUCKETED_SCORES, SCORE_NAMES, Account, ModelRun, ModelRunRequest, Section
from ._onepass import LeafHook, compile_structure, optional_of

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

__all__ = ["camel", "structure", "structure_json", "unstructure"]

_SCORE_FIELDS = frozenset(SCORE_NAMES)
# Request bodies leave out what the caller did not set, so a minimal create is exactly the
# smallest valid body of docs/helios.md#create-a-model-run.
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


def _as(converter: cattrs.Converter, cls: Any) -> Callable[[Any, Any], Any]:
    """The hook for ``cls``, called with ``cls`` whatever type it is handed."""
    hook = converter.get_structure_hook(cls)
    return lambda value, _type: hook(value, cls)


# The hooks below test exact JSON types first (``type(x) is``), as json.loads makes exactly
# these; isinstance on an ABC such as Mapping costs more than the rest of a field.


def _strict_float(value: Any, _type: object = float) -> float:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value  # type: ignore[no-any-return]
        raise ValueError(f"expected a finite number, got {value}")
    if kind is int:
        return float(value)
    raise TypeError(f"expected a number, got {kind.__name__}")


logger = logging.getLogger("helios_async")

BUCKETS = (0.0, 0.33, 0.66, 1.0)  # the bucketed scores' values
BUCKET_TOLERANCE = 0.01


def _score_value(value: Any) -> float:
    """A score's number: ``{"value": x}`` on the wire."""
    if type(value) is dict:
        value = value["value"]
    if type(value) is float and value - value == 0.0:  # finite (inf - inf and nan are nan)
        return value
    return _strict_float(value)


def _parse_continuous(value: Any, _type: object = float) -> float:
    """A continuous score (``mentalStrain``, ``uniform*``): in [0, 1]."""
    score = _score_value(value)
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a continuous score lies in [0, 1], got {score}")
    return score


_off_bucket_fields: set[str] = set()  # the bucketed fields already logged off their buckets


def _bucketed(name: str) -> Callable[[Any, object], float]:
    """The hook of the bucketed score ``name`` (``"stress"``), one per name.

    Its rule (https://helios-async.readthedocs.io/helios/#score-values): a finite number in
    [0, 1], else ValueError. The buckets 0.0, 0.33, 0.66, 1.0 (within 0.01) are inferred
    from thymia's examples, not promised, so a value between them is kept as sent and
    logged once per field name, at WARNING, naming the field and never the value.
    """
    hook = _bucketed_hooks.get(name)
    if hook is not None:
        return hook

    def parse(value: Any, _type: object = float) -> float:
        score = _score_value(value)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"a bucketed score lies in [0, 1], got {score}")
        if name not in _off_bucket_fields and not any(
            abs(score - bucket) <= BUCKET_TOLERANCE for bucket in BUCKETS
        ):
            _off_bucket_fields.add(name)
            logger.warning(
                "the API sent a %s score off the documented buckets 0.0, 0.33, 0.66, 1.0;"
                " kept as sent (logged once per field)",
                name,
            )
        return score

    parse.inline = _BUCKETED_INLINE  # type: ignore[attr-defined]
    _bucketed_hooks[name] = parse
    return parse


_bucketed_hooks: dict[str, Callable[[Any, object], float]] = {}


# The common cases of the two score hooks, written into the one-pass functions so a score
# costs no call: each accepts only what its hook accepts (a finite float in [0, 1]; a bucket's
# exact value) and leaves everything else to the hook, which decides. Keep them in step with
# the hooks (tests/test_converter.py holds each pair to the same answers).
_parse_continuous.inline = (  # type: ignore[attr-defined]
    '_s if type({v}) is dict and type(_s := {v}.get("value")) is float and 0.0 <= _s <= 1.0'
)
_BUCKETED_INLINE = (
    '_s if type({v}) is dict and type(_s := {v}.get("value")) is float'
    " and (_s == 0.0 or _s == 0.33 or _s == 0.66 or _s == 1.0)"
)


def _strict_str(value: Any, cls: type[str]) -> str:
    """A JSON string, for ``str`` and the string enums (which dispatch here too)."""
    if type(value) is str:
        return value if cls is str else cls(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _account_id(value: Any, _type: object = str) -> str:
    """The account id: a string, or an int taken as an opaque id (old accounts' ids are
    customer numbers). The only field that takes a number for a string."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_bool(value: Any, _type: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _is_homogeneous_tuple(cls: Any) -> bool:
    args: tuple[Any, ...] = getattr(cls, "__args__", ())
    return getattr(cls, "__origin__", None) is tuple and args[1:] == (Ellipsis,)


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    """A cattrs converter with the hooks above, strict about JSON types so a wrong type never
    turns into a plausible value ("false" is not True, a string is not a tuple of characters).

    The plain one unstructures requests; the detailed one only runs on a payload the
    one-pass path refused, to say everything that is wrong with it.
    """
    import cattrs

    converter = cattrs.Converter(forbid_extra_keys=False, detailed_validation=detailed)
    converter.register_structure_hook(str, _strict_str)  # also dispatches the StrEnums
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(float, _strict_float)

    def structure_tuple(cls: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = cls.__args__[0]
        item_hook = converter.get_structure_hook(item_type)

        def structure(value: Any, _type: object) -> tuple[Any, ...]:
            if type(value) is not list and not isinstance(value, tuple):
                raise TypeError(f"expected a JSON array, got {type(value).__name__}")
            return tuple(item_hook(item, item_type) for item in value)

        return structure

    converter.register_structure_hook_factory(_is_homogeneous_tuple, structure_tuple)
    converter.register_structure_hook(dt.datetime, _parse_datetime)
    converter.register_structure_hook(dt.date, _parse_date)
    # Enums as their plain string values, so the result is JSON's own types and reads back.
    # (Every enum here is a StrEnum, which would otherwise go out as itself, by str's hook.)
    converter.register_unstructure_hook(enum.StrEnum, lambda value: value.value)
    converter.register_unstructure_hook(dt.datetime, lambda value: value.isoformat())
    converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())
    converter.register_structure_hook_factory(attrs.has, lambda cls: _structure_fn(converter, cls))
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: _unstructure_fn(converter, cls)
    )
    return converter


@functools.cache
def _plain() -> cattrs.Converter:
    return _make_converter(detailed=False)


@functools.cache
def _detailed() -> cattrs.Converter:
    return _make_converter(detailed=True)


# Keys the detailed path adds to its own copy of a payload, to hand the model what is kept
# beside the wire fields in one construction; no API field is spelled like these.
_RAW_KEY = "\x00raw"
_REQUEST_ID_KEY = "\x00request_id"
_HIDDEN_KEYS = {"raw": _RAW_KEY, "request_id": _REQUEST_ID_KEY}
StructureHook = Callable[..., Any]


def _passthrough(value: Any, _type: object) -> Any:
    return value


def _structure_fn(converter: cattrs.Converter, cls: type[T]) -> Callable[..., T]:
    """cattrs' structuring of ``cls`` with nulls dropped first: the detailed path."""
    from cattrs.gen import make_dict_structure_fn, override

    overrides: dict[str, Any] = {}
    fields = attrs.resolve_types(cast(Any, cls)).__attrs_attrs__
    names = {field.name for field in fields}
    for field in fields:
        name = field.name
        if name in _HIDDEN_KEYS:
            overrides[name] = override(rename=_HIDDEN_KEYS[name], struct_hook=_passthrough)
        elif cls is Section and name in _SCORE_FIELDS:
            score_hook = _bucketed(name) if name in BUCKETED_SCORES else _parse_continuous
            overrides[name] = override(rename=camel(name), struct_hook=score_hook)
        elif cls is Account and name == "id":
            overrides[name] = override(rename="id", struct_hook=_account_id)
        elif (inner := optional_of(field.type)) is not None:
            # Nulls are gone before structuring: skip cattrs' per-call Optional dispatch.
            overrides[name] = override(rename=camel(name), struct_hook=_as(converter, inner))
        else:
            overrides[name] = override(rename=camel(name))
    generated: Callable[[Any, Any], T] = make_dict_structure_fn(
        cast(Any, cls), converter, **overrides
    )
    keeps_raw = "raw" in names

    def structure_without_nulls(payload: Any, _type: Any) -> T:
        if type(payload) is not dict and not isinstance(payload, Mapping):
            raise TypeError(f"expected a JSON object, got {type(payload).__name__}")
        # docs/helios.md#missing-and-unknown-fields: null means absent.
        cleaned = {key: value for key, value in payload.items() if value is not None}
        if keeps_raw:
            cleaned[_RAW_KEY] = payload
        return generated(cleaned, cls)

    return structure_without_nulls


def _unstructure_fn(converter: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    from cattrs.gen import make_dict_unstructure_fn, override

    overrides: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name in _HIDDEN_KEYS:
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


# --- the one-pass path -------------------------------------------------------------------------

_LEAF_HOOKS: dict[Any, LeafHook] = {
    str: _strict_str,
    bool: _strict_bool,
    float: _strict_float,
    dt.datetime: _parse_datetime,
    dt.date: _parse_date,
}
_one_pass: dict[type[Any], StructureHook] = {}


def _leaf(kind: Any) -> LeafHook:
    hook = _LEAF_HOOKS.get(kind)
    if hook is not None:
        return hook
    if isinstance(kind, type) and issubclass(kind, enum.Enum) and issubclass(kind, str):
        return _strict_str
    return _plain().get_structure_hook(kind)


def _field_hook(cls: type[Any], name: str) -> LeafHook | None:
    """The hooks of the fields whose rule is their own: the scores' ranges, the account id."""
    if cls is Section and name in _SCORE_FIELDS:
        return _bucketed(name) if name in BUCKETED_SCORES else _parse_continuous
    if cls is Account and name == "id":
        return _account_id
    return None


def _one_pass_of(cls: type[Any]) -> StructureHook:
    hook = _one_pass.get(cls)
    if hook is None:
        hook = compile_structure(
            cls, wire_name=camel, leaf=_leaf, nested=_one_pass_of, field_hook=_field_hook
        )
        _one_pass[cls] = hook
    return hook


def _explain(exc: BaseException, type_: Any) -> str:
    """One problem in words: a rule a hook states (a score's range) as it states it."""
    from cattrs.v import format_exception

    if type(exc) is ValueError and str(exc):
        return str(exc)
    return format_exception(exc, type_)


def structure(payload: Any, cls: type[T], *, body: bytes = b"", request_id: str | None = None) -> T:
    """Structure decoded JSON into ``cls``; ``request_id`` goes on models that keep one.

    Raises:
        DecodeError: the payload does not fit the model; the message lists every problem and
            ``body`` (the raw bytes it came from, if given) is attached.
    """
    hook = _one_pass.get(cls) or _one_pass_of(cls)
    try:
        return hook(payload, request_id or None)  # type: ignore[no-any-return]
    except Exception as exc:  # re-judged below, with every problem named
        _refuse(payload, cls, body, exc)


def _refuse(payload: Any, cls: type[Any], body: bytes, failure: BaseException) -> NoReturn:
    """Raise the DecodeError for a payload the one-pass path refused with ``failure``, with
    the detailed path's list of every problem where it finds them."""
    import cattrs

    try:
        _detailed().structure(payload, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError) as exc:
        failure = exc  # else the detailed path took it: the one-pass error is the message
    problems = (
        "; ".join(cattrs.transform_error(failure, path=cls.__name__, format_exception=_explain))
        if isinstance(failure, cattrs.BaseValidationError)
        else str(failure)
    )
    raise DecodeError(
        f"the response does not fit {cls.__name__}: {problems}", body=body
    ) from failure


def _first_loads(data: bytes | memoryview) -> Any:
    """orjson's ``loads``, imported by the first body decoded, which it then replaces."""
    global _loads
    import orjson

    _loads = orjson.loads
    return _loads(data)


_loads: Callable[[bytes | memoryview], Any] = _first_loads


def structure_json(body: bytes, cls: type[T], *, request_id: str | None = None) -> T:
    """Decode a JSON body and structure it into ``cls``.

    Raises:
        DecodeError: the body is not JSON, or does not fit; ``body`` is attached.
    """
    try:
        # orjson takes exact bytes, or a buffer: a bytes subclass (the responses' PersonalBytes)
        # goes as a memoryview, without a copy.
        payload = _loads(body if type(body) is bytes else memoryview(body))
    except ValueError:  # orjson.JSONDecodeError: let json judge it (NaN, a BOM, UTF-16)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise DecodeError(
                f"the response is not JSON ({exc})", body=body, malformed=True
            ) from exc
    hook = _one_pass.get(cls) or _one_pass_of(cls)
    try:
        return hook(payload, request_id or None)  # type: ignore[no-any-return]
    except Exception as exc:  # re-judged, with every problem named
        _refuse(payload, cls, body, exc)


def unstructure(instance: Any) -> Any:
    """A model as the API's JSON-ready payload (camelCase keys, ISO 8601 strings)."""
    return _plain().unstructure(instance)
