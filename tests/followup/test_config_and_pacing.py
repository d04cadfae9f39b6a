"""[followup] / [coordinators] configuration, and the send pacer."""

from __future__ import annotations

import itertools
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config.load import ConfigError, load_config
from bot.delivery.pacing import Pacer
from dialogs.kernel.render import render_msg


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


def test_defaults_follow_the_issue(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    policy = [(s.kind, s.after) for s in config.followup.policy]
    assert policy == [
        ("ouverture", timedelta(days=3)),
        ("demarrage", timedelta(days=14)),
        ("impact", timedelta(days=45)),
    ]
    quiet = config.followup.quiet
    assert (quiet.start, quiet.end, quiet.days) == (time(20, 0), time(9, 0), frozenset({6}))
    assert str(quiet.zone) == "Europe/Paris"
    assert config.coordinators.telegram_ids == ()


def test_a_full_section(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[followup]
policy = [
  { kind = "demarrage", after = "2h" },
  { kind = "ouverture", after = "90s" },
]
grace = "1d"
quiet_start = "21:30"
quiet_end = "8:00"
quiet_days = ["samedi", "Sunday"]
catch_up_per_minute = 60
wake_interval = "15s"

[coordinators]
telegram_ids = [111, 222]
matrix_room = "!coord:example.org"
""",
    )
    followup = config.followup
    assert [s.kind for s in followup.policy] == ["ouverture", "demarrage"]  # sorted by delay
    assert followup.grace == timedelta(days=1)
    assert followup.quiet.days == frozenset({5, 6})
    assert followup.catch_up_spacing == timedelta(seconds=1)
    assert followup.wake_interval == timedelta(seconds=15)
    assert config.coordinators.telegram_ids == (111, 222)
    assert config.coordinators.matrix_room == "!coord:example.org"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[followup]\npolicy = [{ kind = "bilan", after = "3d" }]', "[followup] policy[0].kind"),
        ('[followup]\npolicy = [{ kind = "impact", after = "3 jours" }]', "policy[0].after"),
        ('[followup]\ngrace = "soon"', "[followup] grace"),
        ('[followup]\nquiet_start = "25:00"', "[followup] quiet_start"),
        ('[followup]\nquiet_days = ["caturday"]', "[followup] quiet_days"),
        ('[followup]\ntimezone = "Mars/Olympus"', "[followup] timezone"),
        ("[followup]\ncatch_up_per_minute = 0", "[followup] catch_up_per_minute"),
        ('[coordinators]\ntelegram_ids = ["@coline"]', "[coordinators] telegram_ids"),
        ("[followup]\nsurprise = 1", "[followup] surprise"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert key in render_msg("fr", error.value.message)


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config.example.toml"
    config = load_config(example, environ={})
    assert config.followup.policy


class ManualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_pacer_spaces_sends_overall_without_burst() -> None:
    clock = ManualTime()
    pacer = Pacer(per_second=25, monotonic=clock.monotonic, sleep=clock.sleep)
    starts = []
    for n in range(100):
        await pacer.acquire(f"chat{n}")
        starts.append(clock.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(starts)}
    assert gaps == {0.04}
    # No 1-second window ever holds more than 25.
    assert max(sum(1 for t in starts if s <= t < s + 1) for s in starts) == 25


async def test_pacer_allows_a_short_burst_per_chat_then_one_per_second() -> None:
    clock = ManualTime()
    pacer = Pacer(
        per_second=1000, per_chat_per_second=1, chat_burst=3,
        monotonic=clock.monotonic, sleep=clock.sleep,
    )  # fmt: skip
    starts = []
    for _ in range(6):
        await pacer.acquire("alice")
        starts.append(round(clock.now, 3))
    assert starts[:3] == pytest.approx([0.0, 0.001, 0.002], abs=0.002)
    assert starts[3] == pytest.approx(1.0, abs=0.01)
    assert starts[5] == pytest.approx(3.0, abs=0.01)
    # Another chat is not held back by Alice's.
    before = clock.now
    await pacer.acquire("bob")
    assert clock.now - before < 0.01
