"""What can go wrong, where and how often: the sandbox's seeded fault plan.

A :class:`FaultPlan` holds rules, each ``(route, fault, rate, times)``. Every request to a
route draws one number from that route's own ``random.Random``, seeded from the plan's seed
and the route's name, and the first rule of the route whose slice of ``[0, 1)`` holds the
draw fires. So the same seed and the same sequence of requests on a route give the same
faults, whatever happens on the other routes; with concurrent requests the arrival order,
and so the pairing of faults to requests, is up to the scheduler.

Routes (docs/helios.md#endpoints): ``"account"`` (``GET /v1/account``), ``"create"`` (the
create POST), ``"activity"`` (the Activity Plugin create), ``"get"`` (reading a run, on either
path) and ``"upload"`` (the presigned PUT on the storage host). Requests to no route (unknown
paths) never get a fault.

The faults are plain frozen values; the sandbox's middleware (``_inject``) acts them out::

    plan = FaultPlan(seed=7)
    plan.add("get", ErrorStatus(503), rate=0.2)          # 20 % of polls answer 503
    plan.add("create", Reset(after_handler=True), times=1)  # the next create: run made, no answer
    async with Sandbox(faults=plan) as sandbox:
        ...
        assert sandbox.faults.count("create", Reset) == 1
"""

from __future__ import annotations

import random
import typing
from collections.abc import Iterable

import attrs
from aiohttp import web

__all__ = [
    "API_ROUTES",
    "EXPIRE_URL",
    "FAULT_KINDS",
    "INJECTED_FAULT",
    "MAX_SLOW_SECONDS",
    "ROUTES",
    "STALL_RUN",
    "UNANSWERED",
    "ErrorStatus",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "GatewayHtml",
    "InjectedFault",
    "MalformedJson",
    "NeverFinishes",
    "RateLimited",
    "Reset",
    "ResetMidBody",
    "Route",
    "Slow",
    "Truncate",
    "UrlExpired",
    "chaos_menu",
]

Route = typing.Literal["account", "create", "activity", "get", "upload"]
#: Every route a fault can target, API host first, then the storage host.
ROUTES: typing.Final[tuple[Route, ...]] = ("account", "create", "activity", "get", "upload")
#: The routes of the API host.
API_ROUTES: typing.Final[frozenset[Route]] = frozenset(("account", "create", "activity", "get"))
#: The longest :class:`Slow` pause allowed, in seconds, so no test can hang on one.
MAX_SLOW_SECONDS: typing.Final[float] = 30.0


# ---------------------------------------------------------------------------------- faults


