"""``helios-async sandbox``: the sandbox as a server of its own, to point other programs at.

Like stripe-mock: start it, export the two lines it prints, and any client (this one, curl,
code in another language) talks to it as to the real API. It serves until SIGINT or SIGTERM,
then closes its listeners and connections and exits 0.

stdout gets three lines, at once (a script can read them)::

    Helios sandbox: API http://127.0.0.1:8080, uploads http://127.0.0.1:8081
    export THYMIA_BASE_URL=http://127.0.0.1:8080
    export THYMIA_API_KEY=sandbox-...

stderr gets one line per request once answered: the time (UTC), the host (``api`` or
``storage``), the method, the path without its query (so never a URL signature), the status
(``-`` if unanswered) and the fault injected, if any. Never a header, a body or a key.

Memory stays flat over a long life but for the runs, kept as the API keeps them (well under
a kilobyte each; uploads are analysed and dropped, requests are not kept).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any, TextIO

from ._args import EXIT_FAILED, EXIT_OK, delay_arg

__all__ = ["add_sandbox_parser", "sandbox_command"]

DEFAULT_PORT = 8080


def port_arg(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port (0 to 65535): {text!r}")
    return value


def add_sandbox_parser(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="run the local sandbox as a server, until Ctrl-C or SIGTERM",
        description=(
            "Serve the Helios sandbox on HOST:PORT (the API) and HOST:STORAGE_PORT (the "
            "presigned upload URLs), print its base URL and key as export lines, log each "
            "request on stderr, and stop cleanly on SIGINT or SIGTERM (exit 0)."
        ),
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument(
        "--port",
        type=port_arg,
        default=DEFAULT_PORT,
        help=f"the API's port (default {DEFAULT_PORT}; 0: any free port)",
    )
    sandbox.add_argument(
        "--storage-port",
        type=port_arg,
        default=None,
        help="the upload host's port (default PORT + 1; any free port when PORT is 0)",
    )
    sandbox.add_argument(
        "--public-host",
        default=None,
        help="host name clients reach the sandbox by, used in its URLs (default: HOST, or "
        "127.0.0.1 when HOST is 0.0.0.0); in docker-compose, the service's name",
    )
    sandbox.add_argument(
        "--processing-delay",
        type=delay_arg,
        default=0.5,
        metavar="S",
        help="seconds each run stays RUNNING after its upload (default 0.5)",
    )
    sandbox.add_argument(
        "--api-key", default=None, help="the key clients must send (default: a random one)"
    )


async def sandbox_command(args: argparse.Namespace, out: TextIO) -> int:
    """Serve until SIGINT or SIGTERM; 0 then, 1 if the listeners cannot be opened."""
    from helios_async.testing import RecordedRequest, Sandbox

    def log(request: RecordedRequest) -> None:
        status = "-" if request.status is None else str(request.status)
        fault = f" fault={type(request.fault).__name__}" if request.fault is not None else ""
        stamp = request.received_at.strftime("%H:%M:%S.%f")[:-3]
        print(
            f"{stamp} {request.host:<7} {request.method} {request.path} {status}{fault}",
            file=sys.stderr,
            flush=True,
        )

    storage_port = args.storage_port
    if storage_port is None:
        storage_port = args.port + 1 if args.port else 0
    try:
        server = Sandbox(
            api_key=args.api_key,
            processing_delay=args.processing_delay,
            host=args.host,
            port=args.port,
            storage_port=storage_port,
            public_host=args.public_host,
            record_bodies=False,
            keep_requests=False,
            on_request=log,
        )
        await server.start()
    except (OSError, ValueError) as exc:
        print(f"helios-async: cannot start the sandbox on {args.host}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        print(
            f"Helios sandbox: API {server.base_url}, uploads {server.storage_url}\n"
            f"export THYMIA_BASE_URL={server.base_url}\n"
            f"export THYMIA_API_KEY={server.api_key}",
            file=out,
            flush=True,
        )
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await server.close()
    print("helios-async: sandbox stopped", file=sys.stderr)
    return EXIT_OK
