"""Validation of the run-creation body, answered the way a FastAPI backend answers.

The body fields are those of docs/helios.md#request-fields, with the client's rules for what
the API leaves open (docs/helios.md#client-rules): a language is ``ll-CC``, at most 20 tags
with unique names, ``dataToDelete`` passed through, a naive ``recordingTime``. Failures
become the FastAPI/pydantic ``detail`` list::

    {"detail": [{"loc": ["body", "user", "birthSex"], "msg": "...", "type": "..."}]}

Unknown keys are ignored, as pydantic does by default; optional keys may be ``null``.
The checks are deliberately strict about JSON types (no string-to-number coercion) so a
client that sends the wrong type is caught.
"""

from __future__ import annotations

import datetime
import json
import re
import typing

import attrs

__all__ = ["BIRTH_SEXES", "CreateRequest", "ValidationFailed", "parse_create_body"]

#: ``user.birthSex`` values.
BIRTH_SEXES: typing.Final[tuple[str, ...]] = ("MALE", "FEMALE", "INTERSEX", "UNKNOWN")
_LANGUAGE: typing.Final[str] = r"^[a-z]{2}-[A-Z]{2}$"  # docs/helios.md#language-checks
_DATE: typing.Final[re.Pattern[str]] = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME: typing.Final[re.Pattern[str]] = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)
_MAX_LABEL: typing.Final[int] = 50  # docs/helios.md#the-user
_MAX_TAGS: typing.Final[int] = 20  # docs/helios.md#tag-rules

Loc = list[str | int]
Detail = dict[str, typing.Any]


class ValidationFailed(Exception):
    """The body is invalid; ``details`` is the FastAPI ``detail`` list for the 422 body."""

    def __init__(self, details: list[Detail]) -> None:
        super().__init__(f"{len(details)} validation error(s)")
        self.details = details


@attrs.frozen(kw_only=True)
class CreateRequest:
    """The parts of a valid creation body the sandbox keeps."""

    user_label: str
    delete_data: bool
    body: dict[str, typing.Any]  # the parsed JSON object, as sent


class _Checker:
    """Collects pydantic-v1-style errors while walking the body."""

    def __init__(self) -> None:
        self.details: list[Detail] = []

    def fail(self, loc: Loc, msg: str, kind: str, /, **ctx: typing.Any) -> None:
        detail: Detail = {"loc": loc, "msg": msg, "type": kind}
        if ctx:
            detail["ctx"] = ctx
        self.details.append(detail)

    def present(self, obj: dict[str, typing.Any], key: str, loc: Loc, *, required: bool) -> bool:
        """True when ``key`` holds a value to check; records missing/null required keys."""
        if key not in obj:
            if required:
                self.fail(loc, "field required", "value_error.missing")
            return False
        if obj[key] is None:
            if required:
                self.fail(loc, "none is not an allowed value", "type_error.none.not_allowed")
            return False
        return True

    def string(
        self,
        obj: dict[str, typing.Any],
        key: str,
        loc: Loc,
        *,
        required: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
    ) -> str | None:
        if not self.present(obj, key, loc, required=required):
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.fail(loc, "str type expected", "type_error.str")
            return None
        if len(value) < min_length:
            self.fail(
                loc,
                f"ensure this value has at least {min_length} characters",
                "value_error.any_str.min_length",
                limit_value=min_length,
            )
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(
                loc,
                f"ensure this value has at most {max_length} characters",
                "value_error.any_str.max_length",
                limit_value=max_length,
            )
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.fail(
                loc,
                f'string does not match regex "{pattern}"',
                "value_error.str.regex",
                pattern=pattern,
            )
            return None
        return value

    def naive_datetime(self, obj: dict[str, typing.Any], key: str, loc: Loc) -> None:
        """Sleep, wake and recording times are naive user-local datetimes."""
        if not self.present(obj, key, loc, required=False):
            return
        value = obj[key]
        try:
            if not isinstance(value, str) or not _DATETIME.fullmatch(value):
                raise ValueError(value)  # noqa: TRY301 - one error path for all bad forms
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            self.fail(loc, "invalid datetime format", "value_error.datetime")
            return
        if parsed.tzinfo is not None:
            self.fail(
                loc,
                "datetime must be naive: the user's local time without a UTC offset",
                "value_error.datetime.naive",
            )


