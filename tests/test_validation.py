"""Local pre-flight checks: refused before any request (helios-api.md §6, D5, D7, D8)."""

from __future__ import annotations

import datetime as dt

import pytest

from helios_async import BirthSex, InvalidInputError, ModelRunRequest, Tag, User
from helios_async._validation import (
    check_date_of_birth,
    check_language,
    check_user_label,
    to_data_to_delete,
)

NAIVE = dt.datetime(2026, 3, 25, 23, 10)
AWARE_UTC = dt.datetime(2026, 3, 25, 23, 10, tzinfo=dt.UTC)
AWARE_PLUS_ONE = dt.datetime(2026, 3, 25, 23, 10, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def a_user(**changes: object) -> User:
    fields: dict[str, object] = {
        "user_label": "operator-1234",
        "date_of_birth": dt.date(1985, 1, 1),
        "birth_sex": BirthSex.FEMALE,
    }
    fields.update(changes)
    return User(**fields)  # type: ignore[arg-type]


def a_request(**changes: object) -> ModelRunRequest:
    fields: dict[str, object] = {"user": a_user(), "language": "en-GB"}
    fields.update(changes)
    return ModelRunRequest(**fields)  # type: ignore[arg-type]


# --- §6.1 user label ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["a", "operator-1234", "x" * 50, "two words", "zoë-7"])
def test_user_labels_of_one_to_fifty_characters_are_accepted(label):
    """§6.1: the label is your own identifier, at most 50 characters."""
    assert a_user(user_label=label).user_label == label


@pytest.mark.parametrize(
    ("label", "rule"),
    [
        ("", "empty or blank"),
        ("   ", "empty or blank"),
        ("\t\n", "empty or blank"),
        ("x" * 51, "at most 50 characters, got 51"),
        ("a\x00b", "control characters"),
        ("a\tb", "control characters"),
        ("a\nb", "control characters"),
        ("a\x1bb", "control characters"),
        ("a\x7fb", "control characters"),
        ("a\x85b", "control characters"),  # C1
        ("a\x9fb", "control characters"),
        (" a ", "begin or end with whitespace"),
        ("a ", "begin or end with whitespace"),
        ("\u00a0a", "begin or end with whitespace"),
        (None, "must be a string"),
        (1234, "must be a string"),
    ],
)
def test_empty_blank_too_long_or_non_string_user_labels_are_refused(label, rule):
    """§6.1: max 50 chars; a blank label would lump unrelated people together."""
    with pytest.raises(InvalidInputError) as caught:
        a_user(user_label=label)
    assert caught.value.field == "user.user_label"
    assert rule in caught.value.rule


# --- §6.1 date of birth ------------------------------------------------------------------------


def test_a_date_of_birth_today_or_in_the_past_is_accepted():
    today = dt.date.today()
    assert a_user(date_of_birth=today).date_of_birth == today
    assert a_user(date_of_birth=dt.date(1990, 8, 24)).date_of_birth == dt.date(1990, 8, 24)
    # §6.1: unknown day or month is given as 01
    assert a_user(date_of_birth=dt.date(1990, 1, 1)).date_of_birth.day == 1


def test_a_date_of_birth_in_the_future_is_refused():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(InvalidInputError) as caught:
        a_user(date_of_birth=tomorrow)
    assert caught.value.field == "user.date_of_birth"
    assert "future" in str(caught.value)


def test_the_future_is_judged_against_the_given_today():
    with pytest.raises(InvalidInputError, match="future"):
        check_date_of_birth(dt.date(2020, 1, 2), today=dt.date(2020, 1, 1))
    assert check_date_of_birth(dt.date(2020, 1, 1), today=dt.date(2020, 1, 1)) == dt.date(
        2020, 1, 1
    )


@pytest.mark.parametrize(
    "value",
    [dt.datetime(1990, 8, 24), dt.datetime(1990, 8, 24, tzinfo=dt.UTC), "1990-08-24", None],
    ids=["naive-datetime", "aware-datetime", "string", "none"],
)
def test_a_date_of_birth_that_is_not_a_plain_date_is_refused(value):
    """§6.1: an ISO date; a datetime is ambiguous (whose midnight?) and refused."""
    with pytest.raises(InvalidInputError) as caught:
        a_user(date_of_birth=value)
    assert caught.value.field == "user.date_of_birth"
    assert "datetime.date" in caught.value.rule


def test_an_implausibly_old_date_of_birth_is_refused():
    with pytest.raises(InvalidInputError, match="1900 or later"):
        a_user(date_of_birth=dt.date(1899, 12, 31))


def test_the_first_day_of_1900_is_accepted():
    assert a_user(date_of_birth=dt.date(1900, 1, 1)).date_of_birth.year == 1900


# --- §6.1 birth sex ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (BirthSex.MALE, BirthSex.MALE),
        ("FEMALE", BirthSex.FEMALE),
        ("female", BirthSex.FEMALE),
        ("InterSex", BirthSex.INTERSEX),
        ("unknown", BirthSex.UNKNOWN),
    ],
)
def test_birth_sex_takes_the_enum_or_its_name_in_any_case(given, expected):
    """§6.1: MALE, FEMALE, INTERSEX, UNKNOWN; strings are matched case-insensitively."""
    assert a_user(birth_sex=given).birth_sex is expected


