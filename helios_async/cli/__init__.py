"""The ``helios-async`` command line (``python -m helios_async`` is the same).

A user of the library's public names, kept apart from it: ``import helios_async`` never
loads this package, and only the ``batch`` command needs ``rich`` (the ``cli`` extra).
"""

from helios_async.cli._commands import main

__all__ = ["main"]
