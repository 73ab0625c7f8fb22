"""Local pre-flight checks of what a caller passes in.

Each check raises :class:`~helios_async.InvalidInputError` naming the field and the rule, so a
mistake is caught before a billable model run exists. The rules are those of
https://helios-async.readthedocs.io/helios/#request-fields
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from yarl import URL

from ._errors import InvalidInputError

if TYPE_CHECKING:
    from ._models import Tag

USER_LABEL_MAX = 50  # docs/helios.md#the-user
TAGS_MAX = 20  # docs/helios.md#tag-rules
# A language code is ``ll-CC``, a lowercase language and an uppercase region (``en-GB``), as
# docs/helios.md#language-checks says.
_LANGUAGE = re.compile(r"[a-z]{2}-[A-Z]{2}")


def check_seconds(field: str, value: object) -> float | None:
    """None, or a finite number of seconds greater than zero (a deadline or a timeout).

    NaN, infinities, zero and negative values are refused: none is a usable deadline.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(field, f"must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(field, f"must be a finite number of seconds above 0, got {value}")
    return float(value)


def policy_number(
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    optional: bool = False,
) -> Callable[[Any, Any, object], None]:
    """An attrs validator for a policy's number: a real, finite int or float (never a bool or
    a string) within the bounds given, or None if ``optional``. Raises InvalidInputError
    naming ``Class.field``."""

    def validate(instance: Any, attribute: Any, value: object) -> None:
        if value is None and optional:
            return
        field = f"{type(instance).__name__}.{attribute.name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(field, f"must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise InvalidInputError(field, f"must be a finite number, got {value}")
        if above is not None and not value > above:
            raise InvalidInputError(field, f"must be above {above:g}, got {value}")
        if at_least is not None and not value >= at_least:
            raise InvalidInputError(field, f"must be at least {at_least:g}, got {value}")
        if below is not None and not value < below:
            raise InvalidInputError(field, f"must be below {below:g}, got {value}")

    return validate


def policy_int(*, at_least: int) -> Callable[[Any, Any, object], None]:
    """An attrs validator for a policy's count: an int (never a bool or a float) of at least
    ``at_least``. Raises InvalidInputError naming ``Class.field``."""

    def validate(instance: Any, attribute: Any, value: object) -> None:
        field = f"{type(instance).__name__}.{attribute.name}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(field, f"must be an int, not {type(value).__name__}")
        if value < at_least:
            raise InvalidInputError(field, f"must be at least {at_least}, got {value}")

    return validate


def policy_callable(instance: Any, attribute: Any, value: object) -> None:
    """An attrs validator for a policy's function (``sleep``)."""
    if not callable(value):
        field = f"{type(instance).__name__}.{attribute.name}"
        raise InvalidInputError(field, f"must be callable, not {type(value).__name__}")


def check_instance(field: str, value: object, cls: type) -> None:
    """``value`` is a ``cls`` (a bool is not taken for an int, nor a dict for a model)."""
    if not isinstance(value, cls):
        raise InvalidInputError(field, f"must be a {cls.__name__}, not {type(value).__name__}")


def check_upload_url(value: object) -> str:
    """A presigned upload URL, as given: an absolute ``http(s)`` URL with a host.

    It is sent verbatim, so it is only parsed here, never rewritten. The message never
    shows the URL, whose query string holds a signature.
    """
    field = "recording_upload_url"
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a string, not {type(value).__name__}")
    try:
        url = URL(value, encoded=True)
        host, _port = url.host, url.port  # an encoded URL parses its authority when read
    except ValueError as exc:
        raise InvalidInputError(field, f"is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https") or not host:
        raise InvalidInputError(
            field,
            "must be an absolute http:// or https:// URL with a host, used as the API gave it",
        )
    return value


def check_user_label(value: object) -> str:
    """A user label: a non-blank string of at most 50 characters, without control characters
    (NUL, tab, newline, any other C0 or C1 code, DEL) and without whitespace at either end
    (``" a "`` and ``"a"`` would name two people). The message never shows the label."""
    if not isinstance(value, str):
        raise InvalidInputError("user.user_label", f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidInputError("user.user_label", "must not be empty or blank")
    if not value.isprintable() and any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidInputError(
            "user.user_label", "must not hold control characters (NUL, tab, newline, ...)"
        )
    if value != value.strip():
        raise InvalidInputError(
            "user.user_label",
            "must not begin or end with whitespace (a padded label would name another person)",
        )
    if len(value) > USER_LABEL_MAX:
        raise InvalidInputError(
            "user.user_label", f"must be at most {USER_LABEL_MAX} characters, got {len(value)}"
        )
    return value


def check_date_of_birth(value: object, *, today: dt.date | None = None) -> dt.date:
    """A real calendar date, not in the future; a ``datetime`` is refused as ambiguous."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInputError(
            "user.date_of_birth", f"must be a datetime.date, not {type(value).__name__}"
        )
    if value > (today or dt.date.today()):
        raise InvalidInputError("user.date_of_birth", "must not be in the future")
    if value.year < 1900:
        raise InvalidInputError("user.date_of_birth", "must be in 1900 or later")
    return value


def check_language(value: object, field: str = "language") -> str:
    """A well-formed ``ll-CC`` language code such as ``en-GB``."""
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        hint = ""
        if isinstance(value, str) and _LANGUAGE.fullmatch(fixed := _recase(value.strip())):
            hint = f"; did you mean {fixed!r}?"
        raise InvalidInputError(field, f"must be a language code like 'en-GB', got {value!r}{hint}")
    return value


def _recase(code: str) -> str:
    language, _, region = code.replace("_", "-").partition("-")
    return f"{language.lower()}-{region.upper()}"


def check_accent(value: object) -> str | None:
    """An optional, non-blank free string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("accent", f"must be a non-blank string or None, got {value!r}")
    return value


def check_naive_datetime(field: str) -> Any:
    """An attrs validator factory: None or a naive ``datetime`` (an aware one is refused)."""

    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is None:
            return
        if not isinstance(value, dt.datetime):
            raise InvalidInputError(
                field, f"must be a datetime.datetime, not {type(value).__name__}"
            )
        if value.tzinfo is not None and value.utcoffset() is not None:
            raise InvalidInputError(
                field, "must be a naive datetime in the user's local time; got an aware one"
            )

    return check


def check_tag_name(value: object) -> str:
    """A tag name: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("tags.name", f"must be a non-blank string, got {value!r}")
    return value


def check_tag_value(value: object) -> str:
    """A tag value: a string."""
    if not isinstance(value, str):
        raise InvalidInputError("tags.value", f"must be a string, not {type(value).__name__}")
    return value


def to_tags(value: object) -> tuple[Tag, ...]:
    """Tags from a mapping ``{name: value}`` or a sequence of ``Tag``/``(name, value)``."""
    from ._models import Tag

    if value is None:
        return ()
    if isinstance(value, str | bytes):
        raise InvalidInputError("tags", "must be a mapping or a sequence of tags, not a string")
    items: Iterable[Any] = value.items() if isinstance(value, Mapping) else value  # type: ignore[assignment]
    tags: list[Tag] = []
    try:
        for item in items:
            if isinstance(item, Tag):
                tags.append(item)
            else:
                name, tag_value = item
                tags.append(Tag(name=name, value=tag_value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError("tags", "each tag must be a Tag or a (name, value) pair") from exc
    return tuple(tags)


def check_tags(_instance: object, _attribute: object, tags: tuple[Tag, ...]) -> None:
    """At most 20 tags with unique names."""
    if len(tags) > TAGS_MAX:
        raise InvalidInputError("tags", f"at most {TAGS_MAX} tags per run, got {len(tags)}")
    seen: set[str] = set()
    for tag in tags:
        if tag.name in seen:
            raise InvalidInputError("tags", f"tag names must be unique; {tag.name!r} repeats")
        seen.add(tag.name)


def to_data_to_delete(value: object) -> tuple[str, ...] | None:
    """None, or a sequence of data-type strings passed through as given."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInputError("data_to_delete", "must be a sequence of strings or None")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise InvalidInputError("data_to_delete", f"items must be non-empty strings: {item!r}")
    return items
