"""Wiring: database, runtime, dispatcher and one transport, started and stopped
in order."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from nio import AsyncClient

from bot.assignment.executor import DeskExecutor
from bot.assignment.offers import Offers
from bot.assignment.person import PersonDesk
from bot.assignment.rooms import Rooms
from bot.catalog.index_cache import cache_folder
from bot.catalog.service import MatchIndexCache
from bot.config.cluster import process_name
from bot.config.followup import CoordinatorsConfig
from bot.config.load import Config, ConfigError, require_token
from bot.config.matrix import MatrixConfig
from bot.coordination.call import AssignmentDesk, Services
from bot.coordination.roles import ConfiguredCoordinators
from bot.coordination.router import AdminDesk
from bot.delivery.outbox import Dispatcher, Sender
from bot.delivery.pacing import NoPacing, Pacer
from bot.followup.blocked import BlockedChats
from bot.followup.executor import FollowupRuntime
from bot.followup.nudges import NudgeScheduler, NudgeWorker
from bot.privacy.service import RetentionJob
from bot.reports.digest import WeeklyDigest
from bot.runtime import heap
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.core import Runtime
from bot.runtime.flood import FloodGate
from bot.runtime.leadership import MATRIX_SYNC, TELEGRAM_POLL, Leadership, Role
from bot.runtime.roles import matrix_role, scheduler_role, telegram_role
from bot.transports.console.chat import TRANSPORT as CONSOLE
from bot.transports.console.chat import ConsoleScreen, ConsoleSender, ConsoleTransport
from bot.transports.http.health import Health, check
from bot.transports.http.metrics import MeteredDesk, MeteredRuntime, Metrics, read_gauges
from bot.transports.http.server import HttpServer
from bot.transports.matrix.client import Membership, build_client
from bot.transports.matrix.sender import TRANSPORT as MATRIX
from bot.transports.matrix.sender import MatrixSender
from bot.transports.matrix.service import MatrixService
from bot.transports.telegram.transport import TRANSPORT as TELEGRAM
from bot.transports.telegram.transport import (
    TelegramSender,
    TelegramTransport,
    build_application,
)
from bot.transports.telegram.webhook import TelegramWebhook
from dialogs.kernel.replies import msg
from storage.db import Database, is_sqlite
from storage.migrate import upgrade

log = logging.getLogger(__name__)


async def open_database(config: Config) -> Database:
    if is_sqlite(config.database.url):
        check_sqlite_folder(config)
    db = Database(config.database.url)
    await upgrade(db)
    return db


def check_sqlite_folder(config: Config) -> None:
    """The SQLite file's folder (usually `[bot] data_dir`) exists and this user may
    write in it, else a ConfigError naming the key to fix, not the database URL."""
    from bot.cli.errors import os_error_msg, system_user
    from storage.backup import sqlite_path

    path = sqlite_path(config.database.url)
    folder = path.parent
    key = "[bot] data_dir" if folder.absolute() == config.data_dir.absolute() else "[database] url"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        problem = None
        if not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.R_OK | os.W_OK)
        ):
            problem = os_error_msg(PermissionError(errno.EACCES, "denied"))
    except OSError as exc:
        problem = os_error_msg(exc)
    if problem is not None:
        raise ConfigError(
            msg(
                "config.data_dir_unusable",
                key=key,
                path=str(folder),
                user=system_user(),
                detail=problem,
            )
        )


async def run_chat(
    config: Config,
    out: IO[str] | None = None,
    read_line: Callable[[], str] | None = None,
    clock: Clock | None = None,
) -> None:
    db = await open_database(config)
    try:
        screen = ConsoleScreen(out or sys.stdout)
        clock = clock or SystemClock()
        # A terminal has no flood limits (neither per person nor towards Telegram).
        runtime = Runtime(db, clock, flood=FloodGate.disabled())
        dispatcher = Dispatcher(db, clock, {CONSOLE: ConsoleSender(screen)}, pacer=NoPacing())
        transport = ConsoleTransport(runtime, dispatcher, screen, locale=config.locale)
        await transport.run(read_line=read_line)
    finally:
        await db.dispose()


def coordination_desk(
    config: Config,
    coordinators: CoordinatorsConfig,
    clock: Clock,
    desk: AssignmentDesk | None = None,
) -> AdminDesk:
    """Coordination commands, for the people of [coordinators] and the coordinators
    table; `desk` carries out their assignments (None without Matrix)."""
    services = Services(coordinators=coordinators, settings={"report": config.report}, desk=desk)
    return AdminDesk(clock, services)


@dataclass(frozen=True, slots=True)
class AssignmentSide:
    """What the aiguilleurs' desk is made of, built before the coordination desk,
    the runtime and the outbox, which each take a part of it; the Matrix desk
    and service, which need the outbox, come after it (`BotService.start_matrix`)."""

    matrix: MatrixConfig
    client: AsyncClient
    sender: MatrixSender
    membership: Membership
    executor: DeskExecutor
    offers: Offers


def assignment_side(
    config: Config,
    matrix: MatrixConfig,
    db: Database,
    clock: Clock,
    syncing: Callable[[], bool] = lambda: True,
) -> AssignmentSide:
    client = build_client(matrix)
    membership = Membership(client, current=syncing)
    executor = DeskExecutor(
        clock,
        Rooms(membership.joined),
        locale=config.locale,
        offer_timeout=matrix.offer_timeout,
        coordinators_room=config.coordinators.matrix_room,
        coordinators=ConfiguredCoordinators.of(config.coordinators),
    )
    return AssignmentSide(
        matrix=matrix,
        client=client,
        sender=MatrixSender(client),
        membership=membership,
        executor=executor,
        offers=Offers(db, clock, executor),
    )


class BotService:
    """The bot: database, runtime, outbox dispatcher, Telegram polling and, when
    `[matrix]` is configured, the aiguilleurs' side; started and stopped in
    order. Telegram is required only without Matrix. `run_bot` runs one until a
    signal; tests run one in process against a fake Bot API and Synapse."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        rate_limit: bool = True,
        pacer: Pacer | None = None,
    ) -> None:
        self.config = config
        # Without Matrix the bot is Telegram only, so the token is required.
        needs_telegram = bool(config.telegram.token) or config.matrix is None
        self.token = require_token(config) if needs_telegram else ""
        self.matrix: MatrixService | None = None
        self.transport: TelegramTransport | None = None
        self.clock = clock or SystemClock()
        self.rate_limit = rate_limit
        # rate_limit=False (tests against an unlimited fake) also drops the pacing.
        self.pacer = pacer or (Pacer() if rate_limit else NoPacing())
        self.tasks: list[asyncio.Task[None]] = []
        # What one process runs for all (bot/runtime/roles.py), started by `leadership`.
        self.roles: list[Role] = []
        # Telegram's webhook ([telegram] mode = "webhook") and the HTTP server
        # ([http] listen) that receives it and answers /healthz and /metrics.
        self.webhook: TelegramWebhook | None = None
        self.http: HttpServer | None = None
        transports = ([TELEGRAM] if self.token else []) + ([MATRIX] if config.matrix else [])
        self.metrics = Metrics(transports)

    async def start(self) -> None:
        # Each object gets its collaborators at construction, so they are built in
        # dependency order: the desk's parts, coordination, the runtime, the
        # outbox (with the senders and its hooks), then what wakes the outbox.
        self.db = await open_database(self.config)
        coordinators = self.config.coordinators
        followup = FollowupRuntime(self.config.followup, coordinators)
        if not followup.coordinator_targets() and self.config.matrix is None:
            # Said once here, not only when someone asks: nobody would see it then.
            log.warning(
                "help requests reach nobody: set [coordinators] telegram_ids or matrix_room "
                "(people who answer a check-in with \"J'ai besoin d'aide\" are told so)"
            )
        side = (
            assignment_side(
                self.config, self.config.matrix, self.db, self.clock, syncing=self.syncs_matrix
            )
            if self.config.matrix is not None
            else None
        )
        executor = side.executor if side is not None else None
        self.admin = coordination_desk(self.config, coordinators, self.clock, desk=executor)
        self.runtime = MeteredRuntime(
            self.db,
            self.clock,
            followup,
            metrics=self.metrics,
            desk=PersonDesk(executor) if executor is not None else None,
            admin=self.admin,
            matches=MatchIndexCache(cache_folder(self.config.data_dir), on_built=heap.settle),
        )
        application = build_application(self.config.telegram, self.token) if self.token else None
        senders: dict[str, Sender] = {}
        if application is not None:
            senders[TELEGRAM] = TelegramSender(application)
        if side is not None:
            senders[MATRIX] = side.sender
        self.dispatcher = Dispatcher(
            self.db,
            self.clock,
            senders,
            pacer=self.pacer,
            on_blocked=BlockedChats(self.db, self.clock, followup).contact_failed,
            on_sent={MATRIX: side.offers.posted} if side is not None else {},
            on_resumed=self.metrics.count_resumed,
            may_send={MATRIX: self.syncs_matrix},
        )
        self.nudges = NudgeWorker(
            self.db,
            self.clock,
            self.runtime,
            followup,
            on_queued=self.dispatcher.kick,
            pace=self.pacer.interval / 2,
        )
        self.scheduler = NudgeScheduler(self.nudges, self.clock, self.config.followup.wake_interval)
        # The nightly retention purge ([privacy]), woken by the same APScheduler.
        self.retention = RetentionJob(self.db, self.clock, self.config.privacy)
        self.retention.start(self.scheduler.scheduler)
        # The coordinators' weekly digest ([report] digest), woken the same way.
        self.digest = WeeklyDigest(
            self.db, self.clock, self.config.report, coordinators, self.dispatcher.kick
        )
        self.digest.start(self.scheduler.scheduler)
        self.tasks = []
        self.roles = [scheduler_role(self.scheduler, self.retention, self.digest)]
        if application is not None:
            self.transport = TelegramTransport(
                self.config.telegram, application, self.runtime, self.dispatcher.kick
            )
            await self.transport.start()
            telegram = self.config.telegram
            if telegram.mode == "webhook":
                self.webhook = TelegramWebhook(
                    self.transport, telegram.webhook_url, telegram.webhook_secret
                )
            else:
                self.roles.append(telegram_role(self.transport, self.polls))
        if side is not None:
            await self.start_matrix(side)
        self.scheduler.start(paused=True)
        self.leadership = Leadership(self.db, process_name(self.config.cluster), self.roles)
        await self.leadership.begin()
        self.tasks += [
            asyncio.create_task(self.dispatcher.run(), name="outbox"),
            asyncio.create_task(self.leadership.run(), name="leadership"),
        ]
        await self.start_http()
        heap.settle()
        log.info("bot started")

    def polls(self) -> bool:
        """This process may call getUpdates now."""
        return self.leadership.holds(TELEGRAM_POLL)

    def syncs_matrix(self) -> bool:
        """This process may send to Matrix now: the one that syncs knows the rooms
        and the device keys; elsewhere a Matrix row would only be told "not ready"."""
        # Asked from the first Matrix sync on, which comes before the roles exist.
        leadership: Leadership | None = getattr(self, "leadership", None)
        return leadership is not None and leadership.holds(MATRIX_SYNC)

    async def start_http(self) -> None:
        """The server first, then setWebhook: Telegram may call at once."""
        if self.config.http is None:
            if self.webhook is not None:
                raise ConfigError(msg("config.webhook_needs", key="[http] listen"))
            return
        self.http = HttpServer(
            self.config.http,
            self.health,
            self.metrics,
            lambda: read_gauges(self.db, self.clock),
            self.webhook,
            self.leadership,
        )
        await self.http.start()
        if self.webhook is not None:
            await self.webhook.register()

    async def health(self) -> Health:
        # Only the process that syncs knows how the homeserver answers.
        syncing = self.matrix is not None and self.leadership.holds(MATRIX_SYNC)
        matrix = self.matrix.health() if self.matrix is not None and syncing else None
        tasks = [*self.tasks, *self.leadership.tasks()]
        health = await check(self.db, tasks, matrix)
        health.body["process"] = self.leadership.process
        health.body["roles"] = sorted(self.leadership.held)
        return health

    async def start_matrix(self, side: AssignmentSide) -> None:
        desk = MeteredDesk(
            self.db,
            self.clock,
            side.executor,
            side.offers,
            admin=self.admin,
            kick=self.dispatcher.kick,
            metrics=self.metrics,
        )
        self.matrix = MatrixService(
            side.matrix,
            self.db,
            self.clock,
            desk,
            client=side.client,
            sender=side.sender,
            membership=side.membership,
            locale=self.config.locale,
            coordinators=self.config.coordinators.matrix_ids,
        )
        await self.matrix.start()
        self.roles.append(matrix_role(self.matrix))

    async def wait(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; re-raises if polling or delivery died. The roles'
        tasks come and go (bot/runtime/leadership.py): looked at every second."""
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stopper.done():
                watched = [t for t in (*self.tasks, *self.leadership.tasks()) if not t.done()]
                await asyncio.wait(
                    [*watched, stopper], timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                )
                for task in watched:
                    if task.done() and not task.cancelled():
                        error = task.exception()
                        if error is not None:
                            raise error
        finally:
            stopper.cancel()

    async def stop(self) -> None:
        # The outbox and the nudge worker finish the unit of work in hand first:
        # a task cancelled inside a transaction leaves its connection to be
        # closed in the background, which can hang the process at exit.
        # Webhook calls in hand finish their unit of work before the server closes.
        if self.http is not None:
            await self.http.stop()
        self.dispatcher.stop()
        # The scheduler's loops finish their work in hand; then the roles' lock goes.
        await self.leadership.stop(grace=10)
        graceful = [t for t in self.tasks if t.get_name() == "outbox"]
        if graceful:
            await asyncio.wait(graceful, timeout=10)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.scheduler.shutdown()
        if self.transport is not None:
            await self.transport.stop()
        if self.matrix is not None:
            await self.matrix.stop()
        await self.db.dispose()
        log.info("bot stopped")


async def run_bot(config: Config) -> None:
    """Poll Telegram until SIGINT/SIGTERM."""
    service = BotService(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await service.wait(stop)
    finally:
        await service.stop()
