"""Quick start: one wellness check, from recording to scores.

Run it against the real API (key and host from the environment)::

    THYMIA_API_KEY=... python examples/quickstart.py [RECORDING]

or offline against an embedded local sandbox::

    python examples/quickstart.py --sandbox
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from helios_async import HeliosClient, ModelRun, ModelRunFailedError, User
from helios_async.testing import sample_recording


async def main(
    base_url: str | None, api_key: str | None, recording: Path | None = None
) -> ModelRun:
    """Score ``recording`` (default: the bundled 18.4 s sample) and print the scores.

    ``base_url``/``api_key`` of None fall back to ``THYMIA_BASE_URL``/``THYMIA_API_KEY``.
    """
    user = User(
        user_label="quickstart-0001", date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE"
    )
    async with HeliosClient(api_key, base_url=base_url) as client:
        try:
            run = await client.run_wellness_check(
                recording or sample_recording(),
                user=user,
                language="en-GB",
                deadline=300,  # seconds for create + upload + processing, all told
            )
        except ModelRunFailedError as exc:  # the run ended COMPLETE_ERROR
            print(f"the model could not score it: {exc.error_code}: {exc.error_reason}")
            raise
    section = run.section  # a COMPLETE_OK run has exactly one section today
    assert section is not None
    print(f"model run {run.id}: {run.status.value}")
    for name, value in section.scores.items():
        print(f"  {name:<26} {value:.2f}")
    for warning in run.warnings:
        print(f"  warning: {warning}")
    return run


async def _cli(argv: list[str]) -> None:
    paths = [Path(arg) for arg in argv if not arg.startswith("--")]
    recording = paths[0] if paths else None
    if "--sandbox" in argv:
        from helios_async.testing import Sandbox

        async with Sandbox(processing_delay=1.0) as sandbox:
            await main(sandbox.base_url, sandbox.api_key, recording)
    else:
        await main(os.environ.get("THYMIA_BASE_URL"), os.environ.get("THYMIA_API_KEY"), recording)


if __name__ == "__main__":
    asyncio.run(_cli(sys.argv[1:]))
