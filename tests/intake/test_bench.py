"""bench/intake.py stays runnable and measures what it claims: a tiny run where
every simulated person completes an intake through PTB's Application, every
reply is delivered, and the durable echo baseline commits, answers and marks every
update (it asserts so itself); both talk to the tests' fake Bot API in memory."""

from __future__ import annotations

from bench.intake import Run, durable_echo_run, intake_bench, median_run, memory_child


async def test_intake_bench_smoke() -> None:
    run, drain, extra = await intake_bench(3, None)
    assert run.misses == 0  # the scripts still match the flow's buttons
    assert extra["cases"] == 3
    assert run.updates == len(run.latencies) == 3 * 17
    # CPU time of the run, for the load-independent ratio: positive, and no more than
    # the wall time allows on the one thread the bot runs on (plus clock granularity).
    assert 0 < run.cpu_s <= run.wall_s + 0.05
    assert drain >= 0 and 0 < run.pct(0.5) <= run.pct(0.99)
    # Every reply went out: one sendMessage or edit per queued payload at least.
    assert extra["api_calls"].get("sendMessage", 0) >= 3 * 10
    assert extra["api_errors"] == {}  # the fake Bot API refused nothing


async def test_durable_echo_baseline_and_memory_child_smoke() -> None:
    echo = await durable_echo_run(20, 4)
    assert echo.updates == 20 and echo.rate > 0 and echo.cpu_rate > 0
    memory = await memory_child(16)
    assert memory["conversations"] == 16
    assert memory["misses"] == 0
    assert memory["fake_users_left"] == 0  # the fake's memory does not count


def test_the_median_run_is_reported() -> None:
    """Repeats on a shared machine: neither the luckiest nor the unluckiest run."""
    runs = [Run(100, wall, [], cpu_s=wall / 2) for wall in (1.0, 4.0, 2.0)]
    assert median_run(runs, lambda r: r.rate).wall_s == 2.0
    assert median_run(runs[:2], lambda r: r.rate).wall_s == 4.0  # the lower of two
    assert median_run(runs[:1], lambda r: r.rate) is runs[0]
