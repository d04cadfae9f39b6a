"""Bench for issue 5: follow-up nudges against a Telegram-like rate-limited Bot API.

Runs the real bot (`BotService`: python-telegram-bot Application, runtime, nudge
worker, outbox dispatcher) against the fake Bot API of tests/fakes, which answers
429 with retry_after beyond its limits, on loopback only:

1. 2,000 nudges to 2,000 people due at once, fake limited to 30/s overall and
   1/s per chat: achieved rate (measured at the fake, first to last delivery) /
   30, duplicates, 429 answers.
2. The same with the fake's limit raised to 1,000/s (and the bot told so): the
   scheduler's own ceiling.
3. A restart with 100,000 pending nudges (100 due now, 900 overdue from a
   downtime, the rest in the future): seconds from `start()` to the first
   nudge delivered.

Usage: .venv/bin/python bench/nudges.py [--people 2000] [--pending 100000] [--quick]
Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import BotService  # noqa: E402
from bot.config.followup import FollowupConfig, PolicyStep  # noqa: E402
from bot.config.load import Config  # noqa: E402
from bot.delivery.pacing import Pacer  # noqa: E402
from bot.followup.schedule import Quiet  # noqa: E402
from bot.runtime.clock import FakeClock  # noqa: E402
from dialogs.kernel.state import Stage, State  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.followup import Nudge  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, FakeUser  # noqa: E402
from tests.transports.telegram.harness import TOKEN, bot_config  # noqa: E402

TELEGRAM_LIMIT = 30.0


class ShiftedClock(FakeClock):
    """Real time, moved forward on demand: nudges come due at once, and the
    retry pauses of the outbox (domain time) still expire in real time."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@asynccontextmanager
async def fake_telegram(max_recorded_calls: int = 10_000) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API on its own thread and event loop, like a remote server:
    its clock (which decides 429s) is not held up by the bot's own work."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
    thread.start()
    tg = FakeTelegram(token=TOKEN, max_recorded_calls=max_recorded_calls)
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(tg.start(), loop))
    try:
        yield tg
    finally:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(tg.stop(), loop))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
DELAY = timedelta(days=3)
POLICY = (PolicyStep(kind="ouverture", after=DELAY),)
CHUNK = 250


async def populate(
    db: Database, clock: FakeClock, chats: list[int], due_offsets: list[timedelta]
) -> list[int]:
    """A consenting person, an idle conversation, a case and one nudge per chat,
    due at now + offset. Returns the case ids."""
    case_ids: list[int] = []
    now = clock.now()
    state = State(stage=Stage.IDLE, consented=True, version=30).to_json()
    for start in range(0, len(chats), CHUNK):
        async with db.unit() as uow:
            for chat, offset in zip(
                chats[start : start + CHUNK], due_offsets[start : start + CHUNK], strict=True
            ):
                person = await uow.people.record_consent(
                    transport="telegram",
                    external_id=str(chat),
                    display_name=None,
                    locale="fr",
                    now=now,
                )
                case = await uow.cases.create(
                    person_id=person.id,
                    locale="fr",
                    sheet={"lieu_name": f"Lieu {chat}", "themes": ["gestion"], "help": []},
                    now=now,
                )
                await uow.conversations.save(
                    None,
                    transport="telegram",
                    address=str(chat),
                    person_id=person.id,
                    state=state,
                    now=now,
                )
                await uow.nudges.schedule(
                    case_id=case.id,
                    transport="telegram",
                    address=str(chat),
                    locale="fr",
                    steps=[("ouverture", now + offset)],
                    now=now,
                )
                case_ids.append(case.id)
    return case_ids


def config_for(tg: FakeTelegram, data_dir: Path) -> Config:
    # No quiet hours or days: the figures must not depend on when the bench runs
    # (an evening run would otherwise wait for the morning).
    always = Quiet(start=dt_time(0, 0), end=dt_time(0, 0), days=frozenset())
    followup = FollowupConfig(policy=POLICY, grace=timedelta(days=3), quiet=always)
    return dataclasses.replace(bot_config(tg, data_dir), followup=followup)


async def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


