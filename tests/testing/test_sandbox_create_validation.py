"""The sandbox validates run-creation bodies like the real FastAPI backend (helios-api.md
§2.3, §6, §7, D5, D7, D8): failures are 422 with a ``detail`` list of {loc, msg, type}."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sandbox_helpers import MINIMAL_BODY, Api

CREATE = "/v1/models/mental-wellness"
ACTIVITY = "/v1/models/mental-wellness-activity"
FULL_BODY: dict[str, Any] = {  # §7, "all optional fields", with concrete values
    "user": {"userLabel": "operator-1234", "dateOfBirth": "1985-01-01", "birthSex": "FEMALE"},
    "language": "en-GB",
    "accent": "scottish",
    "sleepTime": "2026-03-25T23:10:00",
    "wakeTime": "2026-03-26T06:45:00",
    "recordingTime": "2026-03-26T09:30:00.250",
    "tags": [{"name": "site", "value": "depot-7"}, {"name": "shift", "value": "early"}],
    "deleteData": True,
    "dataToDelete": ["RECORDINGS"],
}


def _body(**changes: Any) -> dict[str, Any]:
    """The minimal body with dotted-path changes; the value ``...`` deletes the key."""
    body = copy.deepcopy(MINIMAL_BODY)
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[key]
        else:
            target[key] = value
    return body


async def _post(api: Api, body: object, path: str = CREATE) -> tuple[int, Any]:
    async with api.session.post(
        api.sandbox.base_url + path, json=body, headers=api.headers
    ) as response:
        return response.status, await response.json()


INVALID: list[tuple[str, object, list[str | int], str]] = [
    ("body is a list", [MINIMAL_BODY], ["body"], "type_error.dict"),
    ("no user", _body(user=...), ["body", "user"], "value_error.missing"),
    ("user is null", _body(user=None), ["body", "user"], "type_error.none.not_allowed"),
    ("user is a string", _body(user="me"), ["body", "user"], "type_error.dict"),
    (
        "no userLabel",
        _body(user__userLabel=...),
        ["body", "user", "userLabel"],
        "value_error.missing",
    ),
    (
        "userLabel of 51 chars",
        _body(user__userLabel="x" * 51),
        ["body", "user", "userLabel"],
        "value_error.any_str.max_length",
    ),
    (
        "empty userLabel",
        _body(user__userLabel=""),
        ["body", "user", "userLabel"],
        "value_error.any_str.min_length",
    ),
    (
        "numeric userLabel",
        _body(user__userLabel=1234),
        ["body", "user", "userLabel"],
        "type_error.str",
    ),
    (
        "dateOfBirth not ISO",
        _body(user__dateOfBirth="24/08/1990"),
        ["body", "user", "dateOfBirth"],
        "value_error.date",
    ),
    (
        "dateOfBirth impossible",
        _body(user__dateOfBirth="1990-02-30"),
        ["body", "user", "dateOfBirth"],
        "value_error.date",
    ),
    (
        "dateOfBirth is a datetime",
        _body(user__dateOfBirth="1990-08-24T00:00:00"),
        ["body", "user", "dateOfBirth"],
        "value_error.date",
    ),
    (
        "birthSex OTHER",
        _body(user__birthSex="OTHER"),
        ["body", "user", "birthSex"],
        "type_error.enum",
    ),
    (
        "birthSex lowercase",
        _body(user__birthSex="male"),
        ["body", "user", "birthSex"],
        "type_error.enum",
    ),
    ("no language", _body(language=...), ["body", "language"], "value_error.missing"),
    ("language en", _body(language="en"), ["body", "language"], "value_error.str.regex"),
    ("language en_GB", _body(language="en_GB"), ["body", "language"], "value_error.str.regex"),
    ("language EN-gb", _body(language="EN-gb"), ["body", "language"], "value_error.str.regex"),
    ("accent not a string", _body(accent=5), ["body", "accent"], "type_error.str"),
    (
        "sleepTime with Z",
        _body(sleepTime="2026-03-25T23:10:00Z"),
        ["body", "sleepTime"],
        "value_error.datetime.naive",
    ),
    (
        "wakeTime with an offset",
        _body(wakeTime="2026-03-26T06:45:00+01:00"),
        ["body", "wakeTime"],
        "value_error.datetime.naive",
    ),
    (
        "recordingTime with an offset",
        _body(recordingTime="2026-03-26T09:30:00-05:00"),
        ["body", "recordingTime"],
        "value_error.datetime.naive",
    ),
    (
        "sleepTime not a datetime",
        _body(sleepTime="last night"),
        ["body", "sleepTime"],
        "value_error.datetime",
    ),
    ("tags not a list", _body(tags={"a": "b"}), ["body", "tags"], "type_error.list"),
    (
        "21 tags",
        _body(tags=[{"name": f"t{i}", "value": "v"} for i in range(21)]),
        ["body", "tags"],
        "value_error.list.max_items",
    ),
    (
        "duplicate tag names",
        _body(tags=[{"name": "site", "value": "a"}, {"name": "site", "value": "b"}]),
        ["body", "tags"],
        "value_error.tags.not_unique",
    ),
    (
        "tag without value",
        _body(tags=[{"name": "site"}]),
        ["body", "tags", 0, "value"],
        "value_error.missing",
    ),
    (
        "tag value a number",
        _body(tags=[{"name": "site", "value": 7}]),
        ["body", "tags", 0, "value"],
        "type_error.str",
    ),
    ("tag not an object", _body(tags=["site=a"]), ["body", "tags", 0], "type_error.dict"),
    ("deleteData a string", _body(deleteData="true"), ["body", "deleteData"], "type_error.bool"),
    (
        "dataToDelete a string",
        _body(dataToDelete="all"),
        ["body", "dataToDelete"],
        "type_error.list",
    ),
    (
        "dataToDelete of numbers",
        _body(dataToDelete=[1]),
        ["body", "dataToDelete", 0],
        "type_error.str",
    ),
]


@pytest.mark.parametrize(("case", "body", "loc", "kind"), INVALID, ids=[c[0] for c in INVALID])
async def test_invalid_create_body_is_422_with_fastapi_detail(
    api: Api, case: str, body: object, loc: list[str | int], kind: str
) -> None:
    """§7: 422 {"detail": [{"loc": [...], "msg": str, "type": str}]}; no run is created."""
    status, payload = await _post(api, body)
    assert status == 422, case
    assert [(d["loc"], d["type"]) for d in payload["detail"]] == [(loc, kind)]
    assert isinstance(payload["detail"][0]["msg"], str)
    assert api.sandbox.runs_created() == 0


async def test_activity_create_validates_the_same_way(api: Api) -> None:
    """§2.4: E3 takes the same body as E2, with the same validation."""
    status, payload = await _post(api, _body(user__birthSex="UNSPECIFIED"), ACTIVITY)
    assert status == 422
    assert payload["detail"][0]["loc"] == ["body", "user", "birthSex"]


async def test_several_errors_are_reported_together(api: Api) -> None:
    """FastAPI reports every invalid field at once."""
    status, payload = await _post(api, _body(user__birthSex="X", language="english", accent=1))
    assert status == 422
    assert [d["loc"] for d in payload["detail"]] == [
        ["body", "user", "birthSex"],
        ["body", "language"],
        ["body", "accent"],
    ]


@pytest.mark.parametrize(
    ("raw", "loc"),
    [(b"", ["body"]), (b"{not json", ["body", 1]), (b"\xff\xfe", ["body", 0])],
    ids=["empty", "broken-json", "not-utf8"],
)
async def test_unparseable_body_is_422(api: Api, raw: bytes, loc: list[str | int]) -> None:
    """§7: a missing or non-JSON body is a body-level 422 too (never 400, §9.1)."""
    async with api.session.post(
        api.sandbox.base_url + CREATE,
        data=raw,
        headers={**api.headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 422
        detail = (await response.json())["detail"]
    assert detail[0]["loc"] == loc


@pytest.mark.parametrize(
    "body",
    [
        MINIMAL_BODY,
        FULL_BODY,
        _body(user__userLabel="x" * 50, tags=[{"name": f"t{i}", "value": ""} for i in range(20)]),
        _body(accent=None, sleepTime=None, tags=None, deleteData=None, dataToDelete=None),
        _body(somethingNew={"nested": True}),
        _body(language="pt-BR", user__birthSex="INTERSEX", user__dateOfBirth="1990-01-01"),
    ],
    ids=["minimal", "full", "limits", "nulls", "unknown-key", "other-values"],
)
async def test_valid_bodies_create_a_run(api: Api, body: dict[str, Any]) -> None:
    """§2.3: valid bodies (limits included, nulls for optionals, unknown keys ignored) -> 200
    {"id", "recordingUploadUrl"} with the URL on the storage host (D16)."""
    status, payload = await _post(api, body)
    assert status == 200, payload
    assert set(payload) == {"id", "recordingUploadUrl"}
    assert payload["recordingUploadUrl"].startswith(api.sandbox.storage_url + "/")
    assert payload["id"] in payload["recordingUploadUrl"]
    run_status, run = await api.get(payload["id"])
    assert run_status == 200
    assert run["deleteData"] is (body.get("deleteData") is True)
