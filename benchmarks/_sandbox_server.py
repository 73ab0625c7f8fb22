"""The sandbox in a process of its own, for the benchmarks (run by ``_support.Server``).

``python benchmarks/_sandbox_server.py [--delay SECONDS]`` starts
``Sandbox(processing_delay=SECONDS, record_bodies=False)`` on 127.0.0.1, prints one JSON line
``{"base_url", "storage_url", "api_key"}`` and serves until SIGTERM or SIGINT.
The request log is cleared every second, so its memory stays flat over long runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from helios_async.testing import Sandbox


async def serve(delay: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Sandbox(processing_delay=delay, record_bodies=False) as sandbox:
        print(
            json.dumps(
                {
                    "base_url": sandbox.base_url,
                    "storage_url": sandbox.storage_url,
                    "api_key": sandbox.api_key,
                }
            ),
            flush=True,
        )
        while not stop.is_set():
            sandbox.requests.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--switch-interval", type=float, default=None)
    args = parser.parse_args()
    if args.switch_interval:
        import sys

        sys.setswitchinterval(args.switch_interval)
    asyncio.run(serve(args.delay))


if __name__ == "__main__":
    main()
