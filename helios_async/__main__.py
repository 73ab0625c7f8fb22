"""``python -m helios_async``: the same as the ``helios-async`` command."""

from ._cli import main

raise SystemExit(main())
