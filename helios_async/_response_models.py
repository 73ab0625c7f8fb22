"""The models of what the API answers: a run, its results and sections, a create's answer,
the account.

The response models (built by the converter, never by hand in a hot path) are unslotted:
the converter sets an instance's attributes in one step, without ``__init__``, which is
about half the cost of a slotted instance's per-attribute stores (a model given a converter
or validator would be built through ``__init__``); what a field must satisfy on the wire,
the converter's hooks judge. Each has ``to_dict()``: the JSON-ready wire form
(:class:`_WireForm`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import attrs

from ._enums import NO_STATUS, ErrorCode, ModelRunStatus
from ._model_methods import ModelMethods
from ._redaction import hidden, signed_url

__all__ = [
    "BUCKETED_SCORES",
    "SCORE_NAMES",
    "Account",
    "ActivityRunCreated",
    "ModelRun",
    "ModelRunCreated",
    "ModelRunResults",
    "Section",
]


class _WireForm(ModelMethods):
    """``to_dict()`` for the models the API answers with (a mixin of no state), and their
    equality, hash and repr (:class:`ModelMethods`)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The model as the API's JSON would carry it, ready for ``json.dumps``.

        camelCase keys as on the wire (``createdAt``, ``mentalStrain``), timestamps as ISO 8601
        strings, enums as their string values, each score as ``{"value": x}``; fields not set
        are ``null``. ``raw`` and ``request_id`` are left out (``raw`` is the JSON as
        received). Reading it back gives an equal model, so it round-trips, and for a
        complete answer it equals what the API sent, unknown fields aside. A presigned URL
        stays the ``str`` that hides its signature in a ``repr``; ``json.dumps`` writes it
        whole.
        """
        from ._converter import unstructure  # the converter imports the models

        return cast(dict[str, Any], unstructure(self))


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class ModelRunCreated(_WireForm):
    """The answer to a create: the run's ``id`` and where to PUT the recording.

    See https://helios-async.readthedocs.io/helios/#create-a-model-run
    """

    id: str
    """The new run's id (a UUID): keep it to read the run later."""
    recording_upload_url: str = attrs.field(repr=False, converter=signed_url)
    """The presigned URL to PUT the recording to, valid for 1 hour, used exactly as given;
    never shown in a repr, since its signature is a credential: a ``str`` whose own
    repr leaves the query string out, so no traceback's locals show it either."""
    request_id: str | None = attrs.field(default=None, eq=False)
    """The request id of the response it came in, if the API sent one."""


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class ActivityRunCreated(_WireForm):
    """The answer to an Activity Plugin create: the run's ``id`` and the activity's link.

    See https://helios-async.readthedocs.io/helios/#create-an-activity-run and
    https://helios-async.readthedocs.io/helios/#activity-link
    """

    id: str
    """The new run's id; poll it once the person has done the activity."""
    activity_link: str = attrs.field(repr=False)
    """The page the person records on, to show in an iframe or a web view."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The answer's JSON as received, since the link's field name is not documented."""
    request_id: str | None = attrs.field(default=None, eq=False)
    """The request id of the response it came in, if the API sent one."""


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Section(_WireForm):
    """One timed section of a recording's results, with its eleven scores.

    The five bucketed scores (``distress``, ``stress``, ``exhaustion``, ``sleep_propensity``,
    ``low_self_esteem``) each take one of 0.0, 0.33, 0.66, 1.0, compared with people of the
    same age, birth sex and language; ``mental_strain`` and the ``uniform_*`` scores are
    continuous in [0, 1]. A bucketed score the API sends between the buckets is kept as
    sent (and logged once per field, without its value); any score outside [0, 1] makes
    the response a DecodeError (see
    https://helios-async.readthedocs.io/helios/#score-values). On the wire each is
    ``{"value": x}``. The repr hides the
    transcript (``transcript=<redacted>``) and shows the rest.

    See https://helios-async.readthedocs.io/helios/#results-and-scores
    """

    start_secs: float
    """Where the section starts, in seconds from the start of the recording."""
    finish_secs: float
    """Where it ends, in seconds from the start of the recording."""
    transcript: str = attrs.field(repr=hidden)
    """The speech of the section, transcribed. Personal: never logged by the client, and
    ``<redacted>`` in the repr."""
    mental_strain: float
    """An overall measure of mental wellness, continuous in [0, 1]; no bucketed form."""
    distress: float
    """Worry and nervousness: one of 0.0, 0.33, 0.66, 1.0."""
    stress: float
    """Feeling wound up, being unable to relax: one of 0.0, 0.33, 0.66, 1.0."""
    exhaustion: float
    """Physical and mental tiredness from work: one of 0.0, 0.33, 0.66, 1.0."""
    sleep_propensity: float
    """How likely the person is to fall asleep if given the chance: one of 0.0, 0.33, 0.66,
    1.0."""
    low_self_esteem: float
    """How little confidence and capability the person feels: one of 0.0, 0.33, 0.66, 1.0."""
    uniform_distress: float
    """``distress`` on a continuous scale, in [0, 1]."""
    uniform_stress: float
    """``stress`` on a continuous scale, in [0, 1]."""
    uniform_exhaustion: float
    """``exhaustion`` on a continuous scale, in [0, 1]."""
    uniform_sleep_propensity: float
    """``sleep_propensity`` on a continuous scale, in [0, 1]."""
    uniform_low_self_esteem: float
    """``low_self_esteem`` on a continuous scale, in [0, 1]."""

    @property
    def scores(self) -> dict[str, float]:
        """The eleven scores by field name, in the API's order (``mental_strain`` first): a
        new dict on each read, ``{"mental_strain": 0.42, "distress": 0.33, ...}``."""
        return {name: getattr(self, name) for name in SCORE_NAMES}


