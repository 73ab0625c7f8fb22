"""Upload benchmark: a 500 MB recording through ``HeliosClient.upload_recording``, against raw
aiohttp streaming the same file, and against a bare ``sendfile`` that shows what the
sandbox's storage host can take in at most (issue 4).

Run by hand::

    python benchmarks/upload.py [--size-mb 500] [--rounds 2]

A WAV of ``--size-mb`` MB (16-bit mono noise) is written to a temporary folder and deleted
afterwards. The sandbox (bodies not recorded; it spools each upload to a temporary file and
hashes it, as object storage would) runs in a process of its own; each upload runs in a
fresh child process, to a fresh run's presigned URL. ``upload_recording`` runs with
``check_duration=False``: a 500 MB WAV is hours long and would be refused locally (D9).

Prints one line: MB/s of each side, helios' ratio to raw aiohttp, the ceiling the bare
sendfile reaches (if the sides reach it, the sandbox is what limits them), each side's peak
RSS growth during the upload (target < 32 MB for helios) and the sandbox's CPU share.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

import aiohttp
from _support import (
    Server,
    big_wav,
    cpu_seconds,
    load,
    own_cpu_seconds,
    peak_rss_mb,
    ratio,
    report,
    run_child,
)
from yarl import URL


async def helios_upload(url: str, path: Path, base_url: str, key: str) -> float:
    from helios_async import HeliosClient

    async with HeliosClient(key, base_url=base_url) as client:
        started = time.perf_counter()
        await client.upload_recording(url, path, check_duration=False)
        return time.perf_counter() - started


async def raw_upload(url: str, path: Path, base_url: str, key: str) -> float:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        with path.open("rb") as stream:
            async with session.put(
                URL(url, encoded=True), data=stream, headers={"Content-Type": "audio/wav"}
            ) as response:
                await response.read()
                assert response.status == 200, response.status
        return time.perf_counter() - started


async def sendfile_upload(url: str, path: Path, base_url: str, key: str) -> float:
    """HTTP/1.1 by hand: the headers, then the file with ``sendfile``; no client work."""
    target = URL(url, encoded=True)
    loop = asyncio.get_running_loop()
    size = (await asyncio.to_thread(path.stat)).st_size
    with socket.create_connection((target.host, target.port)) as sock, path.open("rb") as stream:
        sock.setblocking(False)
        started = time.perf_counter()
        head = (
            f"PUT {target.raw_path_qs} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            f"Content-Type: audio/wav\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        )
        await loop.sock_sendall(sock, head.encode())
        await loop.sock_sendfile(sock, stream)
        answer = b""
        while chunk := await loop.sock_recv(sock, 65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        return time.perf_counter() - started


SIDES = {"helios": helios_upload, "raw": raw_upload, "sendfile": sendfile_upload}


async def child(side: str, url: str, path: Path, base_url: str, key: str, pid: int) -> None:
    # Everything imported and set up before the baseline: only the upload is measured.
    import helios_async  # noqa: F401

    baseline = peak_rss_mb()
    server_before, cpu_before = cpu_seconds(pid), own_cpu_seconds()
    elapsed = await SIDES[side](url, path, base_url, key)
    report(
        side=side,
        elapsed=elapsed,
        cpu=own_cpu_seconds() - cpu_before,
        server_cpu=cpu_seconds(pid) - server_before,
        rss_growth_mb=peak_rss_mb() - baseline,
    )


async def new_run(base_url: str, key: str) -> str:
    body = {
        "user": {"userLabel": "bench", "dateOfBirth": "1990-08-24", "birthSex": "MALE"},
        "language": "en-GB",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/v1/models/mental-wellness", json=body, headers={"x-api-key": key}
        ) as response,
    ):
        return str((await response.json())["recordingUploadUrl"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        asyncio.run(child(args.side, args.url, args.path, args.base_url, args.key, args.server_pid))
        return

    size = args.size_mb * 1_000_000
    with tempfile.TemporaryDirectory() as folder, Server("_sandbox_server.py") as sandbox:
        path = big_wav(Path(folder) / "big.wav", size)
        base_url, key = sandbox.info["base_url"], sandbox.info["api_key"]

        def side(name: str) -> dict[str, float]:
            return run_child(  # type: ignore[no-any-return]
                "upload.py",
                "--side", name,
                "--url", asyncio.run(new_run(base_url, key)),
                "--path", str(path),
                "--base-url", base_url,
                "--key", key,
                "--server-pid", str(sandbox.pid),
            )  # fmt: skip

        results: dict[str, list[dict[str, float]]] = {name: [] for name in SIDES}
        for _ in range(args.rounds):
            for name in SIDES:
                results[name].append(side(name))

    best = {name: min(rounds, key=lambda r: r["elapsed"]) for name, rounds in results.items()}
    mbps = {name: size / 1e6 / f["elapsed"] for name, f in best.items()}
    growth = {name: max(r["rss_growth_mb"] for r in rounds) for name, rounds in results.items()}
    share = {name: f["server_cpu"] / f["elapsed"] for name, f in best.items()}
    client_share = {name: f["cpu"] / f["elapsed"] for name, f in best.items()}
    cpu_per_gb = {name: f["cpu"] / (size / 1e9) for name, f in best.items()}
    print(
        f"upload: {args.size_mb} MB WAV, best of {args.rounds}: helios {mbps['helios']:.0f} MB/s, "
        f"raw aiohttp {mbps['raw']:.0f} MB/s, ratio {ratio(mbps['helios'], mbps['raw']):.2f}; "
        f"client CPU per GB helios {cpu_per_gb['helios']:.2f} s, raw {cpu_per_gb['raw']:.2f} s, "
        f"CPU-bound ratio {ratio(cpu_per_gb['raw'], cpu_per_gb['helios']):.2f}; "
        f"bare sendfile (the sandbox's intake ceiling) {mbps['sendfile']:.0f} MB/s; peak RSS "
        f"growth helios {growth['helios']:.1f} MB (target < 32), raw {growth['raw']:.1f} MB; "
        f"CPU share of one core client/sandbox: helios {client_share['helios']:.0%}/"
        f"{share['helios']:.0%}, raw {client_share['raw']:.0%}/{share['raw']:.0%}, sendfile "
        f"{client_share['sendfile']:.0%}/{share['sendfile']:.0%}; {load()}"
    )


if __name__ == "__main__":
    main()