@pytest.mark.parametrize("given", ["UNSPECIFIED", "OTHER", "M", "", None, 1])
def test_birth_sex_outside_the_documented_enum_is_refused(given):
    """§6.1, §9.17: third-party values such as UNSPECIFIED/OTHER would get a 422."""
    with pytest.raises(InvalidInputError) as caught:
        a_user(birth_sex=given)
    assert caught.value.field == "user.birth_sex"
    assert "MALE, FEMALE, INTERSEX, UNKNOWN" in caught.value.rule


# --- D5 language and accent --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en-GB", "en-US", "es-ES", "pt-BR"])
def test_well_formed_language_codes_are_accepted(language):
    """D5: a lowercase language and an uppercase region, as in en-GB."""
    assert a_request(language=language).language == language


@pytest.mark.parametrize(
    "language", ["english", "en_gb", "EN-gb", "en-gb", "EN-GB", "en", "en-GB ", "", None, 44]
)
def test_malformed_language_codes_are_refused(language):
    """D5: anything but an ll-CC code is refused locally, naming the field."""
    with pytest.raises(InvalidInputError) as caught:
        a_request(language=language)
    assert caught.value.field == "language"
    assert "en-GB" in caught.value.rule


def test_check_language_reports_the_field_it_is_told():
    with pytest.raises(InvalidInputError) as caught:
        check_language("english", field="config.language")
    assert caught.value.field == "config.language"


def test_accent_is_an_optional_free_string():
    """D5: accent is optional and free-form, but not blank."""
    assert a_request().accent is None
    assert a_request(accent="scottish").accent == "scottish"
    for bad in ("", "  ", 7):
        with pytest.raises(InvalidInputError) as caught:
            a_request(accent=bad)
        assert caught.value.field == "accent"


# --- D8 naive datetimes ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["sleep_time", "wake_time", "recording_time"])
def test_naive_datetimes_are_accepted_for_sleep_wake_and_recording_time(field):
    """D8, §6.3: the user's local time, without a timezone."""
    assert getattr(a_request(**{field: NAIVE}), field) == NAIVE


@pytest.mark.parametrize("field", ["sleep_time", "wake_time", "recording_time"])
@pytest.mark.parametrize("value", [AWARE_UTC, AWARE_PLUS_ONE], ids=["utc", "plus-one"])
def test_aware_datetimes_are_refused_never_converted(field, value):
    """D8: an aware datetime is refused with a clear error, never silently converted."""
    with pytest.raises(InvalidInputError) as caught:
        a_request(**{field: value})
    assert caught.value.field == field
    assert "naive" in caught.value.rule


@pytest.mark.parametrize("field", ["sleep_time", "wake_time", "recording_time"])
def test_dates_and_strings_are_refused_where_a_datetime_is_needed(field):
    for value in (dt.date(2026, 3, 25), "2026-03-25T23:10:00"):
        with pytest.raises(InvalidInputError) as caught:
            a_request(**{field: value})
        assert caught.value.field == field


# --- D7 tags -----------------------------------------------------------------------------------


def test_tags_from_a_mapping_keep_its_order():
    """D7: ``{name: value}`` becomes Tag(name, value) in order."""
    request = a_request(tags={"site": "depot-7", "shift": "early"})
    assert request.tags == (Tag(name="site", value="depot-7"), Tag(name="shift", value="early"))