@attrs.frozen
class Fault:
    """Base class of every fault. ``routes`` lists the routes it makes sense on."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(ROUTES)


def _error_status(_instance: object, _attribute: object, value: int) -> None:
    if not 400 <= value <= 599:
        raise ValueError(f"an error status must be 4xx or 5xx, got {value}")


def _fraction(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {value}")


def _slow_seconds(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 < value <= MAX_SLOW_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SLOW_SECONDS:g}], got {value}")


@attrs.frozen
class ErrorStatus(Fault):
    """Answer ``status`` (500, 502, 503, 504, ...) in the host's own error style.

    The API host answers like its gateway does (500 ``text/plain`` "Internal Server Error";
    502/503/504 ``{"message": ...}``), the storage host in S3 XML (503 ``SlowDown``). With
    ``after_handler`` the request is handled first (a create makes its run, an upload is
    stored) and only the answer is replaced: the "acted, then failed" case a client must
    never retry blindly (see https://helios-async.readthedocs.io/helios/#retries-and-idempotency).
    """

    status: int = attrs.field(default=503, validator=_error_status)
    """The HTTP status to answer, 500 or above."""
    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first (a create makes its run), then replace only the answer."""


@attrs.frozen
class RateLimited(Fault):
    """429 with ``Retry-After``: ``retry_after`` seconds, sent as whole seconds
    (rounded up) or, with ``http_date``, as an RFC 9110 HTTP date of the real wall clock
    (rounded down to the second, so a client waits at most ``retry_after``). The request is
    not handled: a 429 proves the server did not act."""

    retry_after: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    """Seconds the client is asked to wait."""
    http_date: bool = attrs.field(default=False, kw_only=True)
    """Send ``Retry-After`` as an HTTP date instead of seconds."""


@attrs.frozen
class Reset(Fault):
    """Close the connection with a TCP reset instead of answering.

    Before the handler (the default) the server never acts: a create makes no run. With
    ``after_handler`` the request is handled first, so a create *does* make a run whose id
    the client never learns: :meth:`Sandbox.runs_created` counts it.
    """

    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first, then reset instead of answering."""


@attrs.frozen
class ResetMidBody(Fault):
    """Handle the request, send the status line, the headers (with the full
    ``Content-Length``) and the first ``fraction`` of the body, then reset the connection.
    An empty body is declared as 1 byte, so the cut is always visible."""

    fraction: float = attrs.field(default=0.5, validator=_fraction)
    """The share of the body sent before the reset, in ``[0, 1)``."""


@attrs.frozen
class Truncate(Fault):
    """Like :class:`ResetMidBody` but the connection is closed cleanly (FIN) after the first
    ``fraction`` of the body: the ``Content-Length`` promises more bytes than arrive."""

    fraction: float = attrs.field(default=0.5, validator=_fraction)
    """The share of the body sent before the close, in ``[0, 1)``."""


@attrs.frozen
class Slow(Fault):
    """Wait ``seconds`` (at most :data:`MAX_SLOW_SECONDS`) before handling the request.

    The request is still handled and answered afterwards, even if the client gave up (so a
    timed-out create still makes its run). :meth:`Sandbox.close` cuts pauses short and drops
    their connections unanswered.
    """

    seconds: float = attrs.field(validator=_slow_seconds)
    """The pause before handling, in seconds."""


@attrs.frozen
class GatewayHtml(Fault):
    """An HTML error page from a gateway in front of the service (nginx style,
    ``text/html``), ``502 Bad Gateway`` by default. ``after_handler`` as for
    :class:`ErrorStatus`."""

    status: int = attrs.field(default=502, validator=_error_status)
    """The HTTP status of the page, 500 or above."""
    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first (a create makes its run), then replace only the answer."""


@attrs.frozen
class MalformedJson(Fault):
    """Handle the request, then answer 200 ``application/json`` with the first half of the
    real body: never valid JSON. A create has made its run. API routes only."""

    routes: typing.ClassVar[frozenset[Route]] = API_ROUTES


@attrs.frozen
class NeverFinishes(Fault):
    """The run this request creates (``create``, ``activity``) or uploads the recording of
    (``upload``) never finishes: once its recording arrives it stays ``RUNNING`` and
    its ``completedAt`` stays null. The request itself is answered normally."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(("create", "activity", "upload"))


@attrs.frozen
class UrlExpired(Fault):
    """The presigned URL expires early: its expiry moves to now, so this PUT and every later
    one is refused 403 ``AccessDenied`` "Request has expired", as object storage does. Upload
    only."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(("upload",))


#: Every fault class the sandbox can act out.
FAULT_KINDS: typing.Final[tuple[type[Fault], ...]] = (
    ErrorStatus,
    RateLimited,
    Reset,
    ResetMidBody,
    Truncate,
    Slow,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    UrlExpired,
)

# ------------------------------------------------------------- request keys for the hosts

#: The fault injected into a request (read by the request log).
INJECTED_FAULT: typing.Final = web.RequestKey("helios_sandbox_fault", Fault)
#: Set when the request was deliberately left unanswered (the log records status None).
UNANSWERED: typing.Final = web.RequestKey("helios_sandbox_unanswered", bool)
#: Tells the create and upload handlers that the run must never finish.
STALL_RUN: typing.Final = web.RequestKey("helios_sandbox_stall_run", bool)
#: Tells the storage host to expire the presigned URL now.
EXPIRE_URL: typing.Final = web.RequestKey("helios_sandbox_expire_url", bool)


# ------------------------------------------------------------------------------- the plan


@attrs.define(eq=False)
class FaultRule:
    """One rule of a :class:`FaultPlan`: ``fault`` on ``rate`` of the requests to ``route``,
    at most ``times`` times."""

    route: Route
    """The route it applies to: ``"account"``, ``"create"``, ``"activity"``, ``"get"`` or
    ``"upload"``."""
    fault: Fault
    """What happens to a request it hits."""
    rate: float
    """The share of the route's requests it hits, in ``(0, 1]``."""
    times: int | None
    """How many times it may fire at most; None for no limit."""
    fired: int = 0
    """How many times it has fired."""

    @property
    def exhausted(self) -> bool:
        """True once the rule has fired ``times`` times."""
        return self.times is not None and self.fired >= self.times


@attrs.frozen
class InjectedFault:
    """A fault that fired."""

    route: Route
    """The route of the request it hit."""
    number: int
    """Which request of that route it hit, from 1."""
    fault: Fault
    """The fault acted out."""


class FaultPlan:
    """Seeded, per-route fault rules for a :class:`~helios_async.testing.Sandbox`.

    ``seed`` (an int or a str) seeds one ``random.Random`` per route. Rules may be added and
    removed at any time, also while the sandbox runs. A plan belongs to one sandbox: it
    counts requests and keeps the random state.
    """

    def __init__(self, seed: int | str = 0) -> None:
        #: The seed the per-route generators were made from.
        self.seed: int | str = seed
        self._random = {route: random.Random(f"helios-faults/{seed}/{route}") for route in ROUTES}
        self._seen: dict[Route, int] = dict.fromkeys(ROUTES, 0)
        self._rules: list[FaultRule] = []
        #: Every fault that fired, in the order the requests arrived.
        self.injected: list[InjectedFault] = []

    def add(
        self, route: Route, fault: Fault, *, rate: float = 1.0, times: int | None = None
    ) -> FaultRule:
        """Inject ``fault`` into ``rate`` (0 < rate <= 1) of the requests to ``route``, at
        most ``times`` times (default: no limit). ``add(route, fault, times=1)`` hits the
        next request; ``add(route, fault, rate=0.2)`` one in five, at random.

        Rules of a route are tried in the order added, each covering the next ``rate`` of
        the draw's ``[0, 1)``, so their rates add up; an exhausted rule gives way to the next.

        Raises:
            TypeError: ``fault`` is not one of the fault classes of this module.
            ValueError: an unknown route, a fault that does not apply to it (say
                :class:`UrlExpired` on ``"get"``), a rate outside (0, 1], or ``times < 1``.
        """
        if not isinstance(fault, FAULT_KINDS):
            raise TypeError(f"not a sandbox fault: {fault!r}")
        if route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}; got {route!r}")
        if route not in fault.routes:
            allowed = ", ".join(sorted(fault.routes))
            raise ValueError(f"{type(fault).__name__} applies only to: {allowed}")
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        rule = FaultRule(route=route, fault=fault, rate=rate, times=times)
        self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Drop one rule (``ValueError`` if it is not in the plan)."""
        self._rules.remove(rule)

    def clear(self, route: Route | None = None) -> None:
        """Drop every rule, or those of ``route``. Counts and random state are kept."""
        self._rules = [rule for rule in self._rules if route is not None and rule.route != route]

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The rules, in the order they are tried."""
        return tuple(self._rules)

    def requests_seen(self, route: Route) -> int:
        """How many requests ``route`` has received, faulted or not."""
        return self._seen[route]

    def count(self, route: Route | None = None, kind: type[Fault] | None = None) -> int:
        """How many faults fired, on ``route`` and of class ``kind`` where given."""
        return sum(
            1
            for injected in self.injected
            if (route is None or injected.route == route)
            and (kind is None or isinstance(injected.fault, kind))
        )

    def decide(self, route: Route) -> Fault | None:
        """Count one request to ``route`` and return the fault it gets, if any.

        Exactly one number is drawn per request, whether a rule fires or not, so the random
        sequence of a route depends only on how many requests it has received.
        """
        self._seen[route] += 1
        draw = self._random[route].random()
        edge = 0.0
        for rule in self._rules:
            if rule.route != route or rule.exhausted:
                continue
            edge += rule.rate
            if draw < edge:
                rule.fired += 1
                self.injected.append(InjectedFault(route, self._seen[route], rule.fault))
                return rule.fault
        return None

    @classmethod
    def chaos(
        cls,
        seed: int | str = 0,
        *,
        rate: float = 0.2,
        routes: Iterable[Route] = ROUTES,
        slow_seconds: float = 0.5,
        long_retry_after: float = 3600.0,
    ) -> FaultPlan:
        """A plan with every fault kind that fits each route, sharing ``rate`` equally.

        The menu on every route: :class:`ErrorStatus` 500, 502, 503, 504 and 504 after the
        handler; :class:`RateLimited` with ``Retry-After: 0`` in both forms and with
        ``long_retry_after`` seconds (more than a client should wait); :class:`Reset`
        before and after the handler; :class:`ResetMidBody`; :class:`Truncate`;
        :class:`Slow` of ``slow_seconds``; :class:`GatewayHtml` 502. Added where they apply:
        :class:`MalformedJson` (API routes), :class:`NeverFinishes` (create, activity,
        upload), :class:`UrlExpired` (upload).
        """
        plan = cls(seed)
        for route in routes:
            menu = chaos_menu(route, slow_seconds=slow_seconds, long_retry_after=long_retry_after)
            for fault in menu:
                plan.add(route, fault, rate=rate / len(menu))
        return plan

    def __repr__(self) -> str:
        rules, injected = len(self._rules), len(self.injected)
        return f"<FaultPlan seed={self.seed!r} rules={rules} injected={injected}>"


def chaos_menu(
    route: Route, *, slow_seconds: float = 0.5, long_retry_after: float = 3600.0
) -> tuple[Fault, ...]:
    """The faults :meth:`FaultPlan.chaos` spreads over ``route``, in order."""
    menu: list[Fault] = [
        ErrorStatus(500),
        ErrorStatus(502),
        ErrorStatus(503),
        ErrorStatus(504),
        ErrorStatus(504, after_handler=True),
        RateLimited(0),
        RateLimited(0, http_date=True),
        RateLimited(long_retry_after),
        Reset(),
        Reset(after_handler=True),
        ResetMidBody(),
        Truncate(),
        Slow(slow_seconds),
        GatewayHtml(502),
        MalformedJson(),
        NeverFinishes(),
        UrlExpired(),
    ]
    return tuple(fault for fault in menu if route in fault.routes)
