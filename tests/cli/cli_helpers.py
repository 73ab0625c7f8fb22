"""Helpers of the command-line tests: CSV manifests."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ["recording", "user_label", "date_of_birth", "birth_sex", "language"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    """A manifest at ``path``: ``header``, then ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([header, *rows])
    return path
