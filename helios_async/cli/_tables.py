"""The readable tables ``get``, ``check``, ``demo`` and ``account`` print without ``--json``."""

from __future__ import annotations

from helios_async import Account, ModelRun
from helios_async._models import BUCKETED_SCORES

__all__ = ["format_account", "format_run"]

_BAR = 20  # characters of a score's bar


def format_account(account: Account) -> str:
    """The account as a readable table: its id and enabled features."""
    features = ", ".join(account.features) if account.features else "(none)"
    return f"Account {account.id}\n  features    {features}"


def format_run(run: ModelRun) -> str:
    """A run as a readable table: identity, timeline, warnings and the eleven scores."""
    lines = [
        f"Model run {run.id}  ({run.user_label})",
        f"  status      {run.status.value if run.status else '(none)'}",
    ]
    for label, when in (("created", run.created_at), ("running", run.run_at)):
        if when is not None:
            lines.append(f"  {label:<11} {when.isoformat(timespec='seconds')}")
    if run.completed_at is not None:
        took = (
            f"  ({(run.completed_at - run.created_at).total_seconds():.1f} s after creation)"
            if run.created_at is not None
            else ""
        )
        lines.append(f"  {'completed':<11} {run.completed_at.isoformat(timespec='seconds')}{took}")
    if run.error_code is not None:
        lines.append(f"  error       {run.error_code.value}: {run.error_reason or ''}")
    lines.extend(f"  warning     {warning}" for warning in run.warnings)
    section = run.section
    if section is not None:
        lines.append(
            f"\n  Scores for {section.start_secs:.1f}-{section.finish_secs:.1f} s"
            " (bucketed: 0, 0.33, 0.66, 1; continuous: 0 to 1)"
        )
        for name, value in section.scores.items():
            kind = "bucketed" if name in BUCKETED_SCORES else "continuous"
            bar = "#" * round(value * _BAR) + "." * (_BAR - round(value * _BAR))
            lines.append(f"  {name.replace('_', ' '):<26} {value:5.2f}  {bar}  {kind}")
        lines.append(f"\n  Transcript: {section.transcript}")
    return "\n".join(lines)
