"""Where and how often things go wrong: the sandbox's seeded fault plan.

A :class:`FaultPlan` holds rules, each ``(route, fault, rate, times)``. Every request to a
route draws one number from that route's own ``random.Random``, seeded from the plan's seed
and the route's name, and the first rule of the route whose slice of ``[0, 1)`` holds the
draw fires. So the same seed and the same sequence of requests on a route give the same
faults, whatever happens on the other routes; with concurrent requests the arrival order,
and so the pairing of faults to requests, is up to the scheduler. The faults themselves and
the routes are ``_faults``'; the sandbox's middleware (``_inject``) acts them out::

    plan = FaultPlan(seed=7)
    plan.add("get", ErrorStatus(503), rate=0.2)          # 20 % of polls answer 503
    plan.add("create", Reset(after_handler=True), times=1)  # the next create: run made, no answer
    async with Sandbox(faults=plan) as sandbox:
        ...
        assert sandbox.faults.count("create", Reset) == 1
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import attrs

from helios_async.testing._faults import FAULT_KINDS, ROUTES, Fault, Route, chaos_menu

__all__ = ["FaultPlan", "FaultRule", "InjectedFault"]


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
