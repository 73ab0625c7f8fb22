"""The error tree as data: its documented shape, and what each error carries (§1.5, D13)."""

from __future__ import annotations

import builtins
import datetime as dt
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from multidict import CIMultiDict

import helios_async
import helios_async._errors as errors_module
from helios_async import (
    DeadlineExceededError,
    DecodeError,
    HeliosError,
    InvalidInputError,
    ModelRun,
    ModelRunFailedError,
    ModelRunStatus,
    OutcomeUnknownError,
    UploadError,
    UploadURLExpiredError,
)
from helios_async._decoding import error_for_status
from helios_async._models import ErrorCode

NO_HEADERS: CIMultiDict[str] = CIMultiDict()


def _tree_from_docstring() -> list[tuple[str, str | None, list[str]]]:
    """(class, parent, extra bases) for each line of the tree in ``_errors``' docstring."""
    doc = errors_module.__doc__ or ""
    entries: list[tuple[str, str | None, list[str]]] = []
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(
            r"^(?P<indent>[\s│├└─]*?)(?P<name>[A-Z]\w+)(?: \((?P<bases>[\w, ]+)\))?", line
        )
        if not match or not hasattr(errors_module, match["name"]):
            continue
        depth = len(match["indent"])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        bases = [b.strip() for b in match["bases"].split(",")] if match["bases"] else []
        entries.append((match["name"], parent, bases))
        stack.append((depth, match["name"]))
    return entries


TREE = _tree_from_docstring()


def test_the_docstring_tree_is_parsed_and_rooted_at_helios_error():
    """The module docstring documents the one error tree; it must be readable as such."""
    assert TREE[0] == ("HeliosError", None, [])
    assert len(TREE) >= 15
    assert all(parent is not None for _, parent, _ in TREE[1:])


@pytest.mark.parametrize(("name", "parent", "bases"), TREE[1:], ids=[e[0] for e in TREE[1:]])
def test_each_error_class_sits_where_the_documented_tree_puts_it(name, parent, bases):
    """Every class in the docstring tree subclasses its parent and its listed builtins."""
    cls = getattr(errors_module, name)
    assert issubclass(cls, getattr(errors_module, parent))
    for base in bases:
        assert issubclass(cls, getattr(builtins, base))


def test_every_helios_error_subclass_in_the_module_is_in_the_documented_tree():
    """No error class is left out of the tree users read."""
    documented = {name for name, _, _ in TREE}
    defined = {
        name
        for name, obj in vars(errors_module).items()
        if inspect.isclass(obj) and issubclass(obj, HeliosError)
    }
    assert defined == documented


def _tree_lines(text: str) -> list[str]:
    """The lines of the tree drawing that starts at ``HeliosError`` in ``text``, markup and
    indentation removed."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index("HeliosError")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i] or lines[i] == "```")
    return [" ".join(line.replace("``", "").split()) for line in lines[start:end]]


def test_the_readme_draws_the_same_error_tree_as_the_docstring():
    """The README's "Errors" tree is the module's tree, line for line (no stale copy)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert _tree_lines(readme) == _tree_lines(errors_module.__doc__ or "")


def test_every_helios_error_in_the_package_is_defined_in_the_errors_module():
    """No module outside ``_errors`` grows its own error class, off the drawn tree."""
    names = [
        info.name
        for info in pkgutil.walk_packages(helios_async.__path__, "helios_async.")
        if not info.name.endswith(".__main__")  # importing it runs the command line
    ]
    outside = [
        f"{name}.{attr}"
        for name in names
        for attr, obj in vars(importlib.import_module(name)).items()
        if inspect.isclass(obj) and issubclass(obj, HeliosError) and obj.__module__ == name
        if name != errors_module.__name__
    ]
    assert len(names) > 40
    assert outside == []


# --- the other errors ------------------------------------------------------------------------


def test_invalid_input_error_names_field_and_rule_and_is_a_value_error():
    error = InvalidInputError("user.user_label", "must not be empty")
    assert isinstance(error, ValueError)
    assert (error.field, error.rule) == ("user.user_label", "must not be empty")
    assert str(error) == "user.user_label: must not be empty"


def test_decode_error_attaches_the_body_and_quotes_its_start():
    body = b"<html>" + b"x" * 1000
    error = DecodeError("bad", body=body)
    assert error.body == body
    assert str(error).startswith("bad; body starts '<html>xxx")
    assert str(error).endswith("…'")
    assert len(str(error)) < 400
    assert str(DecodeError("bad", body=b"")) == "bad"


