"""The sandbox's API host: the Helios REST endpoints (docs/helios.md#endpoints).

Routes (and nothing else: the API has no list or delete route), each with the aiohttp route
name in brackets:

* ``GET /v1/account`` [``account``]
* ``POST /v1/models/mental-wellness`` [``create_run``]
* ``POST /v1/models/mental-wellness-activity`` [``create_activity_run``]
* ``GET /v1/models/mental-wellness/{model_run_id}`` [``get_run``]
* ``GET /v1/models/{model_run_id}``, the legacy alias (docs/helios.md#paths) [``get_run_legacy``]

The JSON is built here from plain dicts with the stdlib ``json`` module, independent of the
client's models, so the sandbox can catch client bugs rather than mirror them.

Request handling is layered as ``aiohttp`` middlewares, outermost first: FastAPI-style
error rendering, the request log, the API-key gate (docs/helios.md#missing-or-wrong-key), then
the route handler. Routes are
named, so the fault-injection middleware (``_inject``) sits between the request log and
the key gate, keyed on ``request.match_info.route.name``.
"""

from __future__ import annotations

import datetime
import json
import typing
import uuid
from collections.abc import Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from helios_async.testing._faults import STALL_RUN
from helios_async.testing._recording import Handler
from helios_async.testing._runs import Run, RunStore
from helios_async.testing._storage import UrlSigner
from helios_async.testing._validation import CreateRequest, ValidationFailed, parse_create_body

__all__ = ["ACCOUNT_FEATURES", "ApiHost", "fastapi_errors", "json_response"]

#: ``features`` of the sandbox account (the real values are account-specific).
ACCOUNT_FEATURES: typing.Final[tuple[str, ...]] = ("mental-wellness", "mental-wellness-activity")
_API_KEY_HEADER: typing.Final[str] = "x-api-key"  # docs/helios.md#authentication
_REQUEST_ID_HEADER: typing.Final[str] = "x-request-id"
_NOT_FOUND: typing.Final[dict[str, str]] = {"detail": "Model run not found"}


