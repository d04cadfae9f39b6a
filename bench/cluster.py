"""Several webhook processes on one PostgreSQL: updates per second with 1 and
with 3 processes, takeover after killing the leader, duplicates.

The processes are real `aiguillage run` processes (tests/runtime/webhook_cluster.py),
in webhook mode behind the harness's round-robin proxy, on a private PostgreSQL
(tests/fakes/postgres.py: `fsync` off, so commits cost less than on a server
that keeps its data). The fake Bot API (tests/fakes/telegram_api.py) delivers
the webhook over 40 connections, as Telegram does by default, one call per
person at a time. Sends are not paced (tests/runtime/unpaced_bot.py): the bench
measures what the processes can handle, not Telegram's 30 messages per second
per bot, which no number of processes raises.

Load: M people each post K messages at once (`/start`, then texts), all queued
at the fake before the clock starts; the figure is updates per second from the
first call until every reply has reached the fake (the outbox drained). The
same load for 1 and for 3 processes, each on a fresh database, `--repeats`
times, the median kept. Besides wall time, the CPU seconds the bot processes
and PostgreSQL spent per update are read from /proc: on a shared machine the
wall time moves with the neighbours, the CPU per update much less.

Takeover: in the 3-process cluster, the process holding the roles (Matrix sync
and scheduled jobs; /healthz says which) is killed with SIGKILL; the figure is
the time until another process says it holds them. Duplicates: messages the
fake received more often than the outbox has rows.

On a 2-core machine, 3 processes do not beat 1: with every process sharing
the same two cores (with PostgreSQL, the fake and the proxy), the CPU spent per
update sets the rate, and three processes spend about half as much again per
update as one (three event loops and connection pools, each looking for rows
to send, renewing its leases and checking its locks). The second process buys
availability here, not speed; throughput grows with processes only when each
has cores (a machine) of its own, and Telegram's 30 messages per second per bot
caps the replies long before (docs/deploiement.md, "Plusieurs processus").

Run: ``python bench/cluster.py`` (``--quick`` for a short run); needs the
PostgreSQL server binaries. Prints a table, then as its last line one JSON
object (``cluster_updates_per_s_1``, ``cluster_updates_per_s_3``,
``cluster_takeover_s``, ``cluster_duplicates``, plus details).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/cluster.py`
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.catalog.service import load_starter_catalog  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.core import OutboxMessage  # noqa: E402
from tests.fakes.postgres import PostgresServer, find_pg_bin, start_postgres  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.runtime.webhook_cluster import Cluster  # noqa: E402

TOKEN = "123456:BENCH-token"
# What the bot sends on a person's behalf (edits and removed buttons included).
SEND_METHODS = (
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "editMessageText",
    "editMessageReplyMarkup",
)
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of these processes so far (those gone left out)."""
    spent: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return spent


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent in between; a process born in between (a new PostgreSQL backend)
    counts whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postgres_pids(server: PostgresServer) -> list[int]:
    """The postmaster and its children (one backend per connection)."""
    try:
        master = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [master]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(entry.name))
    return pids


def sent(tg: FakeTelegram) -> int:
    return sum(tg.stats.sent[method] for method in SEND_METHODS)


async def unsent(db: Database) -> int:
    async with db.unit() as uow:
        return int(
            await uow.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent")
            )
            or 0
        )


async def rows(db: Database) -> int:
    async with db.unit() as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.transport == "telegram", OutboxMessage.state == "sent")
            )
            or 0
        )


@dataclass
class Run:
    processes: int
    updates: int
    seconds: float
    bot_cpu: float
    postgres_cpu: float
    harness_cpu: float
    duplicates: int
    spread: dict[str, int]

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def cpu_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.updates


async def fresh_database(server: PostgresServer, name: str) -> str:
    url = server.create_database(name)
    db = Database(url)
    try:
        await upgrade(db)
        await load_starter_catalog(db, include_demo_aiguilleurs=False)
    finally:
        await db.dispose()
    return url


