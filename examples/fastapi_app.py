"""A FastAPI service that scores recordings with Helios, one client for its lifetime.

Needs fastapi and httpx: ``pip install 'helios-async[examples]'`` (and an ASGI server such as
uvicorn to serve it).

The same two routes as ``aiohttp_app.py``: ``POST /checks`` (query: ``user_label``,
``date_of_birth``, ``birth_sex``, ``language``; body: the recording) runs a whole wellness
check and answers the scores, or ``504`` with the ``run_id`` if the check outlives the
service's deadline; ``GET /checks/{run_id}`` reads a run once, without waiting.

The client lives in the app's lifespan and reaches handlers through a dependency, so a test
can swap it with ``app.dependency_overrides[helios] = ...``. Serve it with any ASGI server::

    THYMIA_API_KEY=... uvicorn examples.fastapi_app:app

or try it once, in-process, against an embedded sandbox::

    python examples/fastapi_app.py --sandbox
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from helios_async import (
    APIError,
    AuthenticationError,
    BirthSex,
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


class CheckStatus(BaseModel):
    run_id: str
    status: str
    finished: bool
    scores: dict[str, float] | None
    error_code: str | None
    warnings: list[str]

    @classmethod
    def of(cls, run: ModelRun) -> CheckStatus:
        section = run.section
        return cls(
            run_id=run.id,
            status=run.status.value,
            finished=run.is_finished,
            scores=section.scores if section is not None else None,
            error_code=run.error_code.value if run.error_code is not None else None,
            warnings=list(run.warnings),
        )


def create_app(
    base_url: str | None = None, api_key: str | None = None, *, deadline: float = 150.0
) -> FastAPI:
    """The service. ``base_url``/``api_key`` of None come from the environment;
    ``deadline`` is the seconds one ``POST /checks`` may take."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        # One client (one connection pool) for the app's lifetime, closed on shutdown.
        async with HeliosClient(api_key, base_url=base_url) as client:
            app.state.helios = client
            yield

    app = FastAPI(title="wellness checks", lifespan=lifespan)
    app.state.deadline = deadline
    app.post("/checks", response_model=CheckStatus)(run_check)
    app.get("/checks/{run_id}")(read_check)
    return app


def helios(request: Request) -> HeliosClient:
    """The app's client, as a dependency."""
    client: HeliosClient = request.app.state.helios
    return client


Helios = Annotated[HeliosClient, Depends(helios)]


async def run_check(
    request: Request,
    client: Helios,
    user_label: str,
    date_of_birth: dt.date,
    birth_sex: BirthSex,
    language: str = "en-GB",
) -> CheckStatus | JSONResponse:
    try:
        user = User(user_label=user_label, date_of_birth=date_of_birth, birth_sex=birth_sex)
        run = await client.run_wellness_check(
            await request.body(),
            user=user,
            language=language,
            deadline=request.app.state.deadline,
        )
    except InvalidInputError as exc:  # includes RecordingError: nothing was sent
        raise HTTPException(422, detail=str(exc)) from exc
    except ModelRunFailedError as exc:  # the model could not score this recording
        return JSONResponse(CheckStatus.of(exc.run).model_dump(), status_code=422)
    except DeadlineExceededError as exc:  # still processing: the caller can come back
        return JSONResponse({"detail": str(exc), "run_id": exc.model_run_id}, status_code=504)
    except AuthenticationError as exc:  # our key is wrong: not the caller's fault
        raise HTTPException(500, detail="the service is misconfigured") from exc
    except (TransientAPIError, TransportError) as exc:  # already retried by the client
        raise HTTPException(503, detail=str(exc)) from exc
    except (OutcomeUnknownError, UploadError, APIError) as exc:  # a run may exist: never resubmit
        raise HTTPException(502, detail=str(exc)) from exc
    return CheckStatus.of(run)


async def read_check(run_id: str, client: Helios) -> CheckStatus:
    try:
        run = await client.get_model_run(run_id)
    except (InvalidInputError, NotFoundError) as exc:  # not a UUID; unknown or deleted
        raise HTTPException(404, detail="no such check") from exc
    except (TransientAPIError, TransportError) as exc:
        raise HTTPException(503, detail=str(exc)) from exc
    except APIError as exc:
        raise HTTPException(502, detail=str(exc)) from exc
    return CheckStatus.of(run)


async def main(base_url: str | None, api_key: str | None) -> dict[str, Any]:
    """Drive the app in-process (its lifespan included) through httpx: post the bundled
    sample and return the answer."""
    from helios_async.testing import sample_recording

    app = create_app(base_url, api_key)
    params = {
        "user_label": "fastapi-example",
        "date_of_birth": "1990-08-24",
        "birth_sex": "FEMALE",
        "language": "en-GB",
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http,
    ):
        answer = await http.post("/checks", params=params, content=sample_recording().read_bytes())
        answer.raise_for_status()
        summary: dict[str, Any] = answer.json()
    print(summary)
    return summary


async def _demo_on_sandbox() -> None:
    from helios_async.testing import Sandbox

    async with Sandbox(processing_delay=1.0) as sandbox:
        await main(sandbox.base_url, sandbox.api_key)


# For `uvicorn examples.fastapi_app:app`: the client is made when the app starts up, from
# THYMIA_API_KEY and THYMIA_BASE_URL or THYMIA_REGION.
app = create_app()

if __name__ == "__main__":
    if "--sandbox" in sys.argv:
        asyncio.run(_demo_on_sandbox())
    else:
        print("serve it with an ASGI server: uvicorn examples.fastapi_app:app", file=sys.stderr)
