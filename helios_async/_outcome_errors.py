"""The errors of the tree (``_errors``) about what a call made or did not: a hook that
raised, a create of unknown outcome, a failed run, a deadline, a journal key taken over."""

from __future__ import annotations

from collections.abc import Mapping

from ._enums import ErrorCode
from ._error_base import HeliosError
from ._response_models import ModelRun

__all__ = [
    "CreateDeadlineExceededError",
    "DeadlineExceededError",
    "HookError",
    "JournalConflictError",
    "ModelRunFailedError",
    "OutcomeUnknownError",
]


class HookError(HeliosError):
    """A hook (:class:`~helios_async.Hooks`) raised. Its exception is ``__cause__``. The
    request itself completed or failed first, and what it made is kept: a create whose
    ``on_response`` hook raised still made its run, on ``model_run_id`` (and
    ``run_wellness_check`` still calls ``on_created`` with it). Never retried.

    Attributes:
        hook: which hook raised (``"on_response"``).
        operation: the call it raised in (``"create_model_run"``).
        result: what the call returned before the hook raised (a ``ModelRunCreated``, a
            ``ModelRun``...), or None.
        model_run_id: the id of the run ``result`` is or made, or None.
    """

    def __init__(
        self, hook: str, operation: str, cause: BaseException, *, result: object = None
    ) -> None:
        run_id = getattr(result, "id", None)
        self.hook = hook
        self.operation = operation
        self.result = result
        self.model_run_id: str | None = run_id if isinstance(run_id, str) else None
        made = f"; model run {self.model_run_id} exists" if self.model_run_id else ""
        super().__init__(
            f"the {hook} hook raised during {operation}: {type(cause).__name__}: {cause}{made}"
        )


class OutcomeUnknownError(HeliosError):
    """A create request failed in a way that does not prove the run was not made.

    The POST is not idempotent, so it was not retried: a timeout, a reset, a 408 or 5xx or a
    garbled 2xx body after sending it all end here. A run may exist in ``CREATED``; it
    costs nothing until a recording is uploaded. The cause is chained (``__cause__``).

    Attributes:
        operation: what was attempted (``"create_model_run"``).
        user_label: the label the run would carry, to find it with support. It is not in
            the message: labels stay out of messages, logs and spans (privacy by default).

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    def __init__(self, operation: str, *, user_label: str, cause: BaseException) -> None:
        HeliosError.__init__(  # explicit: CreateDeadlineExceededError inherits from both
            self,
            f"{operation} failed and may or may not have created a model run (its user label "
            f"is on .user_label); it was not retried to avoid a duplicate run: {cause}",
        )
        self.operation = operation
        self.user_label = user_label


class ModelRunFailedError(HeliosError):
    """The model run ended ``COMPLETE_ERROR``. See https://helios-async.readthedocs.io/helios/#error-codes

    Attributes:
        model_run_id: the run's id.
        error_code: the machine-readable code (``ErrorCode.ERR_RECORDING_TOO_SHORT``).
        error_reason: the human-readable reason, for debugging, not for end users.
        run: the finished :class:`~helios_async.ModelRun`.
    """

    def __init__(self, run: ModelRun) -> None:
        code = run.error_code.value if run.error_code is not None else "no error code"
        super().__init__(f"model run {run.id} failed with {code}: {run.error_reason or ''}".strip())
        self.run = run
        self.model_run_id = run.id
        self.error_code: ErrorCode | None = run.error_code
        self.error_reason = run.error_reason


class DeadlineExceededError(HeliosError, TimeoutError):
    """A wait, or a whole wellness check, ran past its deadline.

    Raised by ``wait_for_model_run`` (``phase == "poll"``) and ``run_wellness_check``. If
    the time ran out while the create was in flight, a run may exist all the same.

    Attributes:
        phase: where the time ran out: ``"create"``, ``"upload"`` or ``"poll"``.
        timeout: the budget in seconds.
        phase_seconds: seconds spent in each phase, in order.
        model_run_id: the run's id where one was created, to resume with ``wait_for_model_run``.
        last_run: the last :class:`~helios_async.ModelRun` seen while polling, or None.
    """

    def __init__(
        self,
        phase: str,
        *,
        timeout: float,
        phase_seconds: Mapping[str, float] | None = None,
        model_run_id: str | None = None,
        last_run: ModelRun | None = None,
    ) -> None:
        self.phase = phase
        self.timeout = timeout
        self.phase_seconds = dict(phase_seconds or {})
        self.model_run_id = model_run_id
        self.last_run = last_run
        spent = ", ".join(f"{name} {secs:.2f} s" for name, secs in self.phase_seconds.items())
        status = (
            f"; last status {last_run.status.value if last_run.status else 'none'}"
            if last_run is not None
            else ""
        )
        run = f" for model run {model_run_id}" if model_run_id else ""
        HeliosError.__init__(  # explicit: CreateDeadlineExceededError inherits from both
            self,
            f"deadline of {timeout:g} s exceeded in the {phase} phase{run}"
            + (f" ({spent})" if spent else "")
            + status,
        )


class CreateDeadlineExceededError(DeadlineExceededError, OutcomeUnknownError):
    """The deadline passed while a create POST was in flight.

    Both a :class:`DeadlineExceededError` (``phase == "create"``) and an
    :class:`OutcomeUnknownError`: the request was sent, so a run may exist in ``CREATED``.
    """

    def __init__(
        self, *, timeout: float, phase_seconds: Mapping[str, float], user_label: str
    ) -> None:
        DeadlineExceededError.__init__(self, "create", timeout=timeout, phase_seconds=phase_seconds)
        self.operation = "create_model_run"
        self.user_label = user_label
        self.args = (
            f"{self.args[0]}; the create request was sent, so a model run for this "
            "user label (.user_label) may or may not exist",
        )


class JournalConflictError(HeliosError):
    """A journal write was refused: another delivery of this job claimed its key since.

    The job was taken over (typically: this worker was presumed dead and its job
    redelivered). The delivery that gets this must stop working on the job at once and
    write nothing more; the new owner carries it on. Raised by the journal stores
    (``FileJournal``, ``RedisJournal``) and ``run_journaled_check``.

    Attributes:
        key: the job's key.
    """

    def __init__(self, key: str) -> None:
        super().__init__(f"journal key {key!r} is owned by a newer delivery; this one stops")
        self.key = key
