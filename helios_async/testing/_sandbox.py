"""The :class:`Sandbox`: a local Helios server on two loopback listeners."""

from __future__ import annotations

import asyncio
import datetime
import io
import os
import pathlib
import secrets
import typing
import uuid
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from helios_async.testing._api import ApiHost, fastapi_errors
from helios_async.testing._fault_plan import FaultPlan
from helios_async.testing._inject import fault_injection
from helios_async.testing._recording import RecordedRequest, recording_middleware
from helios_async.testing._runs import RunStore
from helios_async.testing._scoring import analyse_recording, sha256_of
from helios_async.testing._storage import StorageHost, UrlSigner

__all__ = ["Sandbox", "sample_recording"]

_API_BODY_LIMIT: typing.Final[int] = 10 << 20  # an API gateway's 10 MB payload cap
_SHUTDOWN_TIMEOUT: typing.Final[float] = 2.0  # seconds in-flight requests get on close
_LOOPBACK: typing.Final = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def sample_recording() -> pathlib.Path:
    """Path of the shipped sample: 18.4 s of synthesised English speech, Ogg Vorbis.

    It passes every sandbox check, so a run with it ends ``COMPLETE_OK``. The file lives in
    the installed package (``helios_async/testing/_data/speech-en.ogg``).
    """
    return pathlib.Path(__file__).resolve().with_name("_data") / "speech-en.ogg"


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Sandbox:
    """A faithful local stand-in for the Helios API, for tests, benchmarks and demos.

    Two HTTP listeners on ``host``: the API (:attr:`base_url`) and an object-storage host
    (:attr:`storage_url`) that serves the presigned upload URLs, as
    https://helios-async.readthedocs.io/helios/#sandbox-rules describes; on OS-assigned ports
    unless ``port`` and ``storage_port`` fix them. The storage host holds an upload to the
    upload rule (https://helios-async.readthedocs.io/helios/#upload-rules) the way strict
    object storage would, answering S3-style XML: ``x-api-key`` on any request, 400
    ``InvalidRequest`` (checked first; the key is not echoed); chunked, 501; no
    ``Content-Length``, 411; an altered or expired URL, 403; a ``Content-Type`` missing or
    not one of ``audio/flac``, ``audio/mpeg``, ``audio/mp4``, ``audio/ogg``, ``audio/webm``,
    ``audio/wav``, 400 ``InvalidArgument``. A type that disagrees with the bytes is left to
    the analysis, which judges the bytes by their content; a second PUT to a used URL gets
    200 and changes nothing. Refused requests are recorded in :attr:`requests` like any
    other. Use it as an async context manager::

        async with Sandbox() as sandbox:
            client = HeliosClient(sandbox.api_key, base_url=sandbox.base_url)

    Parameters (keyword-only):

    * ``api_key``: the key requests must send as ``x-api-key``; default a random
      ``sandbox-<hex>``.
    * ``processing_delay``: seconds a run stays RUNNING after its recording arrives, by the
      sandbox clock (0: complete as soon as uploaded). Settable later as an attribute.
    * ``upload_url_ttl``: seconds a presigned upload URL stays valid (the API's: one hour).
    * ``clock``: returns the current aware datetime. It stamps ``createdAt``/``runAt``/
      ``completedAt``, expires upload URLs, ends the processing delay and applies the 12 h
      ``deleteData`` rule, so a test can move time without sleeping.
    * ``host``: the address both listeners bind.
    * ``port``, ``storage_port``: the API's and the storage host's TCP ports (0, the default:
      any free port). ``helios-async sandbox`` fixes them to serve other processes.
    * ``public_host``: the host name written into :attr:`base_url`, :attr:`storage_url` and
      so into presigned URLs and activity links: the name clients reach the sandbox by
      (a docker-compose service name, say). Default ``host``, or the loopback address when
      ``host`` is ``0.0.0.0`` or ``::`` (every interface).
    * ``on_request``: called with each :class:`RecordedRequest` once answered (a log line).
    * ``keep_requests``: append each request to :attr:`requests` (False keeps none, so a
      long-running sandbox's memory stays flat; ``on_request`` still sees them).
    * ``record_bodies``: keep up to 1 MiB of each request body in :attr:`requests`
      (False keeps none; sizes are always recorded).
    * ``faults``: the :class:`FaultPlan` to inject faults from (default: an empty plan with
      seed 0). It is :attr:`faults`; add rules to it at any time::

          async with Sandbox(faults=FaultPlan.chaos(seed=3, rate=0.2)) as sandbox: ...
          sandbox.faults.add("upload", UrlExpired(), times=1)

    Run state is derived from timestamps on every read; no background task exists.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        processing_delay: float = 0.0,
        upload_url_ttl: float = 3600.0,
        clock: Callable[[], datetime.datetime] | None = None,
        host: str = "127.0.0.1",
        record_bodies: bool = True,
        faults: FaultPlan | None = None,
        port: int = 0,
        storage_port: int = 0,
        public_host: str | None = None,
        on_request: Callable[[RecordedRequest], None] | None = None,
        keep_requests: bool = True,
    ) -> None:
        for name, number in (("port", port), ("storage_port", storage_port)):
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 65536:
                raise ValueError(f"{name} must be a TCP port, 0 to 65535 (0: any free port)")
        if port and port == storage_port:
            raise ValueError("port and storage_port must differ: they are two listeners")
        if processing_delay < 0:
            raise ValueError("processing_delay must be >= 0 seconds")
        if upload_url_ttl <= 0:
            raise ValueError("upload_url_ttl must be > 0 seconds")
        if api_key is not None and not api_key.strip():
            raise ValueError("api_key must not be empty")
        #: The key requests must carry in ``x-api-key``.
        self.api_key: str = api_key or f"sandbox-{secrets.token_hex(16)}"
        #: Seconds a presigned URL stays valid, applied to runs created afterwards.
        self.upload_url_ttl: float = upload_url_ttl
        #: Every request received on either host, in the order handling finished (for
        #: sequential use, the order sent). Clear it freely between phases of a test.
        self.requests: list[RecordedRequest] = []
        #: The fault plan in force (per route, seeded; see :class:`FaultPlan`). Replaceable.
        self.faults: FaultPlan = faults if faults is not None else FaultPlan()
        self._store = RunStore(clock=clock or _utc_now, processing_delay=processing_delay)
        self._signer = UrlSigner(secrets.token_bytes(32))
        self._host = host
        self._ports = {"api": port, "storage": storage_port}
        self._public_host = public_host or _LOOPBACK.get(host, host)
        self._record_bodies = record_bodies
        self._on_request = on_request
        self._keep_requests = keep_requests
        self._runners: list[web.AppRunner] = []
        self._urls: dict[str, str] = {}
        self._closed = False
        self._closing = asyncio.Event()  # set on close: cuts Slow faults short

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> typing.Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind both listeners on free ports. A sandbox starts once."""
        if self._runners or self._closed:
            raise RuntimeError("a Sandbox can be started only once")
        try:
            for name, app in (("api", self._api_app()), ("storage", self._storage_app())):
                runner = web.AppRunner(
                    app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
                )
                await runner.setup()
                self._runners.append(runner)
                await web.TCPSite(runner, self._host, self._ports[name]).start()
                port = runner.addresses[0][1]
                public = self._public_host
                host = f"[{public}]" if ":" in public else public
                self._urls[name] = f"http://{host}:{port}"
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop both listeners and close every connection. Safe to call more than once.

        Requests paused by a :class:`Slow` fault are dropped unanswered at once; other
        in-flight requests get up to 2 seconds to finish. On return every socket of the
        sandbox is closed and none of its tasks is left.
        """
        self._closed = True
        self._closing.set()
        had_runners = bool(self._runners)
        while self._runners:
            await self._runners.pop().cleanup()
        self._urls.clear()
        if had_runners:
            # Transports close their sockets in a callback scheduled by close(): let it run.
            for _ in range(3):
                await asyncio.sleep(0)

    def _api_app(self) -> web.Application:
        api = ApiHost(
            self._store,
            self._signer,
            api_key=self.api_key,
            upload_url_ttl=lambda: self.upload_url_ttl,
            base_url=lambda: self.base_url,
            storage_url=lambda: self.storage_url,
        )
        log = recording_middleware(
            "api", self._log, clock=self._store.now, record_bodies=self._record_bodies
        )
        faults = fault_injection(lambda: self.faults, host="api", closing=self._closing)
        # Outermost first: a faulted request is logged, and a gateway fault needs no key.
        app = web.Application(
            middlewares=[fastapi_errors, log, faults, api.key_gate()],
            client_max_size=_API_BODY_LIMIT,
        )
        api.add_routes(app)
        return app

    def _storage_app(self) -> web.Application:
        storage = StorageHost(self._store, self._signer, record_bodies=self._record_bodies)
        log = recording_middleware(
            "storage", self._log, clock=self._store.now, record_bodies=self._record_bodies
        )
        faults = fault_injection(lambda: self.faults, host="storage", closing=self._closing)
        app = web.Application(middlewares=[log, faults])
        storage.add_routes(app)
        return app

    def _log(self, request: RecordedRequest) -> None:
        if self._keep_requests:
            self.requests.append(request)
        if self._on_request is not None:
            self._on_request(request)

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>`` of the API listener; pass it to the client."""
        return self._url("api")

    @property
    def storage_url(self) -> str:
        """``http://<host>:<port>`` of the object-storage listener (presigned URLs)."""
        return self._url("storage")

    def _url(self, name: str) -> str:
        try:
            return self._urls[name]
        except KeyError:
            raise RuntimeError(
                "the Sandbox is not running; use 'async with Sandbox() as sandbox:'"
            ) from None

    # ------------------------------------------------------------------ test controls

    @property
    def processing_delay(self) -> float:
        """Seconds a run stays RUNNING after its recording arrives (runs uploaded later)."""
        return self._store.processing_delay

    @processing_delay.setter
    def processing_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("processing_delay must be >= 0 seconds")
        self._store.processing_delay = seconds

    def runs_created(self, user_label: str | None = None) -> int:
        """How many runs were created (either create), for ``user_label`` or in all.

        Counts every run the sandbox made, also those whose create the client never got an
        answer for (fault injection), so ``runs_created(label) > 1`` exposes a duplicate.
        """
        runs = self._store.runs.values()
        if user_label is None:
            return len(runs)
        return sum(1 for run in runs if run.user_label == user_label)

    def run_ids(self, user_label: str | None = None) -> list[str]:
        """The ids of the runs created (either create), oldest first, for ``user_label`` or all.

        Runs whose create was never answered (a :class:`Reset` after the handler, a
        :class:`MalformedJson` 200, a client that timed out) are included: a label with two
        ids here got a duplicate run.
        """
        return [
            run.id
            for run in self._store.runs.values()
            if user_label is None or run.user_label == user_label
        ]

    def runs_started(self, user_label: str | None = None) -> int:
        """How many runs got their recording (and so were processed, or are being), for
        ``user_label`` or in all: the billable runs. A run abandoned in ``CREATED`` (its
        create unanswered, or its URL expired) is created but not started."""
        return sum(
            1
            for run in self._store.runs.values()
            if run.started and (user_label is None or run.user_label == user_label)
        )

    def set_outcome(self, user_label: str, error_code: str | None) -> None:
        """Make runs of ``user_label`` end ``COMPLETE_ERROR`` with ``error_code``.

        Applies to every run of that label whose recording arrives after the call, whatever
        the recording, so each error code is reachable (e.g. ``"ERR_INTERNAL"``). Codes the
        API does not list are allowed too, to test a client's handling of unknown
        codes. ``None`` restores the normal analysis.
        """
        if error_code is None:
            self._store.forced_errors.pop(user_label, None)
        elif not error_code:
            raise ValueError("error_code must not be empty")
        else:
            self._store.forced_errors[user_label] = error_code

    def complete_activity(
        self, run_id: str, recording: str | os.PathLike[str] | bytes | None = None
    ) -> None:
        """Finish the Activity Plugin step of an activity run, as if the user did the activity.

        ``recording`` is a path or the audio bytes (default :func:`sample_recording`). It is
        analysed like an upload: the run goes RUNNING now, terminal after the processing
        delay. Raises ``KeyError`` for an unknown run, ``ValueError`` for a malformed id, a
        run created for an upload, or one that already has its recording.
        """
        run = self._store.runs.get(str(uuid.UUID(run_id)))
        if run is None:
            raise KeyError(run_id)
        if not run.activity:
            raise ValueError(f"run {run_id} was created for upload, not for an activity")
        if run.started:
            raise ValueError(f"run {run_id} already has its recording")
        if isinstance(recording, bytes):
            stream: typing.BinaryIO = io.BytesIO(recording)
        else:
            stream = pathlib.Path(recording or sample_recording()).open("rb")  # noqa: SIM115
        with stream:
            digest, size = sha256_of(stream)
            outcome = analyse_recording(
                stream,
                digest=digest,
                size=size,
                forced_error=self._store.forced_errors.get(run.user_label),
            )
        self._store.start(run, outcome)

    def __repr__(self) -> str:
        where = self._urls.get("api", "closed" if self._closed else "not started")
        return f"<Sandbox {where} runs={len(self._store.runs)}>"
