"""An aiohttp.web service that scores recordings with Helios, one client for its lifetime.

``POST /checks?user_label=..&date_of_birth=YYYY-MM-DD&birth_sex=FEMALE&language=en-GB`` with
the recording as the request body runs a whole wellness check (create, upload, wait) and
answers the scores. The recording and every field are checked before a run is created, so a
bad request costs no model run. If the check outlives the service's deadline the answer is
``504`` with the ``run_id``, and ``GET /checks/{run_id}`` reads that run later (one GET, no
waiting): processing normally takes 30 to 120 s.

Serve it against the real API (``THYMIA_API_KEY`` in the environment)::

    python examples/aiohttp_app.py            # http://127.0.0.1:8080

or try it once against an embedded sandbox::

    python examples/aiohttp_app.py --sandbox
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from helios_async import (
    APIError,
    AuthenticationError,
    DeadlineExceededError,
    HeliosClient,
    InvalidInputError,
    ModelRun,
    ModelRunFailedError,
    NotFoundError,
    OutcomeUnknownError,
    TransientAPIError,
    TransportError,
    UploadError,
    User,
)

HELIOS = web.AppKey("helios", HeliosClient)
DEADLINE = web.AppKey("deadline", float)
MAX_RECORDING_BYTES = 64 << 20  # a 3-minute WAV at 48 kHz stereo is about 35 MB


def create_app(
    base_url: str | None = None, api_key: str | None = None, *, deadline: float = 150.0
) -> web.Application:
    """The service. ``base_url``/``api_key`` of None come from the environment;
    ``deadline`` is the seconds one ``POST /checks`` may take."""
    app = web.Application(client_max_size=MAX_RECORDING_BYTES)
    app[DEADLINE] = deadline

    async def helios_client(app: web.Application) -> AsyncIterator[None]:
        # One client (one connection pool) for the app's lifetime, closed on shutdown.
        async with HeliosClient(api_key, base_url=base_url) as client:
            app[HELIOS] = client
            yield

    app.cleanup_ctx.append(helios_client)
    app.router.add_post("/checks", run_check)
    app.router.add_get("/checks/{run_id}", read_check)
    return app


async def run_check(request: web.Request) -> web.Response:
    client = request.app[HELIOS]
    query = request.query
    try:
        user = User(
            user_label=query.get("user_label", ""),
            date_of_birth=_date(query.get("date_of_birth", "")),
            birth_sex=query.get("birth_sex", ""),
        )
        run = await client.run_wellness_check(
            await request.read(),
            user=user,
            language=query.get("language", ""),
            deadline=request.app[DEADLINE],
        )
    except InvalidInputError as exc:  # includes RecordingError: nothing was sent
        return _problem(422, str(exc), field=exc.field)
    except ModelRunFailedError as exc:  # the model could not score this recording
        return web.json_response(run_summary(exc.run), status=422)
    except DeadlineExceededError as exc:  # still processing: the caller can come back
        return _problem(504, str(exc), run_id=exc.model_run_id or "")
    except AuthenticationError:  # our key is wrong: a server-side problem, not the caller's
        return _problem(500, "the service is misconfigured")
    except (TransientAPIError, TransportError) as exc:  # already retried by the client
        return _problem(503, str(exc))
    except (OutcomeUnknownError, UploadError, APIError) as exc:  # a run may exist: never resubmit
        return _problem(502, str(exc))
    return web.json_response(run_summary(run))


async def read_check(request: web.Request) -> web.Response:
    client = request.app[HELIOS]
    try:
        run = await client.get_model_run(request.match_info["run_id"])
    except InvalidInputError as exc:  # not a UUID
        return _problem(404, str(exc))
    except NotFoundError:  # unknown, or deleted after delete_data
        return _problem(404, "no such check")
    except (TransientAPIError, TransportError) as exc:
        return _problem(503, str(exc))
    except APIError as exc:
        return _problem(502, str(exc))
    return web.json_response(run_summary(run))


def run_summary(run: ModelRun) -> dict[str, Any]:
    """What the service answers about a run: status, scores when done, the error code if not."""
    section = run.section
    return {
        "run_id": run.id,
        "status": run.status.value,
        "finished": run.is_finished,
        "scores": section.scores if section is not None else None,
        "error_code": run.error_code.value if run.error_code is not None else None,
        "warnings": list(run.warnings),
    }


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError("date_of_birth", "must be a YYYY-MM-DD date") from None


def _problem(status: int, detail: str, **extra: str) -> web.Response:
    return web.json_response({"detail": detail, **extra}, status=status)


async def main(base_url: str | None, api_key: str | None) -> dict[str, Any]:
    """Start the service on a free port, post the bundled sample to it and return the
    answer."""
    from helios_async.testing import sample_recording

    runner = web.AppRunner(create_app(base_url, api_key), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        service = f"http://127.0.0.1:{runner.addresses[0][1]}"
        params = {
            "user_label": "aiohttp-example",
            "date_of_birth": "1990-08-24",
            "birth_sex": "FEMALE",
            "language": "en-GB",
        }
        async with (
            aiohttp.ClientSession(service) as http,
            http.post("/checks", params=params, data=sample_recording().read_bytes()) as answer,
        ):
            answer.raise_for_status()
            summary: dict[str, Any] = await answer.json()
        print(summary)
        return summary
    finally:
        await runner.cleanup()


async def _demo_on_sandbox() -> None:
    from helios_async.testing import Sandbox

    async with Sandbox(processing_delay=1.0) as sandbox:
        await main(sandbox.base_url, sandbox.api_key)


if __name__ == "__main__":
    if "--sandbox" in sys.argv:
        asyncio.run(_demo_on_sandbox())
    else:
        web.run_app(
            create_app(os.environ.get("THYMIA_BASE_URL"), os.environ.get("THYMIA_API_KEY")),
            host="127.0.0.1",
            port=8080,
        )
