"""The per-person token bucket (bot/runtime/flood.py), on a fake clock: no sleeping."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime.clock import FakeClock
from bot.runtime.flood import FloodGate, FloodLimit, Verdict

LIMIT = FloodLimit(burst=20, per_second=1.0)


def flood(gate: FloodGate, clock: FakeClock, sender: str, count: int, tag: str) -> list[Verdict]:
    return [gate.check(sender, f"{tag}{i}", clock.now()) for i in range(count)]


def test_burst_then_one_warning_then_silence() -> None:
    clock = FakeClock()
    gate = FloodGate(LIMIT)
    verdicts = flood(gate, clock, "telegram:1", 50, "u")
    assert verdicts[:20] == [Verdict.ADMIT] * 20
    assert verdicts[20] is Verdict.WARN
    assert verdicts[21:] == [Verdict.DROP] * 29


def test_others_are_not_affected() -> None:
    clock = FakeClock()
    gate = FloodGate(LIMIT)
    flood(gate, clock, "telegram:1", 50, "a")
    assert flood(gate, clock, "telegram:2", 15, "b") == [Verdict.ADMIT] * 15
    # The same id on another transport is another person.
    assert gate.check("matrix:1", "m1", clock.now()) is Verdict.ADMIT


def test_a_retry_of_the_same_update_gets_the_same_verdict_and_takes_no_token() -> None:
    clock = FakeClock()
    gate = FloodGate(FloodLimit(burst=2, per_second=1.0))
    assert gate.check("s", "k1", clock.now()) is Verdict.ADMIT
    assert gate.check("s", "k1", clock.now()) is Verdict.ADMIT  # retried: no token taken
    assert gate.check("s", "k2", clock.now()) is Verdict.ADMIT
    assert gate.check("s", "k3", clock.now()) is Verdict.WARN
    assert gate.check("s", "k3", clock.now()) is Verdict.WARN  # retried: still the warning
    assert gate.check("s", "k4", clock.now()) is Verdict.DROP


def test_refill_serves_again_within_the_episode_without_a_second_warning() -> None:
    clock = FakeClock()
    gate = FloodGate(LIMIT)
    flood(gate, clock, "s", 30, "a")
    clock.advance(timedelta(seconds=3))
    # Three tokens came back: three updates read, then dropped, not warned again.
    assert flood(gate, clock, "s", 5, "b") == [Verdict.ADMIT] * 3 + [Verdict.DROP] * 2


def test_a_new_episode_after_calm_warns_again() -> None:
    clock = FakeClock()
    gate = FloodGate(LIMIT)
    flood(gate, clock, "s", 30, "a")
    clock.advance(timedelta(seconds=LIMIT.calm_seconds))
    again = flood(gate, clock, "s", 30, "b")
    assert again.count(Verdict.WARN) == 1 and again[20] is Verdict.WARN
    assert again[:20] == [Verdict.ADMIT] * 20


def test_a_clock_set_backwards_refills_nothing() -> None:
    clock = FakeClock()
    gate = FloodGate(FloodLimit(burst=1, per_second=1.0))
    assert gate.check("s", "a", clock.now()) is Verdict.ADMIT
    clock.advance(timedelta(seconds=-60))
    assert gate.check("s", "b", clock.now()) is Verdict.WARN


def test_disabled_gate_admits_everything() -> None:
    clock = FakeClock()
    gate = FloodGate.disabled()
    assert set(flood(gate, clock, "s", 500, "u")) == {Verdict.ADMIT}
    assert len(gate) == 0


def test_memory_stays_bounded_by_forgetting_full_buckets() -> None:
    clock = FakeClock()
    gate = FloodGate(LIMIT, max_senders=100)
    for person in range(1000):
        gate.check(f"s{person}", "k", clock.now())
        clock.advance(timedelta(seconds=1))
    assert len(gate) <= 200
    # A flooding sender is never forgotten in the middle of its flood.
    verdicts = flood(gate, clock, "flooder", 25, "f")
    for person in range(300):
        gate.check(f"t{person}", "k", clock.now())
    assert gate.check("flooder", "f-more", clock.now()) is Verdict.DROP
    assert verdicts.count(Verdict.WARN) == 1
