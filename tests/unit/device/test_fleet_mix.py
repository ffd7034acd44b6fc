"""The fleet mix: fates and latencies decided per seed and thing name, at the configured rates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.device.fleet import DeviceResult, Fate, Mix, Summary

THINGS = [f"thing-{i:05d}" for i in range(4000)]
TOLERANCE = 0.05  # over 4000 things a share's standard deviation is at most 0.008: 6 sigma

rates = st.tuples(st.floats(0, 1), st.floats(0, 1)).filter(lambda pair: pair[0] + pair[1] <= 1)
latencies = st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(lambda pair: (min(pair), max(pair)))


@given(rates, latencies, st.integers(), st.text(min_size=1, max_size=40))
def test_the_plan_depends_only_on_the_seed_and_the_thing(pair: tuple[float, float], latency: tuple[int, int],
                                                         seed: int, thing: str) -> None:
    first = Mix(pair[0], pair[1], latency, seed).plan(thing)
    assert Mix(pair[0], pair[1], latency, seed).plan(thing) == first
    assert latency[0] <= first.latency_ms <= latency[1]


@settings(max_examples=30, deadline=None)
@given(rates, st.integers(0, 2**32))
def test_observed_rates_are_close_to_the_configured_ones(pair: tuple[float, float], seed: int) -> None:
    failure_rate, reject_rate = pair
    mix = Mix(failure_rate, reject_rate, (0, 0), seed)
    fates = [mix.plan(thing).fate for thing in THINGS]
    assert abs(fates.count(Fate.FAIL) / len(THINGS) - failure_rate) < TOLERANCE
    assert abs(fates.count(Fate.REJECT) / len(THINGS) - reject_rate) < TOLERANCE


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32))
def test_latencies_spread_over_the_range(seed: int) -> None:
    latencies = [Mix(latency_ms=(10, 20), seed=seed).plan(thing).latency_ms for thing in THINGS[:1000]]
    assert set(latencies) == set(range(10, 21))


def test_another_seed_gives_another_fleet() -> None:
    def failing(seed: int) -> list[str]:
        mix = Mix(failure_rate=0.5, seed=seed)
        return [thing for thing in THINGS[:200] if mix.plan(thing).fate is Fate.FAIL]

    assert failing(1) == failing(1) != failing(2)


def test_the_edges_are_exact() -> None:
    assert {Mix(failure_rate=1.0).plan(thing).fate for thing in THINGS[:100]} == {Fate.FAIL}
    assert {Mix(reject_rate=1.0).plan(thing).fate for thing in THINGS[:100]} == {Fate.REJECT}
    assert {Mix().plan(thing) for thing in THINGS[:100]} == {Mix().plan(THINGS[0])}
    assert Mix().plan(THINGS[0]).fate is Fate.SUCCEED


@pytest.mark.parametrize("kwargs", [
    {"failure_rate": -0.1}, {"reject_rate": 1.5}, {"failure_rate": 0.6, "reject_rate": 0.5},
    {"latency_ms": (5, 1)}, {"latency_ms": (-1, 3)}, {"latency_ms": (0, 10**6)},
])
def test_a_bad_mix_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Mix(**kwargs)  # type: ignore[arg-type]


def test_the_summary_counts_devices_per_status() -> None:
    summary = Summary((DeviceResult("a", Fate.SUCCEED, "SUCCEEDED", 1), DeviceResult("b", Fate.FAIL, "FAILED", 1),
                       DeviceResult("c", Fate.SUCCEED, "SUCCEEDED", 2), DeviceResult("d", Fate.REJECT, "NO_JOB", 3)))
    assert summary.counts == {"FAILED": 1, "NO_JOB": 1, "SUCCEEDED": 2}
