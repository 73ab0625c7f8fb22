"""The sandbox's object-storage host: presigned upload URLs and the PUT that uses them.

See docs/helios.md#upload-the-recording and docs/helios.md#sandbox-rules. The real service
hands out presigned object-storage (S3-like) URLs; this host behaves the way such storage
does, so a client's upload code meets the same constraints:

* Only ``PUT`` with a valid signature is accepted; the signature covers the method, the
  path and every query byte before it, so *any* change to the URL (re-quoting ``%2F`` as
  ``/``, reordering parameters, a different run id) is refused with 403
  ``SignatureDoesNotMatch``. The credential contains ``%2F``, which naive URL handling
  (e.g. ``yarl.URL(url)`` without ``encoded=True``) decodes, so only a client that sends
  the URL unchanged (docs/helios.md#upload-rules) succeeds.
* After the URL's expiry (``upload_url_ttl``, one hour by default): 403
  ``AccessDenied`` "Request has expired".
* An ``x-api-key`` header, on any request: 400 ``InvalidRequest``, checked before anything
  else, since the key must never reach storage (docs/helios.md#upload-rules). The answer
  names the header, never its value.
* ``Transfer-Encoding: chunked``: 501 ``NotImplemented``. No ``Content-Length``: 411
  ``MissingContentLength``.
* A signed, unexpired PUT whose ``Content-Type`` is missing or not one of the six the
  contract names (``audio/flac``, ``audio/mpeg``, ``audio/mp4``, ``audio/ogg``,
  ``audio/webm``, ``audio/wav``; compared case-insensitively, parameters such as
  ``; codecs=opus`` allowed): 400 ``InvalidArgument`` with ``ArgumentName`` Content-Type.
  Not a 403: the URL is the same whatever the format, so no signature can pin one type,
  and a 403 would read as "expired or refused, make a new run" when the fix is the header.
  Whether the declared type matches the bytes is not checked here, as storage cannot know:
  the analysis judges the bytes by their content (bytes in no audio format end
  ``ERR_RECORDING_INVALID_FORMAT``).
* Success: 200, empty body, an ``ETag`` (the quoted MD5 of the body, as S3 sends).
* Fault injection (``_faults``) may expire a URL early (``UrlExpired``) or mark the run to
  never finish (``NeverFinishes``); the request keys come from the fault middleware.
* A second PUT to a URL that was already used successfully (the run RUNNING or finished)
  is accepted (200) the way object storage overwrites an object, but it is ignored: the
  run keeps the outcome, ``runAt`` and ``completedAt`` of the first recording; nothing
  restarts. This keeps a client's retry of an upload whose 200 got lost harmless; a
  409 would fail exactly that retry. The rules above still apply to it.

Error bodies are S3-style XML: ``<Error><Code>...</Code><Message>...</Message>...</Error>``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import math
import re
import tempfile
import typing
import uuid
from xml.sax.saxutils import escape

from aiohttp import hdrs, web

from helios_async.testing._faults import EXPIRE_URL, STALL_RUN
from helios_async.testing._recording import BODY_HEAD, BODY_SIZE, RECORDED_BODY_LIMIT
from helios_async.testing._runs import Run, RunStore
from helios_async.testing._scoring import analyse_recording

__all__ = ["SPOOL_MEMORY_LIMIT", "UPLOAD_CONTENT_TYPES", "StorageHost", "UrlSigner", "s3_error"]

#: Uploads larger than this (bytes) are spooled to a temporary file, not held in memory.
SPOOL_MEMORY_LIMIT: typing.Final[int] = 1 << 20
_FLUSH_BYTES: typing.Final[int] = 1 << 20  # body bytes gathered before one write+hash step

_UPLOAD_PATH: typing.Final[re.Pattern[str]] = re.compile(
    r"/helios-sandbox/recordings/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_PREFIX: typing.Final[str] = "X-Sandbox-"
_SIGNATURE_PARAM: typing.Final[str] = f"&{_PREFIX}Signature="
_API_KEY_HEADER: typing.Final[str] = "x-api-key"
#: The upload's accepted media types, one per audio format (docs/helios.md#upload-rules).
UPLOAD_CONTENT_TYPES: typing.Final[frozenset[str]] = frozenset(
    {"audio/flac", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/webm", "audio/wav"}
)


class UrlSigner:
    """Makes and checks presigned URLs: ``<storage>/helios-sandbox/recordings/<run id>?...``.

    Query parameters, in this order (modelled on S3's ``X-Amz-*`` query authentication)::

        X-Sandbox-Algorithm=HMAC-SHA256
        X-Sandbox-Credential=sandbox%2F<yyyymmdd>%2Flocal%2Frecordings%2Fsandbox_request
        X-Sandbox-Date=<yyyymmddThhmmssZ>
        X-Sandbox-Expires=<seconds, rounded up>
        X-Sandbox-Signature=<standard base64 of an HMAC-SHA256, percent-encoded: %2B %2F %3D>
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, method: str, unsigned_target: str) -> str:
        mac = hmac.new(self._secret, f"{method}\n{unsigned_target}".encode(), hashlib.sha256)
        encoded = base64.b64encode(mac.digest()).decode("ascii")
        return encoded.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")

    def presign(self, storage_url: str, run: Run, ttl: float) -> str:
        """The upload URL for ``run``, valid ``ttl`` seconds from its creation."""
        issued = run.created_at.astimezone(datetime.UTC)
        target = (
            f"/helios-sandbox/recordings/{run.id}"
            f"?{_PREFIX}Algorithm=HMAC-SHA256"
            f"&{_PREFIX}Credential=sandbox%2F{issued:%Y%m%d}%2Flocal%2Frecordings"
            "%2Fsandbox_request"
            f"&{_PREFIX}Date={issued:%Y%m%dT%H%M%SZ}"
            f"&{_PREFIX}Expires={math.ceil(ttl)}"
        )
        return f"{storage_url}{target}{_SIGNATURE_PARAM}{self._sign('PUT', target)}"

    def verify(self, method: str, raw_target: str) -> str | None:
        """The run id when ``raw_target`` (path and query as received) is a URL signed for
        ``method``; None when the signature is missing, altered or for something else."""
        unsigned, found, signature = raw_target.rpartition(_SIGNATURE_PARAM)
        if not found or "&" in signature:  # the signature must be the last parameter
            return None
        if not hmac.compare_digest(signature, self._sign(method, unsigned)):
            return None
        match = _UPLOAD_PATH.fullmatch(unsigned.partition("?")[0])
        return None if match is None else match.group(1)


