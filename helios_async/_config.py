"""Where the client talks to and with what key: arguments, then environment, then defaults.

See https://helios-async.readthedocs.io/helios/#configuration-sources
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping

import aiohttp
import attrs
from yarl import URL

from ._errors import InvalidInputError
from ._model_methods import ModelMethods
from ._redaction import Secret
from ._validation import policy_number
from ._version import __version__

# docs/helios.md#hosts-and-regions
REGIONS: Mapping[str, str] = {
    "default": "https://api.thymia.ai",
    "ca": "https://ca.api.thymia.ai",
    "us": "https://us.api.thymia.ai",
}
ENV_API_KEY = "THYMIA_API_KEY"
ENV_BASE_URL = "THYMIA_BASE_URL"
ENV_REGION = "THYMIA_REGION"


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] | None = None) -> Secret:
    """The key from the argument, else ``THYMIA_API_KEY``, as a :class:`Secret`: a
    ``str`` whose repr is ``'<redacted>'``, so no traceback's locals show it.

    Raises:
        InvalidInputError: neither gives a non-blank key. The message never shows a key.
    """
    key = (
        api_key
        if api_key is not None
        else (os.environ if environ is None else environ).get(ENV_API_KEY)
    )
    if key is not None and not isinstance(key, str):
        raise InvalidInputError("api_key", f"must be a string, not {type(key).__name__}")
    api_key = key = None if key is None else Secret(key)  # from here on, locals hide it
    if not key or not key.strip():
        raise InvalidInputError(
            "api_key", f"no API key: pass api_key=... or set the {ENV_API_KEY} environment variable"
        )
    if not key.isascii() or not key.strip().isprintable():
        raise InvalidInputError("api_key", "must be printable ASCII (it travels in a header)")
    return Secret(key.strip())


def resolve_base_url(
    base_url: str | None, region: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """The API root: ``base_url``, else ``region``, else ``THYMIA_BASE_URL``, else
    ``THYMIA_REGION``, else ``https://api.thymia.ai``. No trailing slash.

    A base URL and a region at the same level (both arguments, or both variables when no
    argument is given) contradict each other and are refused; an argument still beats
    either variable.

    Raises:
        InvalidInputError: both ``base_url`` and ``region`` (or both variables); an unknown
            region; a base URL that is not a usable API root (see :func:`check_base_url`).
    """
    environ = os.environ if environ is None else environ
    if base_url is not None and region is not None:
        raise InvalidInputError(
            "base_url",
            f"and region name the host twice (region={region!r}); pass one of them",
        )
    if base_url is None and region is None:
        base_url = environ.get(ENV_BASE_URL) or None
        region = environ.get(ENV_REGION) or None
        if base_url is not None and region is not None:
            raise InvalidInputError(
                ENV_BASE_URL,
                f"and {ENV_REGION} are both set and name the host twice; unset one of them",
            )
    if base_url is None:
        name = (region or "default").lower()
        if name not in REGIONS:
            raise InvalidInputError(
                "region", f"must be one of {', '.join(REGIONS)}; got {region!r}"
            )
        return REGIONS[name]
    return check_base_url(base_url)


# A user and password before the host (compiled by re on first use: only errors show it).
_USERINFO = r"(?<=//)[^/?#]*@"


def _shown(base_url: str) -> str:
    """``base_url`` as an error message may show it: without a user or password."""
    return re.sub(_USERINFO, "", base_url, count=1)


def check_base_url(base_url: str) -> str:
    """``base_url`` without its trailing slashes, if it is a usable API root.

    That is an ``http://`` or ``https://`` URL with a host, a valid port if any, and an
    optional path prefix (a user and password are kept, and never shown); no query or
    fragment (the API's paths are appended to it), no whitespace; and no path ending in
    ``/v1``: every path the client sends starts with ``/v1`` itself, so
    ``https://api.thymia.ai/v1`` would ask for ``/v1/v1/...`` (refused, not stripped, so
    the setting says what is sent).

    Raises:
        InvalidInputError: any of these is broken.
    """
    if not isinstance(base_url, str):
        raise InvalidInputError("base_url", f"must be a string, not {type(base_url).__name__}")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(
            "base_url", f"must start with http:// or https://; got {_shown(base_url)!r}"
        )
    try:
        url = URL(base_url)
        host, _port = url.host, url.port  # the port and an IPv6 host's brackets too
    except ValueError as exc:
        raise InvalidInputError(
            "base_url", f"is not a valid URL ({exc}); got {_shown(base_url)!r}"
        ) from None
    if not host or any(char.isspace() for char in base_url):
        raise InvalidInputError(
            "base_url", f"must name a host, without spaces; got {_shown(base_url)!r}"
        )
    if "?" in base_url or "#" in base_url:
        raise InvalidInputError(
            "base_url",
            f"must not carry a query or fragment (paths are appended); got {_shown(base_url)!r}",
        )
    if url.path.rstrip("/").lower().endswith("/v1"):
        raise InvalidInputError(
            "base_url",
            "must not end with /v1: the client adds /v1 to every path; drop it, as in "
            f"{_shown(base_url).rstrip('/')[:-3]!r}",
        )
    return base_url.rstrip("/")


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Timeouts(ModelMethods):
    """Per-attempt time limits, in seconds (``upload_min_rate`` in bytes per second).

    An API call (account, create, get) waits at most ``pool`` for a free connection of the
    client's pool (:class:`~helios_async.PoolTimeoutError`), then takes at most ``response``
    from there to the last byte of the answer: ``connect`` bounds opening the connection
    (:class:`~helios_async.ConnectError`) and ``read`` each wait for response bytes inside
    it, so a server that drips its answer is cut at ``response``.

    The upload PUT's limits follow its size. After the pool and ``connect``, no read timer
    runs while the body is sent; sending may take ``max(read, size / upload_min_rate)``, the
    answer after the last byte ``read``, and the attempt in all ``connect`` plus both, or
    ``upload`` if that is set and smaller. A 32 MB recording at the default 64 KiB/s may
    take 8.5 minutes to send.

    Running out raises :class:`~helios_async.RequestTimeoutError` whose ``limit`` says which
    fired (``"read"``, ``"response"``, ``"sending"``, ``"answer"``, ``"total"``), retried
    only where the request is safe to repeat. The transport turns these into its own timers
    (for the default one: aiohttp's ``ClientTimeout``, a read timer per connection, and one
    timer for the ``response`` deadlines of all the API calls in flight).

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency

    Raises:
        InvalidInputError: a field that is not a finite number above 0 (``upload``: or None),
            naming it (``Timeouts.read``).
    """

    connect: float = attrs.field(default=10.0, validator=policy_number(above=0))
    """Seconds to open a connection."""
    read: float = attrs.field(default=30.0, validator=policy_number(above=0))
    """Seconds of each wait for response bytes of an API call; for an upload, of the wait
    for storage's answer after the last byte."""
    response: float = attrs.field(default=60.0, validator=policy_number(above=0))
    """Seconds an API call attempt may take from a free connection to its answer's last
    byte."""
    pool: float = attrs.field(default=30.0, validator=policy_number(above=0))
    """Seconds to wait for a free connection of the pool."""
    upload_min_rate: float = attrs.field(default=65536.0, validator=policy_number(above=0))
    """Bytes per second an upload is allowed to go as slow as: sending a recording of
    ``size`` bytes may take ``max(read, size / upload_min_rate)`` seconds."""
    upload: float | None = attrs.field(
        default=None, validator=policy_number(above=0, optional=True)
    )
    """Seconds one whole upload attempt may take at most, or None (the default) for the
    limit its size gives alone."""

    def upload_limits(self, size: int) -> tuple[float, float]:
        """The upload's ``(sending, total)`` limits in seconds for a body of ``size`` bytes."""
        sending = max(self.read, size / self.upload_min_rate)
        total = self.connect + sending + self.read
        return sending, total if self.upload is None else min(total, self.upload)


def user_agent(suffix: str | None = None) -> str:
    """``helios-async/<v> Python/<v> aiohttp/<v>``, with the application's suffix if given."""
    agent = (
        f"helios-async/{__version__} Python/{platform.python_version()} "
        f"aiohttp/{aiohttp.__version__}"
    )
    return f"{agent} {suffix}" if suffix else agent
