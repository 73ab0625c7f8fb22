"""The typed models of the Helios API: what a create sends, what the API answers.

All are ``attrs.frozen`` and keyword-only. Field names are snake_case here and camelCase on
the wire; the private converter in ``_converter`` maps them, both ways. They are written in
three modules, re-exported here: the API's enums (``_enums``), what a create sends
(``_request_models``, checked when built) and what the API answers (``_response_models``,
built by the converter, with ``to_dict()``).
"""

from __future__ import annotations

from ._enums import NO_STATUS as NO_STATUS
from ._enums import BirthSex, ErrorCode, ModelRunStatus
from ._request_models import CreateFields, ModelRunRequest, Tag, TagsInput, User
from ._response_models import BUCKETED_SCORES as BUCKETED_SCORES
from ._response_models import SCORE_NAMES as SCORE_NAMES
from ._response_models import (
    Account,
    ActivityRunCreated,
    ModelRun,
    ModelRunCreated,
    ModelRunResults,
    Section,
)

__all__ = [
    "Account",
    "ActivityRunCreated",
    "BirthSex",
    "CreateFields",
    "ErrorCode",
    "ModelRun",
    "ModelRunCreated",
    "ModelRunRequest",
    "ModelRunResults",
    "ModelRunStatus",
    "Section",
    "Tag",
    "TagsInput",
    "User",
]