def s3_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    """An S3-style XML error response."""
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")


def _content_type_refusal(request: web.Request) -> web.Response | None:
    """400 ``InvalidArgument`` unless the PUT names one of :data:`UPLOAD_CONTENT_TYPES`."""
    declared = request.headers.get(hdrs.CONTENT_TYPE)
    media_type = (declared or "").partition(";")[0].strip().lower()
    if media_type in UPLOAD_CONTENT_TYPES:
        return None
    return s3_error(
        400,
        "InvalidArgument",
        "The Content-Type must be the recording's audio format, one of "
        f"{', '.join(sorted(UPLOAD_CONTENT_TYPES))}.",
        ArgumentName=hdrs.CONTENT_TYPE,
        ArgumentValue="" if declared is None else declared[:100],
    )


class StorageHost:
    """The request handler of the storage listener (every method, every path)."""

    def __init__(self, store: RunStore, signer: UrlSigner, *, record_bodies: bool) -> None:
        self._store = store
        self._signer = signer
        self._record_bodies = record_bodies

    def add_routes(self, app: web.Application) -> None:
        # One catch-all route: storage answers every request itself, S3-style. The route
        # name lets a later fault-injection middleware target uploads.
        app.router.add_route("*", "/{key:.*}", self.handle, name="upload")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Check the request the way object storage does, then store and analyse the body."""
        if _API_KEY_HEADER in request.headers:
            return s3_error(
                400,
                "InvalidRequest",
                "The API key must never be sent to storage: send the upload without the "
                "x-api-key header.",
                Header=_API_KEY_HEADER,
            )
        if "chunked" in request.headers.get(hdrs.TRANSFER_ENCODING, "").lower():
            return s3_error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                Header="Transfer-Encoding",
            )
        if request.method == "PUT" and request.content_length is None:
            response = s3_error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
            # Without a length any body bytes would be read as a next request: hang up.
            response.force_close()
            return response
        run = self._authorised_run(request)
        if isinstance(run, web.Response):
            return run
        refused = _content_type_refusal(request)
        if refused is not None:
            return refused
        digest, md5, size, spool = await self._receive(request)
        try:
            if not run.started:
                if request.get(STALL_RUN, False):
                    run.stalled = True  # fault injection: NeverFinishes
                outcome = await asyncio.to_thread(
                    analyse_recording,
                    typing.cast(typing.BinaryIO, spool),
                    digest=digest,
                    size=size,
                    forced_error=self._store.forced_errors.get(run.user_label),
                )
                self._store.start(run, outcome)  # a concurrent twin may have won: no-op
        finally:
            spool.close()
        return web.Response(status=200, headers={hdrs.ETAG: f'"{md5}"'})

    def _authorised_run(self, request: web.Request) -> Run | web.Response:
        if f"{_PREFIX}Signature=" not in request.raw_path:
            return s3_error(403, "AccessDenied", "Access Denied")
        run_id = self._signer.verify(request.method, request.raw_path)
        run = None if run_id is None else self._store.runs.get(run_id)
        if run is None or run.upload_expires_at is None:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
            )
        now = self._store.now()
        if request.get(EXPIRE_URL, False) and now < run.upload_expires_at:
            run.upload_expires_at = now  # fault injection: UrlExpired, for good
        if now >= run.upload_expires_at:
            return s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                Expires=f"{run.upload_expires_at:%Y-%m-%dT%H:%M:%SZ}",
                ServerTime=f"{now:%Y-%m-%dT%H:%M:%SZ}",
            )
        return run

    async def _receive(
        self, request: web.Request
    ) -> tuple[bytes, str, int, tempfile.SpooledTemporaryFile[bytes]]:
        """Stream the body into a spooled file, hashing as it goes; memory stays ~2 MiB.

        Returns (SHA-256 digest, MD5 hex, size in bytes, the spooled file). The caller
        closes the file. The first 1 MiB is left on the request for the request log.
        """
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_LIMIT)  # noqa: SIM115
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)  # the S3 ETag convention, not security
        head = bytearray()
        size = 0
        pending = bytearray()

        def absorb(data: bytes) -> None:  # in a worker thread: disk and hashing off the loop
            spool.write(data)
            sha256.update(data)
            md5.update(data)

        try:
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if self._record_bodies and len(head) < RECORDED_BODY_LIMIT:
                    head += chunk[: RECORDED_BODY_LIMIT - len(head)]
                pending += chunk
                if len(pending) >= _FLUSH_BYTES:
                    await asyncio.to_thread(absorb, bytes(pending))
                    pending.clear()
            if pending:
                await asyncio.to_thread(absorb, bytes(pending))
        except BaseException:
            spool.close()
            raise
        finally:
            # Also on a broken upload, so the request log shows how far it got.
            request[BODY_HEAD] = bytes(head)
            request[BODY_SIZE] = size
        return sha256.digest(), md5.hexdigest(), size, spool