async def load(
    cluster: Cluster, tg: FakeTelegram, db: Database, server: PostgresServer, people: int, k: int
) -> Run:
    """M people × K messages queued at once; until every reply reached the fake."""
    bot_pids = [n.popen.pid for n in cluster.nodes if n.popen is not None and n.alive]
    rows_before, sent_before = await rows(db), sent(tg)
    forwarded_before = dict(cluster.proxy.forwarded) if cluster.proxy else {}
    users = [tg.user(f"P{n}", language_code="fr") for n in range(people)]
    bot_cpu, pg_cpu = cpu_by_pid(bot_pids), cpu_by_pid(postgres_pids(server))
    own_cpu = time.process_time()
    began = time.perf_counter()
    for user in users:
        await user.say("/start")
        for index in range(1, k):
            await user.say(f"Message {index} de {user.first_name}")
    await tg.wait_delivered(timeout=600)
    # Not more often: these queries are PostgreSQL work the bench would count.
    while await unsent(db):
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - began
    bot_seconds = cpu_between(bot_cpu, cpu_by_pid(bot_pids))
    pg_seconds = cpu_between(pg_cpu, cpu_by_pid(postgres_pids(server)))
    own_cpu = time.process_time() - own_cpu
    doubled = (sent(tg) - sent_before) - (await rows(db) - rows_before)
    spread = {
        name: count - forwarded_before.get(name, 0)
        for name, count in (cluster.proxy.forwarded if cluster.proxy else {}).items()
    }
    for user in users:
        tg.forget(user)
    return Run(
        len(cluster.nodes), people * k, seconds, bot_seconds, pg_seconds, own_cpu, doubled, spread
    )


