"""``python -m helios_async``: the same as the ``helios-async`` command."""

from helios_async.cli import main

raise SystemExit(main())
