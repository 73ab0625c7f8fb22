"""The client a command talks through: the real API, or an embedded sandbox (``--sandbox``)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from helios_async import HeliosClient

__all__ = ["command_client"]


@contextlib.asynccontextmanager
async def command_client(
    args: argparse.Namespace, **options: Any
) -> AsyncGenerator[HeliosClient, None]:
    """A client on the real API (``--base-url``, ``--region``), or on an embedded sandbox when
    ``--sandbox`` is given (``processing_delay``, seconds, is how long its runs take)."""
    if getattr(args, "sandbox", False):
        from helios_async.testing import Sandbox

        async with (
            Sandbox(processing_delay=options.pop("processing_delay", 0.5)) as sandbox,
            HeliosClient(sandbox.api_key, base_url=sandbox.base_url, **options) as client,
        ):
            yield client
    else:
        options.pop("processing_delay", None)
        async with HeliosClient(base_url=args.base_url, region=args.region, **options) as client:
            yield client