async def measure(
    server: PostgresServer, folder: Path, size: int, people: int, k: int, name: str
) -> tuple[Run, list[float]]:
    """One cluster of `size` processes on a fresh database: the load (after a
    warm-up), then for 3 processes a kill of the leader. Returns the run and the
    takeover times."""
    url = await fresh_database(server, name)
    db = Database(url)
    takeovers: list[float] = []
    async with FakeTelegram(token=TOKEN, max_recorded_calls=10) as tg:
        tg.webhook_connections = 40
        cluster = Cluster(tg, url, folder / name, size=size, module="tests.runtime.unpaced_bot")
        try:
            await cluster.start()
            await load(cluster, tg, db, server, max(5, people // 10), 2)  # warm-up
            run = await load(cluster, tg, db, server, people, k)
            if size > 1:
                leader = await cluster.leader()
                takeovers.append(await cluster.kill_and_time_takeover(leader))
        finally:
            await cluster.stop()
            await db.dispose()
    return run, takeovers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="M people (200)")
    parser.add_argument("--messages", type=int, default=5, help="K messages each (5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each size (3)")
    parser.add_argument("--quick", action="store_true", help="100 people, 1 run of each size")
    args = parser.parse_args()
    if args.quick:
        args.people, args.repeats = 100, 1
    logging.basicConfig(level=logging.ERROR)
    if find_pg_bin() is None:
        print("PostgreSQL server binaries not found: this benchmark needs them", file=sys.stderr)
        return 2

    # Two folders: PostgreSQL's must be reachable by the account it runs as.
    base = Path(tempfile.mkdtemp(prefix="aiguillage-bench-cluster-"))
    server = start_postgres(Path(tempfile.mkdtemp(prefix="aiguillage-bench-pg-")))
    work = base / "runs"
    runs: dict[int, list[Run]] = {1: [], 3: []}
    takeovers: list[float] = []
    try:
        for repeat in range(args.repeats):
            # Alternating sizes: a neighbour's burst hits both, not one.
            for size in (1, 3):
                run, seen = await measure(
                    server, work, size, args.people, args.messages, f"b{size}_{repeat}"
                )
                runs[size].append(run)
                takeovers += seen
                print(
                    f"run {repeat + 1}, {size} process(es): {run.rate:7.1f} updates/s "
                    f"({run.updates} in {run.seconds:.2f} s), CPU per update: bot "
                    f"{run.cpu_ms(run.bot_cpu):.2f} ms, PostgreSQL "
                    f"{run.cpu_ms(run.postgres_cpu):.2f} ms, fake+proxy "
                    f"{run.cpu_ms(run.harness_cpu):.2f} ms; per process {run.spread}"
                    + (f"; takeover {seen[0]:.2f} s" if seen else ""),
                    flush=True,
                )
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)

    def figure(size: int, pick: Any) -> float:
        return median([pick(run) for run in runs[size]])

    load_avg = os.getloadavg()
    print()
    print(f"{args.people} people x {args.messages} messages, {args.repeats} run(s) each")
    print(f"{os.cpu_count()} cores, load average {load_avg[0]:.1f} at the end")
    print(f"{'processes':<11}{'updates/s':>10}{'min':>8}{'max':>8}{'bot ms':>8}{'pg ms':>8}")
    for size in (1, 3):
        rates = [run.rate for run in runs[size]]
        print(
            f"{size:<11}{median(rates):>10.1f}{min(rates):>8.1f}{max(rates):>8.1f}"
            f"{figure(size, lambda r: r.cpu_ms(r.bot_cpu)):>8.2f}"
            f"{figure(size, lambda r: r.cpu_ms(r.postgres_cpu)):>8.2f}"
        )
    print("(bot ms, pg ms: CPU milliseconds per update in the bot processes and in PostgreSQL)")
    if takeovers:
        print(f"takeover after kill -9 of the leader: {', '.join(f'{s:.2f}' for s in takeovers)} s")
    duplicates = sum(run.duplicates for size in runs for run in runs[size])
    print(f"duplicates: {duplicates}")
    speedup = figure(3, lambda r: r.rate) / figure(1, lambda r: r.rate)
    cpu_growth = figure(3, lambda r: r.cpu_ms(r.bot_cpu)) / figure(1, lambda r: r.cpu_ms(r.bot_cpu))
    # Said from this run's figures: on a machine whose cores all processes share,
    # the rate follows the CPU spent per update, which more processes raise.
    print(
        f"3 processes vs 1: {speedup:.2f} x the updates/s, {cpu_growth:.2f} x the bot CPU per "
        f"update, on {os.cpu_count()} cores shared by every process, PostgreSQL and the fake."
    )
    result = {
        "cluster_updates_per_s_1": round(figure(1, lambda r: r.rate), 1),
        "cluster_updates_per_s_3": round(figure(3, lambda r: r.rate), 1),
        "cluster_takeover_s": round(max(takeovers), 2) if takeovers else None,
        "cluster_duplicates": duplicates,
        "cluster_runs_1": [round(r.rate, 1) for r in runs[1]],
        "cluster_runs_3": [round(r.rate, 1) for r in runs[3]],
        "cluster_bot_cpu_ms_per_update_1": round(figure(1, lambda r: r.cpu_ms(r.bot_cpu)), 3),
        "cluster_bot_cpu_ms_per_update_3": round(figure(3, lambda r: r.cpu_ms(r.bot_cpu)), 3),
        "cluster_pg_cpu_ms_per_update_1": round(figure(1, lambda r: r.cpu_ms(r.postgres_cpu)), 3),
        "cluster_pg_cpu_ms_per_update_3": round(figure(3, lambda r: r.cpu_ms(r.postgres_cpu)), 3),
        "cluster_takeovers_s": [round(s, 2) for s in takeovers],
        "cluster_people": args.people,
        "cluster_messages": args.messages,
        "cluster_cores": os.cpu_count(),
        "cluster_load_average": round(load_avg[0], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