def test_decode_error_never_quotes_a_json_body():
    """The API's JSON holds user labels and transcripts: the message gives its size only."""
    body = b'{"id": "r1", "userLabel": "person-1", "results": {"transcript": "hello"' + b" " * 9
    error = DecodeError("bad", body=body)
    assert error.body == body
    assert (
        str(error)
        == f"bad; a JSON body of {len(body)} bytes (not shown: it may hold personal data)"
    )


def test_upload_error_shows_only_the_code_and_message_of_storage_xml():
    """S3 echoes the signature and the credential in its error document."""
    body = (
        b'<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request '
        b"signature we calculated does not match</Message><AWSAccessKeyId>AKIA1</AWSAccessKeyId>"
        b"<SignatureProvided>sig-123</SignatureProvided></Error>"
    )
    message = str(UploadURLExpiredError(403, body, model_run_id="r1"))
    assert "SignatureDoesNotMatch The request signature we calculated" in message
    assert "AKIA1" not in message and "sig-123" not in message


@pytest.mark.parametrize(
    ("status", "transient", "cls"),
    [
        (403, False, UploadURLExpiredError),
        (400, False, UploadError),
        (408, True, UploadError),
        (429, True, UploadError),
        (500, True, UploadError),
        (503, True, UploadError),
    ],
)
def test_upload_errors_say_whether_storage_may_accept_the_put_later(status, transient, cls):
    """D14, D16: storage's transient statuses are retryable; an expired URL is not."""
    error = cls(status, b"<Error><Code>X</Code></Error>", model_run_id="run-1")
    assert error.is_transient is transient
    assert error.status == status
    assert "model run run-1" in str(error)
    assert f"HTTP {status}" in str(error)


def test_outcome_unknown_error_keeps_the_label_out_of_its_message():
    """D13: the user is told a run may exist and how to find it (``user_label``); the label
    itself stays out of the message, which logs and spans may carry (issue 12)."""
    cause = error_for_status(503, b"", NO_HEADERS)
    error = OutcomeUnknownError("create_model_run", user_label="operator-1234", cause=cause)
    assert error.operation == "create_model_run"
    assert error.user_label == "operator-1234"
    assert "operator-1234" not in str(error)
    assert ".user_label" in str(error)
    assert "may or may not have created" in str(error)
    assert "HTTP 503" in str(error)


def test_model_run_failed_error_carries_the_code_and_reason():
    """§3.4: the machine-readable code and the debugging reason are on the error."""
    run = ModelRun(
        id="r1",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        status=ModelRunStatus.COMPLETE_ERROR,
        user_label="u",
        error_code=ErrorCode.ERR_RECORDING_TOO_SHORT,
        error_reason="Recording supplied is too short",
    )
    error = ModelRunFailedError(run)
    assert error.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert error.model_run_id == "r1"
    assert error.run is run
    assert "ERR_RECORDING_TOO_SHORT" in str(error)
    assert "Recording supplied is too short" in str(error)


def test_deadline_exceeded_error_reports_phase_budget_and_last_status():
    error = DeadlineExceededError(
        "poll", timeout=2.5, phase_seconds={"create": 0.25, "poll": 2.25}, model_run_id="r1"
    )
    assert isinstance(error, TimeoutError)
    assert error.phase == "poll"
    assert error.last_run is None
    message = str(error)
    assert "2.5 s" in message
    assert "poll phase" in message
    assert "model run r1" in message
    assert "create 0.25 s" in message


def test_errors_pickle_whole_with_their_attributes() -> None:
    """Across a process pool an error keeps its class, message and attributes, whatever
    arguments its constructor takes."""
    import pickle

    from helios_async import ErrorCode, InvalidInputError, ModelRunFailedError, RecordingError
    from helios_async._converter import structure
    from helios_async._models import ModelRun

    refused = pickle.loads(pickle.dumps(InvalidInputError("language", "must be ll-CC")))
    assert type(refused) is InvalidInputError
    assert (refused.field, refused.rule, str(refused)) == (
        "language",
        "must be ll-CC",
        "language: must be ll-CC",
    )
    short = RecordingError("recording", "too short", error_code=ErrorCode.ERR_RECORDING_TOO_SHORT)
    again = pickle.loads(pickle.dumps(short))
    assert (type(again), again.error_code, str(again)) == (
        RecordingError,
        ErrorCode.ERR_RECORDING_TOO_SHORT,
        str(short),
    )
    run = structure(
        {
            "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
            "status": "COMPLETE_ERROR",
            "errorCode": "ERR_INTERNAL",
            "errorReason": "boom",
        },
        ModelRun,
    )
    failed = pickle.loads(pickle.dumps(ModelRunFailedError(run)))
    assert failed.run == run
    assert failed.error_code is ErrorCode.ERR_INTERNAL
    assert str(failed) == str(ModelRunFailedError(run))
