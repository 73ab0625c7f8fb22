"""helios_async.testing.FaultPlan: rules, rates, limits and seeded determinism (issue 3).

These tests drive ``FaultPlan.decide`` directly, the way the sandbox's middleware does once
per request, so they need no server. The wire behaviour of each fault is in
``test_fault_injection.py``.
"""

from __future__ import annotations

import itertools
import typing

import pytest

from helios_async.testing import (
    MAX_SLOW_SECONDS,
    ROUTES,
    ErrorStatus,
    Fault,
    FaultPlan,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    RateLimited,
    Reset,
    ResetMidBody,
    Route,
    Slow,
    Truncate,
    UrlExpired,
    chaos_menu,
)


def _decisions(plan: FaultPlan, route: Route, n: int) -> list[Fault | None]:
    return [plan.decide(route) for _ in range(n)]


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ErrorStatus(200), "4xx or 5xx"),
        (lambda: ErrorStatus(600), "4xx or 5xx"),
        (lambda: GatewayHtml(302), "4xx or 5xx"),
        (lambda: RateLimited(-1), "retry_after"),
        (lambda: Slow(0), "seconds"),
        (lambda: Slow(MAX_SLOW_SECONDS + 1), "seconds"),
        (lambda: ResetMidBody(1.0), "fraction"),
        (lambda: Truncate(-0.1), "fraction"),
    ],
)
def test_fault_values_refuse_nonsense(make: typing.Callable[[], Fault], message: str) -> None:
    """Faults are validated when made: statuses are errors, a Slow pause is bounded."""
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("get", UrlExpired()),
        ("create", UrlExpired()),
        ("upload", MalformedJson()),
        ("get", NeverFinishes()),
        ("account", NeverFinishes()),
    ],
)
def test_a_fault_is_refused_on_a_route_it_does_not_apply_to(route: Route, fault: Fault) -> None:
    """UrlExpired is for the upload only; MalformedJson for API routes (the storage host
    answers XML); NeverFinishes for the routes that create or start a run."""
    with pytest.raises(ValueError, match="applies only to"):
        FaultPlan().add(route, fault)


def test_add_refuses_unknown_routes_rates_and_limits() -> None:
    plan = FaultPlan()
    with pytest.raises(TypeError, match="not a sandbox fault"):
        plan.add("get", Fault())
    with pytest.raises(ValueError, match="route must be one of"):
        plan.add(typing.cast(Route, "delete"), ErrorStatus())
    for rate in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError, match="rate"):
            plan.add("get", ErrorStatus(), rate=rate)
    with pytest.raises(ValueError, match="times"):
        plan.add("get", ErrorStatus(), times=0)
    assert plan.rules == ()


# ----------------------------------------------------------------------------- rules


def test_times_hits_the_next_n_requests_then_stops() -> None:
    """``times=N`` with the default rate 1.0: exactly the next N requests of the route."""
    plan = FaultPlan()
    rule = plan.add("create", Reset(after_handler=True), times=2)
    assert _decisions(plan, "create", 4) == [Reset(after_handler=True)] * 2 + [None] * 2
    assert rule.fired == 2
    assert rule.exhausted
    assert plan.requests_seen("create") == 4
    assert [(i.route, i.number) for i in plan.injected] == [("create", 1), ("create", 2)]


def test_faults_stay_on_their_route() -> None:
    plan = FaultPlan()
    plan.add("get", ErrorStatus(503))
    assert _decisions(plan, "create", 3) == [None] * 3
    assert _decisions(plan, "upload", 3) == [None] * 3
    assert _decisions(plan, "get", 2) == [ErrorStatus(503)] * 2


def test_an_exhausted_rule_gives_way_to_the_next() -> None:
    """Rules are tried in order, each covering the next ``rate`` of the draw."""
    plan = FaultPlan(seed=1)
    plan.add("get", Reset(), times=1)
    plan.add("get", ErrorStatus(502))
    assert _decisions(plan, "get", 3) == [Reset(), ErrorStatus(502), ErrorStatus(502)]


