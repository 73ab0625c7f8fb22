"""The sans-I/O core, first half: the requests to send, as pure values.

Nothing here touches the network. :class:`Endpoints` builds an :class:`ApiRequest` for every
call, the recording upload included; a :class:`~helios_async.Transport` sends it and returns an
:class:`ApiResponse`, which ``_decoding`` judges.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import uuid
from collections.abc import Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._converter import unstructure
from ._errors import InsecureUploadError, InvalidInputError
from ._model_methods import ModelMethods
from ._models import ModelRunRequest
from ._recording import PreparedRecording, RecordingBody
from ._redaction import personal_bytes
from ._redaction import redact_url as redact_url  # where the layers above look for it

__all__ = ["ApiRequest", "ApiResponse"]

API_KEY_HEADER = "x-api-key"  # docs/helios.md#authentication
JSON = "application/json"
UPLOAD = "upload_recording"
_KEPT_RUNS = 1_024  # GET requests kept per client, one per run id polled (about 0.3 MB)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ApiRequest(ModelMethods):
    """One HTTP request, ready to send: to the API, or the recording upload to storage.

    Headers may carry the key, and the URL a presigned signature, so neither is in the repr.

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    operation: str
    """The client method it belongs to (``"get_model_run"``, ``"upload_recording"``, ...)."""
    method: str
    """The HTTP method."""
    url: str = attrs.field(repr=False)
    """The full URL, sent verbatim, never re-quoted."""
    headers: Mapping[str, str] = attrs.field(repr=False)
    """The request headers (the API key among them, for the API)."""
    body: bytes | RecordingBody | None = attrs.field(default=None, repr=False)
    """None, the bytes of a JSON body (:class:`~._redaction.PersonalBytes`, whose repr
    gives only its size), or a :class:`RecordingBody` a transport re-opens and streams on
    every attempt."""
    idempotent: bool = True
    """Whether sending it twice is harmless (False for the creates)."""
    to_storage: bool = False
    """True for the presigned PUT, which goes to object storage rather than the API: no key,
    its own time limit, and its 429s pause nobody else."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ApiResponse(ModelMethods):
    """A whole HTTP response: status, case-insensitive headers and the full body (bytes).

    ``headers`` must look names up case-insensitively (a ``multidict.CIMultiDict``, as
    aiohttp gives); :class:`helios_async.testing.MockTransport` makes one from a dict.
    """

    status: int
    """The HTTP status."""
    headers: Mapping[str, str] = attrs.field(repr=False)
    """The response headers, looked up case-insensitively."""
    body: bytes = attrs.field(repr=False, converter=personal_bytes)
    """The whole body: :class:`~._redaction.PersonalBytes`, whose repr gives only its size
    (an API body holds labels and transcripts), so no traceback's locals show it."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Endpoints(ModelMethods):
    """Builds the API's requests for one base URL and key (docs/helios.md#endpoints)."""

    base_url: str
    api_key: str = attrs.field(repr=False)
    user_agent: str
    legacy_get_path: bool = False  # GET /v1/models/{id} instead of .../mental-wellness/{id}
    allow_http_upload: bool = False  # an https API's http upload URL is refused unless set

    # Built once: every request of a client carries the same ones (read-only, and of the
    # case-insensitive kind aiohttp uses, so it takes them without a copy).
    _plain_headers: Mapping[str, str] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(
            lambda self: _headers(
                {API_KEY_HEADER: self.api_key, "Accept": JSON, "User-Agent": self.user_agent}
            ),
            takes_self=True,
        ),
    )
    _json_headers: Mapping[str, str] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(
            lambda self: _headers({**self._plain_headers, "Content-Type": JSON}),
            takes_self=True,
        ),
    )
    # The GET of each run polled, built once per run id (see get_model_run).
    _run_gets: dict[str, ApiRequest] = attrs.field(init=False, repr=False, eq=False, factory=dict)

    def _headers(self, *, with_body: bool) -> Mapping[str, str]:
        return self._json_headers if with_body else self._plain_headers

    def get_account(self) -> ApiRequest:
        """``GET /v1/account``."""
        return ApiRequest(
            operation="get_account",
            method="GET",
            url=f"{self.base_url}/v1/account",
            headers=self._headers(with_body=False),
        )

    def create_model_run(self, request: ModelRunRequest) -> ApiRequest:
        """``POST /v1/models/mental-wellness``; not idempotent."""
        return self._create("create_model_run", "/v1/models/mental-wellness", request)

    def create_activity_run(self, request: ModelRunRequest) -> ApiRequest:
        """``POST /v1/models/mental-wellness-activity``; not idempotent."""
        return self._create("create_activity_run", "/v1/models/mental-wellness-activity", request)

    def _create(self, operation: str, path: str, request: ModelRunRequest) -> ApiRequest:
        body = personal_bytes(json.dumps(unstructure(request), separators=(",", ":")).encode())
        return ApiRequest(
            operation=operation,
            method="POST",
            url=f"{self.base_url}{path}",
            headers=self._headers(with_body=True),
            body=body,
            idempotent=False,
        )

    def get_model_run(self, model_run_id: str) -> ApiRequest:
        """``GET /v1/models/mental-wellness/{id}``, or ``GET /v1/models/{id}`` with the legacy path.

        Raises:
            InvalidInputError: the id is not a UUID (the path parameter's format).
        """
        kept = self._run_gets
        if type(model_run_id) is str and (request := kept.get(model_run_id)) is not None:
            return request  # the same id, already checked: the same request, unchanged
        run_id = check_model_run_id(model_run_id)
        prefix = "/v1/models/" if self.legacy_get_path else "/v1/models/mental-wellness/"
        request = ApiRequest(
            operation="get_model_run",
            method="GET",
            url=f"{self.base_url}{prefix}{run_id}",
            headers=self._headers(with_body=False),
        )
        if len(kept) >= _KEPT_RUNS:
            kept.clear()
        kept[model_run_id] = request
        return request

    def upload_recording(
        self, upload_url: str, recording: PreparedRecording, *, model_run_id: str | None = None
    ) -> ApiRequest:
        """The presigned ``PUT`` of a recording to object storage (docs/helios.md#upload-rules).

        The URL is kept verbatim; the headers are the format's ``Content-Type`` and the exact
        ``Content-Length`` in bytes, and never the API key, which must not reach storage.

        Raises:
            InsecureUploadError: the API is https but the URL is http to a host that is not
                loopback, and ``allow_http_upload`` is off; ``model_run_id`` names the run.
        """
        if not self.allow_http_upload and cleartext_upload(self.base_url, upload_url):
            raise InsecureUploadError(redact_url(upload_url), model_run_id=model_run_id)
        return ApiRequest(
            operation=UPLOAD,
            method="PUT",
            url=upload_url,
            headers={"Content-Type": recording.content_type, "Content-Length": str(recording.size)},
            body=RecordingBody(recording=recording),
            to_storage=True,
        )


