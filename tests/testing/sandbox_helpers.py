"""Helpers for the sandbox tests: a movable clock and raw-HTTP calls against a Sandbox.

The tests talk to the sandbox with a plain ``aiohttp.ClientSession`` (never the client
library), so they check the server's behaviour against ``helios-api.md`` on its own.
"""

from __future__ import annotations

import datetime
from typing import Any

import aiohttp
import yarl

from helios_async.testing import Sandbox

START = datetime.datetime(2026, 3, 26, 9, 30, 5, tzinfo=datetime.UTC)
MINIMAL_BODY: dict[str, Any] = {  # helios-api.md §7, the documented minimal create body
    "user": {
        "userLabel": "42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
        "dateOfBirth": "1990-08-24",
        "birthSex": "MALE",
    },
    "language": "en-GB",
}


class FakeClock:
    """An aware UTC clock that moves only when told to."""

    def __init__(self, now: datetime.datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


class Api:
    """Thin raw-HTTP helpers over a session and a sandbox (no client library involved)."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session = session
        self.sandbox = sandbox

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.sandbox.api_key}

    async def create(self, label: str = "operator-1234", **extra: Any) -> dict[str, Any]:
        """POST E2 with the minimal body (plus ``extra``); asserts 200 and returns the JSON."""
        body = {**MINIMAL_BODY, "user": {**MINIMAL_BODY["user"], "userLabel": label}, **extra}
        async with self.session.post(
            f"{self.sandbox.base_url}/v1/models/mental-wellness", json=body, headers=self.headers
        ) as response:
            assert response.status == 200, await response.text()
            payload: dict[str, Any] = await response.json()
            return payload

    async def upload(self, url: str, data: bytes, content_type: str = "audio/ogg") -> int:
        """PUT ``data`` to a presigned URL exactly as given (D14); returns the status."""
        async with self.session.put(
            yarl.URL(url, encoded=True), data=data, headers={"Content-Type": content_type}
        ) as response:
            await response.read()
            return response.status

    async def get(self, run_id: str, *, legacy: bool = False) -> tuple[int, Any]:
        """GET E4 (or the legacy E5 path); returns (status, JSON body)."""
        path = f"/v1/models/{run_id}" if legacy else f"/v1/models/mental-wellness/{run_id}"
        async with self.session.get(self.sandbox.base_url + path, headers=self.headers) as response:
            return response.status, await response.json()

    async def run_with(self, data: bytes, label: str = "operator-1234") -> dict[str, Any]:
        """Create, upload ``data`` and return the run JSON as of now (delay 0: terminal)."""
        created = await self.create(label)
        assert await self.upload(created["recordingUploadUrl"], data) == 200
        status, run = await self.get(created["id"])
        assert status == 200
        return dict(run)
