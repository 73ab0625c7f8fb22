"""Ctrl-C (SIGINT) and SIGTERM while a command runs: what docker, Kubernetes and systemd send
to stop a process is handled like a Ctrl-C, never as a crash.

:func:`catching_signals` routes both signals to a callback that runs in the event loop, for
the time of a ``with`` block, in the main thread only (elsewhere it changes nothing); the
previous handlers are restored afterwards. The commands decide what a signal means: ``check``
and ``get --wait`` stop at once and say how to pick the run up; ``batch`` drains on the first
and cancels on the second (``_batch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from ._args import EXIT_INTERRUPTED, EXIT_TERMINATED

__all__ = [
    "SIGNAL_NAMES",
    "CancelOnSignal",
    "DrainOnSignal",
    "catching_signals",
    "exit_status",
    "uncancel",
]

SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


def exit_status(name: str | None) -> int:
    """130 for Ctrl-C, 143 for SIGTERM (128 plus the signal's number, as shells report)."""
    return EXIT_TERMINATED if name == "SIGTERM" else EXIT_INTERRUPTED


@contextlib.contextmanager
def catching_signals(on_signal: Callable[[str], None]) -> Iterator[bool]:
    """Call ``on_signal("Ctrl-C" | "SIGTERM")`` in the running loop on each SIGINT or SIGTERM.

    Yields whether the handlers were installed (only in the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    loop = asyncio.get_running_loop()

    def handler(signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(on_signal, SIGNAL_NAMES[signal.Signals(signum)])

    previous = {sig: signal.getsignal(sig) for sig in SIGNAL_NAMES}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield True
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class CancelOnSignal:
    """Cancel ``task`` on the first signal and remember which it was (``received``)."""

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self._task = task
        self.received: str | None = None

    def __call__(self, name: str) -> None:
        if self.received is None:
            self.received = name
            if self._task is not None:
                self._task.cancel()


class DrainOnSignal:
    """Ctrl-C and SIGTERM while a batch runs: drain on the first, cancel on the second.

    The first one (``first``) sets ``draining``: no new rows are taken, the checks in flight
    finish. A second one cancels the batch's task at once (``reason``).
    """

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self._task = task
        self.draining = False
        self.first: str | None = None
        self.reason: str | None = None

    def signalled(self, name: str, note: Callable[[str], None]) -> None:
        if not self.draining:
            self.draining, self.first = True, name
            note(
                f"Stopping ({name}): no new rows; waiting for the checks in flight to finish "
                "(Ctrl-C again to cancel them: their runs are journaled for --resume)."
            )
            return
        self.reason = name
        if self._task is not None:
            self._task.cancel()


def uncancel() -> int:
    """Take back the current task's cancellation a signal handler asked for; returns the
    cancellations still pending (above 0: someone else cancelled too, theirs to handle)."""
    task = asyncio.current_task()
    return task.uncancel() if task is not None else 0