async def burst(people: int, limit: float, pacer: Pacer, rate_limit: bool) -> dict[str, float]:
    """`people` nudges due at once through a fake limited to `limit`/s overall
    and 1/s per chat."""
    with tempfile.TemporaryDirectory(prefix="bench-nudges-") as tmp:
        async with fake_telegram(max_recorded_calls=people * 3 + 100) as tg:
            tg.set_limits(global_per_s=limit, per_chat_per_s=1)
            users: list[FakeUser] = [tg.user(f"P{i}") for i in range(people)]
            config = config_for(tg, Path(tmp))
            clock = ShiftedClock()
            db = Database(config.database.url)
            await upgrade(db)
            await populate(db, clock, [u.id for u in users], [DELAY] * people)
            await db.dispose()

            service = BotService(config, clock=clock, rate_limit=rate_limit, pacer=pacer)
            await service.start()
            try:
                tg.stats.reset()
                tg.calls.clear()
                clock.advance(DELAY)
                started = time.time()
                service.scheduler.kick()
                delivered = await wait_for(
                    lambda: tg.stats.sent["sendMessage"] >= people, timeout=people / 20 + 60
                )
                finished = time.time()
            finally:
                await service.stop()
            sends = [c for c in tg.calls if c.method == "sendMessage" and c.status == 200]
            per_chat = Counter(c.params.get("chat_id") for c in sends)
            span = sends[-1].at - sends[0].at if len(sends) > 1 else 0.0
            rate = (len(sends) - 1) / span if span > 0 else 0.0
            return {
                "delivered": len(sends),
                "complete": float(delivered),
                "rate": rate,
                "end_to_end_rate": len(sends) / (finished - started),
                "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
                "rate_limited": tg.stats.rate_limited,
            }


async def restart(pending: int) -> dict[str, float]:
    """A database with `pending` nudges; a fresh BotService on it; seconds until
    the first nudge reaches the fake."""
    due_now, overdue = 100, 900
    live = due_now + overdue
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as tmp:
        async with fake_telegram() as tg:
            users = [tg.user(f"R{i}") for i in range(live)]
            config = config_for(tg, Path(tmp))
            clock = ShiftedClock()
            db = Database(config.database.url)
            await upgrade(db)
            offsets = [timedelta(0)] * due_now + [-timedelta(hours=1)] * overdue
            case_ids = await populate(db, clock, [u.id for u in users], offsets)
            now = clock.now()
            rows = [
                {
                    "case_id": case_ids[n % live],
                    "kind": "impact",
                    "transport": "telegram",
                    "address": str(users[n % live].id),
                    "locale": "fr",
                    "state": "pending",
                    "due_at": now + timedelta(days=1 + n % 90, minutes=n % 1440),
                    "attempts": 0,
                    "deferrals": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(pending - live)
            ]
            for start in range(0, len(rows), 10_000):
                async with db.unit() as uow:
                    await uow.session.execute(insert(Nudge), rows[start : start + 10_000])
            async with db.unit() as uow:
                total = await uow.nudges.count("pending")
            await db.dispose()

            service = BotService(config, clock=clock, rate_limit=True)
            began = time.monotonic()
            await service.start()
            started = time.monotonic() - began
            await wait_for(lambda: tg.stats.sent["sendMessage"] >= 1, timeout=30)
            ready = time.monotonic() - began
            await service.stop()
            return {"pending": total, "start_s": started, "ready_s": ready}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument(
        "--quick", action="store_true", help="300 people, 10,000 pending (a smoke run)"
    )
    args = parser.parse_args()
    if args.quick:
        args.people, args.pending = 300, 10_000
    logging.basicConfig(level=logging.ERROR)

    paced = await burst(args.people, TELEGRAM_LIMIT, Pacer(), rate_limit=True)
    # The bot is told of the raised limit too: what remains is its own ceiling.
    ceiling = await burst(args.people, 1000.0, Pacer(per_second=1000, window=1000), False)
    restarted = await restart(args.pending)

    print(f"{'scenario':<34}{'sent':>7}{'rate/s':>9}{'e2e/s':>8}{'dup':>5}{'429':>5}")
    rows = ((f"{args.people} due at once, fake 30/s", paced), ("same, fake 1000/s", ceiling))
    for name, row in rows:
        print(
            f"{name:<34}{row['delivered']:>7.0f}{row['rate']:>9.2f}"
            f"{row['end_to_end_rate']:>8.2f}{row['duplicates']:>5.0f}{row['rate_limited']:>5.0f}"
        )
    print(
        f"restart with {restarted['pending']:.0f} pending nudges: started in "
        f"{restarted['start_s']:.2f} s, first nudge delivered after {restarted['ready_s']:.2f} s"
    )
    result = {
        "nudge_rate_ratio": round(paced["rate"] / TELEGRAM_LIMIT, 4),
        "nudge_duplicates": int(paced["duplicates"] + ceiling["duplicates"]),
        "nudge_429": int(paced["rate_limited"]),
        "nudge_delivered": int(paced["delivered"]),
        "nudge_end_to_end_per_s": round(paced["end_to_end_rate"], 2),
        "nudge_ceiling_per_s": round(ceiling["rate"], 1),
        "nudge_ceiling_429": int(ceiling["rate_limited"]),
        "nudge_restart_pending": int(restarted["pending"]),
        "nudge_restart_ready_s": round(restarted["ready_s"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