def test_tags_from_pairs_and_tag_objects_mix():
    request = a_request(tags=[("site", "depot-7"), Tag(name="shift", value="early")])
    assert request.tags == (Tag(name="site", value="depot-7"), Tag(name="shift", value="early"))


def test_tags_default_to_none_given():
    assert a_request().tags == ()
    assert a_request(tags=None).tags == ()


def test_twenty_tags_are_accepted_and_twenty_one_refused():
    """§6.4, D7: at most 20 tags per run."""
    twenty = {f"tag{i}": str(i) for i in range(20)}
    assert len(a_request(tags=twenty).tags) == 20
    with pytest.raises(InvalidInputError) as caught:
        a_request(tags={**twenty, "one-more": "x"})
    assert caught.value.field == "tags"
    assert "at most 20" in caught.value.rule
    assert "21" in caught.value.rule


def test_duplicate_tag_names_are_refused():
    """§6.4, D7: tag names must be unique within a run."""
    with pytest.raises(InvalidInputError) as caught:
        a_request(tags=[("site", "a"), ("shift", "early"), ("site", "b")])
    assert caught.value.field == "tags"
    assert "'site'" in caught.value.rule


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        ("site=depot", "tags"),
        (b"site", "tags"),
        ([("only-a-name",)], "tags"),
        ([("a", "b", "c")], "tags"),
        ([42], "tags"),
        ([("", "x")], "tags.name"),
        ([(None, "x")], "tags.name"),
        ([("site", 7)], "tags.value"),
        ({"site": None}, "tags.value"),
    ],
)
def test_malformed_tags_are_refused_naming_what_is_wrong(tags, field):
    """D7: a tag is {name: str, value: str}."""
    with pytest.raises(InvalidInputError) as caught:
        a_request(tags=tags)
    assert caught.value.field == field


# --- D8 data to delete -------------------------------------------------------------------------


def test_data_to_delete_passes_through_as_given():
    """D8: a list of strings passed through as given, as a tuple."""
    assert a_request(data_to_delete=["RECORDINGS", "results"]).data_to_delete == (
        "RECORDINGS",
        "results",
    )
    assert a_request().data_to_delete is None
    assert to_data_to_delete(x for x in ["A"]) == ("A",)


@pytest.mark.parametrize("value", ["RECORDINGS", b"x", 3, [""], ["ok", 1]])
def test_data_to_delete_that_is_not_a_sequence_of_strings_is_refused(value):
    with pytest.raises(InvalidInputError) as caught:
        a_request(data_to_delete=value)
    assert caught.value.field == "data_to_delete"


# --- the documented "Raises: InvalidInputError" holds for every field --------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delete_data", "yes"),
        ("delete_data", 1),
        ("user", {"userLabel": "x", "dateOfBirth": "1990-01-01", "birthSex": "MALE"}),
    ],
)
def test_every_bad_request_field_raises_invalid_input_error_naming_it(field, value):
    """``ModelRunRequest`` documents "Raises: InvalidInputError: a field breaks its rule; the
    error names it" — callers catch that one error to refuse input before a billable run."""
    with pytest.raises(InvalidInputError) as caught:
        a_request(**{field: value})
    assert caught.value.field == field


def test_check_user_label_returns_the_label_unchanged():
    assert check_user_label("a b") == "a b"


@pytest.mark.parametrize("label", ["SECRET-7\x00x", " SECRET-7 ", "SECRET-7\r\n"])
def test_a_refused_user_label_is_never_echoed(label):
    """The message names the field and the rule, never the label (personal data)."""
    with pytest.raises(InvalidInputError) as caught:
        a_user(user_label=label)
    assert caught.value.field == "user.user_label"
    assert "SECRET" not in str(caught.value) and "SECRET" not in repr(caught.value)


@pytest.mark.parametrize(("given", "meant"), [("en-gb", "en-GB"), ("EN_GB", "en-GB")])
def test_a_miscased_language_code_is_refused_with_the_right_spelling_suggested(given, meant):
    """D5: refused, never silently fixed, but the message says what was probably meant."""
    with pytest.raises(InvalidInputError, match=f"did you mean '{meant}'"):
        check_language(given)