def _headers(headers: dict[str, str]) -> Mapping[str, str]:
    return CIMultiDictProxy(CIMultiDict(headers))


def check_model_run_id(model_run_id: object) -> str:
    """The id in its canonical spelling, if it is a UUID string (the API's ``format: uuid``).

    Raises:
        InvalidInputError: not a string, or not a UUID.
    """
    if not isinstance(model_run_id, str):
        raise InvalidInputError(
            "model_run_id", f"must be a string, not {type(model_run_id).__name__}"
        )
    try:
        return _canonical_uuid(model_run_id)
    except ValueError:
        raise InvalidInputError(
            "model_run_id",
            f"must be a UUID like 'ddebd75b-99b3-42b4-ac65-5ce852c688e9'; got {model_run_id!r}",
        ) from None


@functools.lru_cache(maxsize=4096)  # a run is polled many times: parse its id once
def _canonical_uuid(text: str) -> str:
    # The canonical spelling, so braces or a urn: prefix never reach the raw path.
    return str(uuid.UUID(text))


def cleartext_upload(base_url: str, upload_url: str) -> bool:
    """Whether an upload to ``upload_url`` would drop the API's TLS: the API root is https,
    the upload URL http, and its host not loopback (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not base_url.lower().startswith("https://"):
        return False
    url = URL(upload_url, encoded=True)
    if url.scheme.lower() != "http":
        return False
    host = (url.host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name, not an address: it could be anywhere