def json_response(status: int, payload: object, **headers: str) -> web.Response:
    """A JSON response serialised like Starlette's ``JSONResponse`` (compact, UTF-8)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return web.Response(
        status=status, body=body.encode(), content_type="application/json", headers=headers
    )


@web.middleware
async def fastapi_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render aiohttp's own HTTP errors (unknown route, wrong method, body too large) the
    way FastAPI does: ``{"detail": "Not Found"}``, ``{"detail": "Method Not Allowed"}``."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {name: value for name, value in exc.headers.items() if name == hdrs.ALLOW}
        return json_response(exc.status, {"detail": exc.reason}, **headers)


class ApiHost:
    """Handlers and middlewares of the API listener, over the shared :class:`RunStore`."""

    def __init__(
        self,
        store: RunStore,
        signer: UrlSigner,
        *,
        api_key: str,
        upload_url_ttl: Callable[[], float],
        base_url: Callable[[], str],
        storage_url: Callable[[], str],
    ) -> None:
        self._store = store
        self._signer = signer
        self._api_key = api_key
        self._ttl = upload_url_ttl
        self._base_url = base_url
        self._storage_url = storage_url
        # Stable per key, opaque like the real account id.
        self.account_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"helios-sandbox:{api_key}"))

    def add_routes(self, app: web.Application) -> None:
        router = app.router
        # allow_head=False: FastAPI answers HEAD on a GET route with 405.
        router.add_get("/v1/account", self.account, name="account", allow_head=False)
        router.add_post("/v1/models/mental-wellness", self.create_run, name="create_run")
        router.add_post(
            "/v1/models/mental-wellness-activity",
            self.create_activity_run,
            name="create_activity_run",
        )
        router.add_get(
            "/v1/models/mental-wellness/{model_run_id}",
            self.get_run,
            name="get_run",
            allow_head=False,
        )
        router.add_get(
            "/v1/models/{model_run_id}", self.get_run, name="get_run_legacy", allow_head=False
        )
        app.on_response_prepare.append(self._add_request_id)

    # ------------------------------------------------------------------ middlewares

    def key_gate(self) -> Middleware:
        """No ``x-api-key`` -> 403 ``{"message":"Forbidden"}`` (the API-gateway answer seen in
        practice); a wrong key -> 401 ``{"detail": ...}`` (the documented code). Checked
        before routing, as a gateway does, so unknown paths need a key too
        (docs/helios.md#missing-or-wrong-key)."""

        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            key = request.headers.get(_API_KEY_HEADER, "").strip()
            if not key:
                return json_response(403, {"message": "Forbidden"})
            if key != self._api_key:
                return json_response(401, {"detail": "Invalid API key"})
            return await handler(request)

        return gate

    @staticmethod
    async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
        # Every API response, errors included, carries a fresh id for support requests.
        response.headers.setdefault(_REQUEST_ID_HEADER, str(uuid.uuid4()))

    # ------------------------------------------------------------------ handlers

    async def account(self, request: web.Request) -> web.Response:
        """``GET /v1/account``: ``{"id": str, "features": [str, ...]}``. Any body (e.g. the
        ``{}`` thymia's generated examples send with ``Content-Type: application/json``) is
        ignored."""
        return json_response(200, {"id": self.account_id, "features": [*ACCOUNT_FEATURES]})

    async def create_run(self, request: web.Request) -> web.Response:
        """Create: validate (a FastAPI-style 422), then answer
        ``{"id": uuid, "recordingUploadUrl": url}``."""
        try:
            parsed = parse_create_body(await request.read())
        except ValidationFailed as exc:
            return json_response(422, {"detail": exc.details})
        run = self._new_run(parsed, activity=False, stalled=request.get(STALL_RUN, False))
        url = self._signer.presign(self._storage_url(), run, self._ttl())
        return json_response(200, {"id": run.id, "recordingUploadUrl": url})

    async def create_activity_run(self, request: web.Request) -> web.Response:
        """Activity create: the same body; answers ``{"id": uuid, "activityLink": url}``
        (docs/helios.md#activity-link).

        The sandbox hosts no activity: the link is a placeholder nothing serves. The run
        stays CREATED until the test calls ``Sandbox.complete_activity(run_id)``.
        """
        try:
            parsed = parse_create_body(await request.read())
        except ValidationFailed as exc:
            return json_response(422, {"detail": exc.details})
        run = self._new_run(parsed, activity=True, stalled=request.get(STALL_RUN, False))
        link = f"{self._base_url()}/sandbox-activity/{run.id}"
        return json_response(200, {"id": run.id, "activityLink": link})

    async def get_run(self, request: web.Request) -> web.Response:
        """Read a run (either path): the run as of now (docs/helios.md#read-a-model-run).

        A malformed id is a FastAPI path-validation 422; an unknown id, or a ``deleteData``
        run 12 h after completion, is 404 ``{"detail": "Model run not found"}``.
        """
        try:
            run_id = str(uuid.UUID(request.match_info["model_run_id"]))
        except ValueError:
            detail = {
                "loc": ["path", "model_run_id"],
                "msg": "value is not a valid uuid",
                "type": "type_error.uuid",
            }
            return json_response(422, {"detail": [detail]})
        run = self._store.runs.get(run_id)
        now = self._store.now()
        if run is None or run.deleted_at(now):
            return json_response(404, _NOT_FOUND)
        return json_response(200, run.to_json(now))

    def _new_run(self, parsed: CreateRequest, *, activity: bool, stalled: bool) -> Run:
        now = self._store.now()
        run = Run(
            id=str(uuid.uuid4()),
            created_at=now,
            user_label=parsed.user_label,
            delete_data=parsed.delete_data,
            activity=activity,
            upload_expires_at=None if activity else now + datetime.timedelta(seconds=self._ttl()),
            stalled=stalled,
        )
        self._store.add(run)
        return run
