"""The generated one-pass structuring functions (``_onepass``): nulls read as defaults,
required fields enforced, no copies, ``__init__`` run whenever it does more than assign."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import pytest

from helios_async._onepass import compile_structure


def leaf(kind: Any) -> Any:
    def hook(value: Any, _type: Any) -> Any:
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is float and isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value}")
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)

    return hook


def compiled(cls: type[Any], **extra: Any) -> Any:
    def nested(kind: Any) -> Any:
        return compiled(kind)

    return compile_structure(
        cls, wire_name=lambda name: name.upper(), leaf=leaf, nested=nested, **extra
    )


@attrs.frozen(kw_only=True, slots=False)
class Inner:
    when: dt.date
    score: float = 0.0


@attrs.frozen(kw_only=True, slots=False)
class Outer:
    name: str
    flag: bool = False
    inner: Inner | None = None
    items: tuple[Inner, ...] = ()
    labels: list[str] = attrs.field(factory=list)
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    request_id: str | None = None


@attrs.frozen(kw_only=True)
class Slotted:
    name: str
    count: float = 1.0


@attrs.frozen(kw_only=True, slots=False)
class Checked:
    name: str = attrs.field(validator=attrs.validators.min_len(2))


def test_a_null_reads_as_the_default_and_a_missing_field_the_same():
    """D10: ``null`` and absent are one thing; a factory default is called afresh."""
    structure = compiled(Outer)
    with_nulls = structure({"NAME": "a", "FLAG": None, "INNER": None, "LABELS": None})
    assert with_nulls == structure({"NAME": "a"}) == Outer(name="a")
    assert with_nulls.labels == [] and with_nulls.labels is not structure({"NAME": "a"}).labels


def test_a_required_field_that_is_null_or_missing_raises_key_error_naming_its_wire_key():
    structure = compiled(Outer)
    for payload in ({}, {"NAME": None}):
        with pytest.raises(KeyError, match="NAME"):
            structure(payload)


def test_nested_classes_and_tuples_are_structured_and_raw_is_the_payload_itself():
    payload = {
        "NAME": "a",
        "INNER": {"WHEN": "2026-03-26"},
        "ITEMS": [{"WHEN": "2026-01-02", "SCORE": 0.5}],
    }
    run = compiled(Outer)(payload, "req-1")
    assert run.inner == Inner(when=dt.date(2026, 3, 26))
    assert run.items == (Inner(when=dt.date(2026, 1, 2), score=0.5),)
    assert run.raw is payload
    assert run.request_id == "req-1"


def test_values_of_the_wrong_type_go_to_the_hook_which_refuses_them():
    """The inline fast checks accept only the exact JSON type; the rest is the hook's call."""
    structure = compiled(Outer)
    for payload in ({"NAME": 1}, {"NAME": "a", "FLAG": "true"}, {"NAME": "a", "ITEMS": "xy"}):
        with pytest.raises(TypeError):
            structure(payload)
    inner = compiled(Inner)
    for score in (float("nan"), float("inf"), "0.5"):
        with pytest.raises((TypeError, ValueError)):
            inner({"WHEN": "2026-03-26", "SCORE": score})
    assert inner({"WHEN": "2026-03-26", "SCORE": 0.25}).score == 0.25


def test_anything_but_a_mapping_is_refused():
    for payload in ([], "text", 42):
        with pytest.raises(TypeError, match="JSON object"):
            compiled(Outer)(payload)
    assert compiled(Outer)(MappingProxyType({"NAME": "a"})).name == "a"


def test_slotted_classes_and_field_hooks_are_supported():
    def double(value: Any, _type: Any) -> float:
        return float(value) * 2

    structure = compiled(Slotted, field_hook=lambda _cls, name: double if name == "count" else None)
    assert structure({"NAME": "a", "COUNT": 2}) == Slotted(name="a", count=4.0)


def test_a_class_whose_init_validates_is_built_through_its_init():
    with pytest.raises(ValueError, match="2"):
        compiled(Checked)({"NAME": "a"})
    assert compiled(Checked)({"NAME": "ab"}) == Checked(name="ab")


def test_the_generated_source_is_shown_in_tracebacks():
    import linecache

    structure = compiled(Outer)
    source = "".join(linecache.getlines(structure.__code__.co_filename))
    assert "get('NAME')" in source
