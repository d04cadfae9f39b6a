"""Several real bot processes on one PostgreSQL database, in webhook mode, behind
a reverse proxy played by the test: the harness of tests/runtime/test_cluster_e2e.py
and bench/cluster.py.

Each `Node` is `python -m bot.cli run --config <its file>` (PYTHONPATH inherited,
so it runs this checkout), with its own `[http] listen` port and data folder. The
fake Bot API (tests/fakes/telegram_api.py) POSTs its webhook calls to the `Proxy`,
which spreads them round-robin across the nodes and, when one does not accept the
connection (killed, restarting), passes the call to the next one — what nginx's
`proxy_next_upstream error` or Caddy's `lb_try_duration` do. A call already sent
to a node that dies before answering is not replayed elsewhere (a POST is not
idempotent for a proxy either): the proxy answers 502 and Telegram sends the
update again later, which the bot's claimed update id makes count once.

A node can be killed with SIGKILL, started again, and asked for its `/healthz`
and `/metrics`. Roles (which process holds the Matrix sync, the scheduled jobs…)
are read from `/healthz`, as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_URL = "https://aiguillage.example.org/telegram/hook"
SECRET = "Cluster_webhook-secret-0123456789"
# The command each node runs; bench/cluster.py swaps in tests/runtime/unpaced_bot.py.
BOT_MODULE = "bot.cli"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_lines(sections: dict[str, dict[str, Any]]) -> list[str]:
    """TOML of plain values (JSON's strings, numbers, lists and inline tables
    written as TOML understands them)."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {toml_value(value)}")
    return lines


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def roles_of(health: dict[str, Any] | None) -> set[str]:
    """The roles a node says it holds in `/healthz` (`roles`: a list of names,
    or a mapping of name to held/true)."""
    if not health:
        return set()
    roles = health.get("roles")
    if isinstance(roles, dict):
        return {
            name
            for name, held in roles.items()
            if held is True or (isinstance(held, str) and held in ("held", "holder", "leader"))
        }
    if isinstance(roles, list | tuple):
        return {str(name) for name in roles}
    return set()


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a metric over its labels, those given fixed."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample_name, found), value in samples.items()
        if sample_name == name and wanted <= found
    )