def parse_create_body(raw: bytes) -> CreateRequest:
    """Parse and validate the body of either create; raise :class:`ValidationFailed`."""
    check = _Checker()
    if not raw.strip():
        check.fail(["body"], "field required", "value_error.missing")
        raise ValidationFailed(check.details)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.reason
        check.fail(["body", pos], str(exc), "value_error.jsondecode", msg=message, pos=pos)
        raise ValidationFailed(check.details) from None
    if not isinstance(body, dict):
        check.fail(["body"], "value is not a valid dict", "type_error.dict")
        raise ValidationFailed(check.details)

    label: str | None = None
    if check.present(body, "user", ["body", "user"], required=True):
        user = body["user"]
        if not isinstance(user, dict):
            check.fail(["body", "user"], "value is not a valid dict", "type_error.dict")
        else:
            label = check.string(
                user,
                "userLabel",
                ["body", "user", "userLabel"],
                required=True,
                min_length=1,
                max_length=_MAX_LABEL,
            )
            _check_date_of_birth(check, user)
            _check_birth_sex(check, user)
    check.string(body, "language", ["body", "language"], required=True, pattern=_LANGUAGE)
    check.string(body, "accent", ["body", "accent"])
    for key in ("sleepTime", "wakeTime", "recordingTime"):
        check.naive_datetime(body, key, ["body", key])
    _check_tags(check, body)
    delete_data = False
    if check.present(body, "deleteData", ["body", "deleteData"], required=False):
        if isinstance(body["deleteData"], bool):
            delete_data = body["deleteData"]
        else:
            check.fail(
                ["body", "deleteData"], "value could not be parsed to a boolean", "type_error.bool"
            )
    _check_string_list(check, body, "dataToDelete")

    if check.details or label is None:
        raise ValidationFailed(check.details)
    return CreateRequest(user_label=label, delete_data=delete_data, body=body)


def _check_date_of_birth(check: _Checker, user: dict[str, typing.Any]) -> None:
    loc: Loc = ["body", "user", "dateOfBirth"]
    if not check.present(user, "dateOfBirth", loc, required=True):
        return
    value = user["dateOfBirth"]
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError(value)  # noqa: TRY301 - one error path for all bad forms
        datetime.date.fromisoformat(value)
    except ValueError:
        check.fail(loc, "invalid date format", "value_error.date")


def _check_birth_sex(check: _Checker, user: dict[str, typing.Any]) -> None:
    loc: Loc = ["body", "user", "birthSex"]
    if check.present(user, "birthSex", loc, required=True) and user["birthSex"] not in BIRTH_SEXES:
        permitted = ", ".join(f"'{value}'" for value in BIRTH_SEXES)
        check.fail(
            loc,
            f"value is not a valid enumeration member; permitted: {permitted}",
            "type_error.enum",
            enum_values=list(BIRTH_SEXES),
        )


def _check_tags(check: _Checker, body: dict[str, typing.Any]) -> None:
    """A list of at most 20 ``{"name": str, "value": str}`` with unique names."""
    if not check.present(body, "tags", ["body", "tags"], required=False):
        return
    tags = body["tags"]
    if not isinstance(tags, list):
        check.fail(["body", "tags"], "value is not a valid list", "type_error.list")
        return
    if len(tags) > _MAX_TAGS:
        check.fail(
            ["body", "tags"],
            f"ensure this value has at most {_MAX_TAGS} items",
            "value_error.list.max_items",
            limit_value=_MAX_TAGS,
        )
    names: list[str] = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, dict):
            check.fail(["body", "tags", index], "value is not a valid dict", "type_error.dict")
            continue
        name = check.string(
            tag, "name", ["body", "tags", index, "name"], required=True, min_length=1
        )
        check.string(tag, "value", ["body", "tags", index, "value"], required=True)
        if name is not None:
            names.append(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        check.fail(
            ["body", "tags"],
            "tag names must be unique; repeated: " + ", ".join(map(repr, duplicates)),
            "value_error.tags.not_unique",
        )


def _check_string_list(check: _Checker, body: dict[str, typing.Any], key: str) -> None:
    if not check.present(body, key, ["body", key], required=False):
        return
    values = body[key]
    if not isinstance(values, list):
        check.fail(["body", key], "value is not a valid list", "type_error.list")
        return
    for index, value in enumerate(values):
        if not isinstance(value, str):
            check.fail(["body", key, index], "str type expected", "type_error.str")
