"""The layers under ``HeliosClient``: built from its options, re-policied for a view, described.

``HeliosClient`` is the facade users call; what it stands on is a :class:`Connection` (the
transport and its open/closed state) and :class:`Operations` (the endpoints, the sender with
its policies, and the poll policy). This module wires them from the client's keyword options,
evolves them for ``with_options``, and says what the facade's repr shows, so the facade keeps
to the methods.
"""

from __future__ import annotations

import aiohttp
import attrs
from yarl import URL

from ._config import Timeouts, resolve_api_key, resolve_base_url, user_agent
from ._connection import Connection
from ._errors import InvalidInputError
from ._hooks import Hooks
from ._models import ModelRunCreated
from ._operations import Operations
from ._polling import PollPolicy
from ._protocol import Endpoints, redact_url
from ._redaction import SignedURL, signed_url
from ._retry import RetryPolicy
from ._sending import Sender
from ._telemetry import Telemetry
from ._telemetry import runtime as telemetry_runtime
from ._transport import AiohttpTransport, Transport

__all__ = ["build_layers", "describe", "upload_target", "with_policies"]


def build_layers(
    api_key: str | None,
    *,
    base_url: str | None,
    region: str | None,
    session: aiohttp.ClientSession | None,
    transport: Transport | None,
    timeouts: Timeouts | None,
    retry: RetryPolicy | None,
    poll: PollPolicy | None,
    legacy_get_path: bool,
    hooks: Hooks | None,
    user_agent_suffix: str | None,
    connection_limit: int,
    telemetry: Telemetry | None,
    max_response_bytes: int,
    allow_http_upload: bool,
) -> tuple[Connection, Operations]:
    """The connection and operations of a new client (``HeliosClient``'s options, same rules).

    Raises:
        InvalidInputError: no API key, an unknown region or a malformed base URL, or both
            ``session`` and ``transport``.
    """
    if session is not None and transport is not None:
        raise InvalidInputError("transport", "pass a session or a transport, not both")
    endpoints = Endpoints(
        base_url=resolve_base_url(base_url, region),
        api_key=resolve_api_key(api_key),
        user_agent=user_agent(user_agent_suffix),
        legacy_get_path=legacy_get_path,
        allow_http_upload=allow_http_upload,
    )
    if transport is None:
        transport = AiohttpTransport(
            session, connection_limit=connection_limit, max_response_bytes=max_response_bytes
        )
    connection = Connection(transport, needs_open=session is None)
    sender = Sender(
        connection=connection,
        timeouts=timeouts or Timeouts(),
        retry=retry or RetryPolicy(),
        hooks=hooks or Hooks(),
        telemetry=telemetry_runtime(telemetry),
    )
    return connection, Operations(endpoints=endpoints, sender=sender, poll=poll or PollPolicy())


def with_policies(
    operations: Operations,
    *,
    timeouts: Timeouts | None,
    retry: RetryPolicy | None,
    poll: PollPolicy | None,
    hooks: Hooks | None,
) -> Operations:
    """``operations`` with the policies given in place of its own, on the same connection."""
    sender = attrs.evolve(
        operations.sender,
        timeouts=timeouts or operations.sender.timeouts,
        retry=retry or operations.sender.retry,
        hooks=hooks or operations.sender.hooks,
    )
    return attrs.evolve(operations, sender=sender, poll=poll or operations.poll)


def describe(connection: Connection, base_url: str, *, view: bool) -> str:
    """The client's repr: host (no credentials, no query), state, and what it sends through."""
    transport = connection.transport
    if isinstance(transport, AiohttpTransport):
        through = f"{'owned' if transport.owns_session else 'borrowed'} session"
    else:
        through = f"{type(transport).__name__} transport"
    shown = redact_url(str(URL(base_url).with_user(None)))
    return f"<HeliosClient{' view' if view else ''} {shown} {connection.state}, {through}>"


def upload_target(created_or_url: object) -> tuple[SignedURL, str | None]:
    """The presigned URL to PUT to and the run it belongs to (``None`` for a bare URL).

    Raises:
        InvalidInputError: ``created_or_url`` is neither a ``ModelRunCreated`` nor a string.
    """
    if isinstance(created_or_url, ModelRunCreated):
        return signed_url(created_or_url.recording_upload_url), created_or_url.id
    if isinstance(created_or_url, str):
        return signed_url(created_or_url), None
    raise InvalidInputError(
        "created_or_url",
        f"must be a ModelRunCreated or its recording_upload_url, not "
        f"{type(created_or_url).__name__}",
    )