@dataclass
class Node:
    """One bot process (started again in place after a kill: same port, same folder)."""

    index: int
    port: int
    folder: Path
    config: Path
    env: dict[str, str]
    module: str = BOT_MODULE
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def name(self) -> str:
        return f"bot-{self.index}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "bot.log"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is running"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts} of {self.name}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                [sys.executable, "-m", self.module, "run", "--config", str(self.config)],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """kill -9: no clean stop, its connections (and PostgreSQL locks) just drop."""
        assert self.popen is not None and self.alive, f"{self.name} is not running"
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self.kills += 1

    async def stop(self) -> int | None:
        """SIGTERM (a clean stop); returns the exit code."""
        if self.popen is None or not self.alive:
            return None if self.popen is None else self.popen.returncode
        self.popen.terminate()
        try:
            return await asyncio.to_thread(self.popen.wait, 30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return await asyncio.to_thread(self.popen.wait, 10)

    async def get(self, session: aiohttp.ClientSession, path: str) -> tuple[int, str] | None:
        try:
            async with session.get(
                self.url + path, timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def healthz(self, session: aiohttp.ClientSession) -> dict[str, Any] | None:
        """The `/healthz` body (200 or 503), None when the node does not answer."""
        got = await self.get(session, "/healthz")
        if got is None:
            return None
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(got[1])
            return body if isinstance(body, dict) else None
        return None

    async def metrics(self, session: aiohttp.ClientSession) -> Samples | None:
        got = await self.get(session, "/metrics")
        if got is None or got[0] != 200:
            return None
        samples: Samples = {}
        for family in text_string_to_metric_families(got[1]):
            for found in family.samples:
                samples[(found.name, frozenset(found.labels.items()))] = found.value
        return samples

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@dataclass
class Proxy:
    """The reverse proxy in front of the nodes: round-robin, next node on a refused
    connection (the refusing node is skipped for `down_for` seconds, as nginx's
    `max_fails`/`fail_timeout` would), 502 when every node refuses or one dies
    with the call in hand."""

    nodes: Sequence[Node]
    down_for: float = 1.0
    port: int = 0
    forwarded: dict[str, int] = field(default_factory=dict)
    passed_on: int = 0  # calls sent to the next node after a refused connection
    bad_gateway: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _down_until: dict[int, float] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def order(self) -> list[Node]:
        """Every node once, starting at the next in turn, those marked down last."""
        start = next(self._turn)
        ring = [self.nodes[(start + k) % len(self.nodes)] for k in range(len(self.nodes))]
        now = time.monotonic()
        up = [n for n in ring if self._down_until.get(n.index, 0.0) <= now]
        return up + [n for n in ring if n not in up]

    async def forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        for attempt, node in enumerate(self.order()):
            try:
                async with self._session.request(
                    request.method,
                    node.url + request.path_qs,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    answer = await response.read()
                    self.forwarded[node.name] = self.forwarded.get(node.name, 0) + 1
                    if attempt:
                        self.passed_on += 1
                    return web.Response(
                        status=response.status,
                        body=answer,
                        content_type=response.content_type,
                    )
            except aiohttp.ClientConnectorError:
                # Nothing reached the node: another one may take the call.
                self._down_until[node.index] = time.monotonic() + self.down_for
                continue
            except (aiohttp.ClientError, TimeoutError):
                # The node had the call and died with it: Telegram will send it again.
                self.bad_gateway += 1
                return web.Response(status=502, text="bad gateway")
        self.bad_gateway += 1
        return web.Response(status=502, text="no upstream")


@dataclass
class Cluster:
    """N nodes, the proxy, and the fake Bot API's webhook routed to the proxy."""

    tg: FakeTelegram
    database_url: str
    folder: Path
    size: int = 3
    # Extra config sections, merged over the defaults ([matrix], [followup]…).
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    module: str = BOT_MODULE
    nodes: list[Node] = field(default_factory=list)
    proxy: Proxy | None = None
    session: aiohttp.ClientSession | None = None

    def node_config(self, node_folder: Path, port: int, name: str) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {
            "bot": {"log_level": "INFO", "data_dir": str(node_folder)},
            "telegram": {
                "mode": "webhook",
                "webhook_url": WEBHOOK_URL,
                "webhook_secret": SECRET,
            },
            "http": {"listen": f"127.0.0.1:{port}"},
            "database": {"url": self.database_url},
        }
        for section, values in self.sections.items():
            sections[section] = {**sections.get(section, {}), **values}
        return sections

    def env(self, node_folder: Path) -> dict[str, str]:
        # The database is in the config file; the environment must not override it.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k != "AIGUILLAGE_DATABASE_URL" and not k.startswith("AIGUILLAGE_MATRIX_")
        }
        return {
            **inherited,
            "AIGUILLAGE_TELEGRAM_TOKEN": self.tg.token,
            "AIGUILLAGE_TELEGRAM_API_BASE_URL": self.tg.base_url,
            "AIGUILLAGE_TELEGRAM_FILE_BASE_URL": self.tg.base_file_url,
            "AIGUILLAGE_LOCALE": "fr",
        }

    def prepare(self) -> None:
        """Write each node's folder and config file (nothing started)."""
        for index in range(1, self.size + 1):
            node_folder = self.folder / f"bot-{index}"
            node_folder.mkdir(parents=True, exist_ok=True)
            port = free_port()
            config = node_folder / "config.toml"
            lines = toml_lines(self.node_config(node_folder, port, f"bot-{index}"))
            config.write_text("\n".join(lines) + "\n")
            self.nodes.append(
                Node(index, port, node_folder, config, self.env(node_folder), self.module)
            )

    async def start(self, which: Iterable[int] | None = None, timeout: float = 60.0) -> None:
        """Start the proxy (once) and the nodes `which` (all by default), and wait
        until each answers /healthz."""
        if not self.nodes:
            self.prepare()
        if self.session is None:
            self.session = aiohttp.ClientSession()
        if self.proxy is None:
            self.proxy = Proxy(self.nodes)
            await self.proxy.start()
            # Telegram calls the proxy; the proxy calls the nodes.
            self.tg.route_webhook(self.proxy.url)
        chosen = [self.nodes[i] for i in (which if which is not None else range(self.size))]
        for node in chosen:
            node.start()
        await asyncio.gather(*(self.ready(node, timeout) for node in chosen))

    async def ready(self, node: Node, timeout: float = 60.0) -> None:
        assert self.session is not None
        deadline = time.monotonic() + timeout
        while True:
            if not node.alive:
                raise AssertionError(f"{node.name} exited at start:\n{node.tail()}")
            health = await node.healthz(self.session)
            if health is not None and "bot started" in node.tail(20_000):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{node.name} never answered /healthz:\n{node.tail()}")
            await asyncio.sleep(0.1)

    async def restart(self, node: Node, timeout: float = 60.0) -> None:
        node.start()
        await self.ready(node, timeout)

    async def healths(self) -> list[dict[str, Any] | None]:
        assert self.session is not None
        return list(await asyncio.gather(*(n.healthz(self.session) for n in self.nodes)))

    async def roles(self) -> dict[str, set[str]]:
        """Role name -> the nodes that say they hold it (one each, when all is well)."""
        held: dict[str, set[str]] = {}
        for node, health in zip(self.nodes, await self.healths(), strict=True):
            if not node.alive:
                continue
            for role in roles_of(health):
                held.setdefault(role, set()).add(node.name)
        return held

    async def leader(self, timeout: float = 30.0) -> Node:
        """The node holding the most roles (all of them, usually), once every role
        has a holder."""
        deadline = time.monotonic() + timeout
        while True:
            held = await self.roles()
            if held and all(len(holders) == 1 for holders in held.values()):
                counts: dict[str, int] = {}
                for holders in held.values():
                    for name in holders:
                        counts[name] = counts.get(name, 0) + 1
                best = max(counts, key=lambda name: counts[name])
                return next(n for n in self.nodes if n.name == best)
            if time.monotonic() > deadline:
                raise AssertionError(f"no leader: roles {held}")
            await asyncio.sleep(0.1)

    async def kill_and_time_takeover(self, node: Node, timeout: float = 30.0) -> float:
        """kill -9 `node`; seconds until every role it held is held by a live node."""
        before = {role for role, holders in (await self.roles()).items() if node.name in holders}
        node.kill()
        killed_at = time.monotonic()
        if not before:
            return 0.0
        while True:
            held = await self.roles()
            if all(held.get(role) for role in before):
                return time.monotonic() - killed_at
            if time.monotonic() - killed_at > timeout:
                raise AssertionError(f"roles {sorted(before)} not taken over: {held}")
            await asyncio.sleep(0.05)

    async def metrics(self) -> list[Samples | None]:
        assert self.session is not None
        return list(await asyncio.gather(*(n.metrics(self.session) for n in self.nodes)))

    async def stop(self) -> list[int | None]:
        codes = list(await asyncio.gather(*(n.stop() for n in self.nodes)))
        if self.proxy is not None:
            await self.proxy.stop()
            self.proxy = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        return codes

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(f"=== {n.name}\n{n.tail(chars)}" for n in self.nodes)


@dataclass
class Counted:
    """A counter read from /metrics across restarts: each process starts at zero,
    so the last value read from each process (each start of each node) adds up."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    last: dict[tuple[int, int], float] = field(default_factory=dict)

    def read(self, cluster: Cluster, samples: Sequence[Samples | None]) -> None:
        for node, found in zip(cluster.nodes, samples, strict=True):
            if found is not None and node.alive:
                self.last[(node.index, node.starts)] = total(found, self.name, **self.labels)

    @property
    def value(self) -> float:
        return sum(self.last.values())


def sends(tg: FakeTelegram) -> list[tuple[int, str, str]]:
    """Every message the bot delivered, as (chat, method, content): what a person
    would see twice if it were sent twice. Edits are left out (an edit repeated
    leaves the message as it was)."""
    found = []
    for call in tg.calls:
        if call.status != 200 or call.method not in ("sendMessage", "sendDocument", "sendPhoto"):
            continue
        content = json.dumps(
            [
                call.params.get("text") or call.params.get("caption"),
                call.params.get("reply_markup"),
            ],
            sort_keys=True,
            default=str,
        )
        found.append((int(call.params.get("chat_id", 0)), call.method, content))
    return found


def duplicates(tg: FakeTelegram) -> int:
    """Messages delivered more than once to the same chat (each extra copy counts)."""
    seen = sends(tg)
    return len(seen) - len(set(seen))