def test_the_observed_rate_matches_the_rule() -> None:
    """rate=0.2 fires on about a fifth of the requests (5,000 draws, ±3 points)."""
    plan = FaultPlan(seed="rate")
    plan.add("get", ErrorStatus(503), rate=0.15)
    plan.add("get", Slow(0.1), rate=0.05)
    decisions = _decisions(plan, "get", 5000)
    assert 0.17 <= sum(d is not None for d in decisions) / 5000 <= 0.23
    assert 0.12 <= decisions.count(ErrorStatus(503)) / 5000 <= 0.18
    assert plan.count("get") == sum(d is not None for d in decisions)
    assert plan.count("get", Slow) == decisions.count(Slow(0.1))
    assert plan.count("create") == 0


def test_clear_and_remove_drop_rules_but_keep_the_counts() -> None:
    plan = FaultPlan()
    keep = plan.add("upload", UrlExpired())
    drop = plan.add("get", ErrorStatus())
    plan.add("create", Reset())
    plan.decide("get")
    plan.remove(drop)
    assert plan.rules == (keep, plan.rules[1])
    plan.clear("create")
    assert plan.rules == (keep,)
    plan.clear()
    assert plan.rules == ()
    assert plan.requests_seen("get") == 1
    assert plan.count() == 1
    with pytest.raises(ValueError, match="not in list"):
        plan.remove(drop)


# ----------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_faults() -> None:
    """Issue 3: seeded and deterministic, same seed + same requests -> same faults."""
    runs = []
    for _ in range(2):
        plan = FaultPlan.chaos(seed=42)
        runs.append([_decisions(plan, route, 300) for route in ROUTES])
    assert runs[0] == runs[1]
    assert any(d is not None for d in itertools.chain.from_iterable(runs[0]))


def test_different_seeds_give_different_faults() -> None:
    first = _decisions(FaultPlan.chaos(seed=1), "get", 300)
    second = _decisions(FaultPlan.chaos(seed=2), "get", 300)
    assert first != second


def test_a_route_s_faults_do_not_depend_on_traffic_to_other_routes() -> None:
    """One generator per route: interleaving other routes' requests changes nothing."""
    alone = _decisions(FaultPlan.chaos(seed=5), "get", 200)
    busy = FaultPlan.chaos(seed=5)
    interleaved = []
    for _ in range(200):
        busy.decide("create")
        busy.decide("upload")
        interleaved.append(busy.decide("get"))
    assert interleaved == alone


def test_a_draw_is_made_for_every_request_even_without_rules() -> None:
    """The sequence of a route depends only on its request count: rules added later see the
    same draws as if they had been there from the start."""
    early = FaultPlan(seed=9)
    early.add("get", ErrorStatus(), rate=0.5)
    late = FaultPlan(seed=9)
    assert _decisions(late, "get", 10) == [None] * 10
    late.add("get", ErrorStatus(), rate=0.5)
    assert _decisions(late, "get", 50) == _decisions(early, "get", 60)[10:]


# ----------------------------------------------------------------------------- chaos preset


def test_chaos_spreads_the_rate_over_every_fault_that_fits_each_route() -> None:
    plan = FaultPlan.chaos(seed=0, rate=0.2)
    for route in ROUTES:
        rules = [rule for rule in plan.rules if rule.route == route]
        assert [rule.fault for rule in rules] == list(chaos_menu(route))
        assert sum(rule.rate for rule in rules) == pytest.approx(0.2)
        assert all(rule.times is None for rule in rules)
    upload = {type(f) for f in chaos_menu("upload")}
    get = {type(f) for f in chaos_menu("get")}
    assert UrlExpired in upload and MalformedJson not in upload
    assert MalformedJson in get and UrlExpired not in get and NeverFinishes not in get
    assert NeverFinishes in {type(f) for f in chaos_menu("create")}
    assert RateLimited(0, http_date=True) in chaos_menu("get")
    assert ErrorStatus(504, after_handler=True) in chaos_menu("create")


def test_chaos_can_be_limited_to_some_routes() -> None:
    plan = FaultPlan.chaos(seed=0, routes=["upload"], slow_seconds=0.05)
    assert {rule.route for rule in plan.rules} == {"upload"}
    assert Slow(0.05) in [rule.fault for rule in plan.rules]
    assert "seed=0" in repr(plan)