SCORE_NAMES: tuple[str, ...] = tuple(
    a.name
    for a in attrs.fields(Section)
    if a.name not in ("start_secs", "finish_secs", "transcript")
)
BUCKETED_SCORES = frozenset(
    {"distress", "stress", "exhaustion", "sleep_propensity", "low_self_esteem"}
)


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class ModelRunResults(_WireForm):
    """A finished run's results: its sections, today always exactly one.

    See https://helios-async.readthedocs.io/helios/#results-and-scores
    """

    sections: tuple[Section, ...]
    """The timed sections; today one, covering the whole recording."""


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class ModelRun(_WireForm):
    """A model run as ``GET /v1/models/mental-wellness/{id}`` returns it.

    Timestamps are timezone-aware. A field the API left out or sent as null takes the
    default shown. The repr hides the user label and the transcript (``<redacted>``) and
    leaves out ``raw``; the values stay readable as attributes. A run whose status was left
    out or null has ``ModelRunStatus("")`` (not ``is_known``, false as a bool): like an
    unknown status, it is not finished unless ``completed_at`` is set, so polling keeps
    waiting.

    See https://helios-async.readthedocs.io/helios/#read-a-model-run and
    https://helios-async.readthedocs.io/helios/#missing-and-unknown-fields
    """

    id: str
    """The run's id (a UUID)."""
    status: ModelRunStatus = NO_STATUS
    """Where the run is: ``CREATED``, ``RUNNING``, ``COMPLETE_OK`` or ``COMPLETE_ERROR`` (or a
    value the API does not document, kept as received; ``ModelRunStatus("")`` if none was
    sent)."""
    created_at: dt.datetime | None = None  # documented as always set: lenient all the same
    """When the run was created."""
    user_label: str = attrs.field(default="", repr=hidden)
    """The ``user_label`` of the person the run is for; ``<redacted>`` in the repr."""
    delete_data: bool = False
    """Whether the run's data is deleted 12 hours after it finishes."""
    run_at: dt.datetime | None = None
    """When the model started, once the recording had arrived; None while ``CREATED``."""
    completed_at: dt.datetime | None = None
    """When the run finished; None until then."""
    error_reason: str | None = None
    """For ``COMPLETE_ERROR``: a sentence for logs and support, not for end users."""
    warnings: tuple[str, ...] = ()
    """Anything that makes the result less trustworthy; empty when the API sent none."""
    results: ModelRunResults | None = None
    """For ``COMPLETE_OK``: the scores; None otherwise."""
    error_code: ErrorCode | None = None
    """For ``COMPLETE_ERROR``: why, as an :class:`ErrorCode`; None otherwise."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The JSON as received, fields the client does not know included."""
    request_id: str | None = attrs.field(default=None, eq=False)
    """The request id of the response it came in, if the API sent one."""

    @property
    def is_finished(self) -> bool:
        """Whether the run is done: ``COMPLETE_OK`` or ``COMPLETE_ERROR``, or ``completed_at``
        set whatever the status says.

        See https://helios-async.readthedocs.io/helios/#unknown-values
        """
        return (
            self.status in (ModelRunStatus.COMPLETE_OK, ModelRunStatus.COMPLETE_ERROR)
            or self.completed_at is not None
        )

    @property
    def succeeded(self) -> bool:
        """Whether the run ended ``COMPLETE_OK`` with a results section (never without)."""
        return self.status == ModelRunStatus.COMPLETE_OK and self.section is not None

    @property
    def section(self) -> Section | None:
        """The first (today the only) section of the results, or None without results."""
        if self.results is None or not self.results.sections:
            return None
        return self.results.sections[0]


@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Account(_WireForm):
    """The account behind the API key, as ``GET /v1/account`` returns it.

    See https://helios-async.readthedocs.io/helios/#get-account
    """

    id: str
    """The account's id: an opaque string."""
    features: tuple[str, ...] = ()
    """The features enabled for the key."""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The JSON as received; the API may add fields."""
    request_id: str | None = attrs.field(default=None, eq=False)
    """The request id of the response it came in, if the API sent one."""
