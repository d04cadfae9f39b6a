"""Prometheus metrics in the text exposition format (version 0.0.4), by hand.

Five figures an operator watches: updates handled per transport and outcome
(counter), handler latency (histogram, wall time: a measurement, not logic, so
`time.perf_counter` and not the injected clock), outbox rows taken over from a
dead process (counter: each may reach its recipient twice), outbox depth and
nudges due (gauges read from the database at scrape time, so they are true
after a restart). Counters live in memory and start at zero with the process, as
Prometheus expects of counters.

The counting wraps the handlers (`MeteredRuntime`, `MeteredDesk`) instead of
living inside them: the runtime stays about units of work.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.assignment.desk import MatrixDesk
from bot.delivery.outbox import GIVEN_UP, RESENT
from bot.runtime.clock import Clock
from bot.runtime.core import Handled, Incoming, Runtime
from bot.runtime.leadership import Leadership
from bot.transports.matrix.client import RoomEvent
from bot.transports.matrix.sender import TRANSPORT as MATRIX
from storage.db import Database

HANDLED = "handled"
DUPLICATE = "duplicate"
ERROR = "error"
OUTCOMES = (HANDLED, DUPLICATE, ERROR)
# Seconds. A unit of work takes milliseconds; the tail shows a locked database.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[index] += 1
        self.total += seconds
        self.count += 1


@dataclass(frozen=True, slots=True)
class Gauges:
    outbox_pending: int
    nudges_due: int


class Metrics:
    def __init__(self, transports: Iterable[str] = ()) -> None:
        # Known transports are exported at zero from the start, so that a rate()
        # over the first updates is right.
        self.updates: dict[tuple[str, str], int] = {
            (transport, outcome): 0 for transport in transports for outcome in OUTCOMES
        }
        self.latency: dict[str, Histogram] = {transport: Histogram() for transport in transports}
        self.resumed: dict[tuple[str, str], int] = {
            (transport, outcome): 0 for transport in transports for outcome in (RESENT, GIVEN_UP)
        }

    def count_resumed(self, transport: str, outcome: str, rows: int) -> None:
        """The dispatcher's `on_resumed`: rows taken over from a dead process."""
        key = (transport, outcome)
        self.resumed[key] = self.resumed.get(key, 0) + rows

    def observe(self, transport: str, outcome: str, seconds: float) -> None:
        key = (transport, outcome)
        self.updates[key] = self.updates.get(key, 0) + 1
        self.latency.setdefault(transport, Histogram()).observe(seconds)

    def count(self, transport: str, outcome: str) -> int:
        return self.updates.get((transport, outcome), 0)

    def render(self, gauges: Gauges | None, leadership: Leadership | None = None) -> str:
        """The exposition; `gauges` None: the database did not answer; `leadership`:
        the roles this process holds or waits for."""
        lines = [
            "# HELP aiguillage_updates_total Incoming updates, by transport and outcome.",
            "# TYPE aiguillage_updates_total counter",
        ]
        for (transport, outcome), value in sorted(self.updates.items()):
            labels = labels_of(transport=transport, outcome=outcome)
            lines.append(f"aiguillage_updates_total{labels} {value}")
        name = "aiguillage_handler_duration_seconds"
        lines += [
            f"# HELP {name} Time to handle one update (one unit of work), wall clock.",
            f"# TYPE {name} histogram",
        ]
        for transport, histogram in sorted(self.latency.items()):
            for bound, value in zip(BUCKETS, histogram.counts, strict=True):
                labels = labels_of(transport=transport, le=number(bound))
                lines.append(f"{name}_bucket{labels} {value}")
            labels = labels_of(transport=transport, le="+Inf")
            lines.append(f"{name}_bucket{labels} {histogram.count}")
            labels = labels_of(transport=transport)
            lines.append(f"{name}_sum{labels} {number(histogram.total)}")
            lines.append(f"{name}_count{labels} {histogram.count}")
        lines += render_roles(leadership)
        name = "aiguillage_outbox_resumed_total"
        lines += [
            f"# HELP {name} Outbox rows taken over from a process that died while it may "
            "have been sending them: resent (may arrive twice) or given_up (after a second such "
            "death).",
            f"# TYPE {name} counter",
        ]
        for (transport, outcome), value in sorted(self.resumed.items()):
            lines.append(f"{name}{labels_of(transport=transport, outcome=outcome)} {value}")
        lines += [
            "# HELP aiguillage_database_up Whether the database answered this scrape.",
            "# TYPE aiguillage_database_up gauge",
            f"aiguillage_database_up {0 if gauges is None else 1}",
        ]
        if gauges is not None:
            lines += [
                "# HELP aiguillage_outbox_pending Messages waiting in the outbox.",
                "# TYPE aiguillage_outbox_pending gauge",
                f"aiguillage_outbox_pending {gauges.outbox_pending}",
                "# HELP aiguillage_nudges_due Follow-up nudges due and not yet sent.",
                "# TYPE aiguillage_nudges_due gauge",
                f"aiguillage_nudges_due {gauges.nudges_due}",
            ]
        return "\n".join(lines) + "\n"


def render_roles(leadership: Leadership | None) -> list[str]:
    if leadership is None:
        return []
    lines = [
        "# HELP aiguillage_role_held Whether this process holds the role (1) or waits (0).",
        "# TYPE aiguillage_role_held gauge",
    ]
    for role in sorted(leadership.roles):
        held = 1 if leadership.holds(role) else 0
        lines.append(f"aiguillage_role_held{labels_of(role=role)} {held}")
    lines += [
        "# HELP aiguillage_role_takeovers_total Times this process took the role.",
        "# TYPE aiguillage_role_takeovers_total counter",
    ]
    for role, times in sorted(leadership.takeovers.items()):
        lines.append(f"aiguillage_role_takeovers_total{labels_of(role=role)} {times}")
    return lines


async def read_gauges(db: Database, clock: Clock) -> Gauges:
    async with db.unit() as uow:
        return Gauges(
            outbox_pending=await uow.outbox.pending_count(),
            nudges_due=await uow.nudges.due_count(clock.now()),
        )


def number(value: float) -> str:
    return repr(float(value))


def labels_of(**labels: str) -> str:
    if not labels:
        return ""
    body = ",".join(f'{key}="{escape(value)}"' for key, value in labels.items())
    return "{" + body + "}"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MeteredRuntime(Runtime):
    """The runtime, with each `handle` counted and timed."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def handle(self, incoming: Incoming) -> Handled:
        start = time.perf_counter()
        try:
            handled = await super().handle(incoming)
        except Exception:
            # Each failed attempt counts: the transport may try again.
            self.metrics.observe(incoming.transport, ERROR, time.perf_counter() - start)
            raise
        outcome = DUPLICATE if handled.duplicate else HANDLED
        self.metrics.observe(incoming.transport, outcome, time.perf_counter() - start)
        return handled


class MeteredDesk(MatrixDesk):
    """The aiguilleurs' desk, with each Matrix event counted and timed."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def handle(self, event: RoomEvent) -> bool:
        start = time.perf_counter()
        try:
            fresh = await super().handle(event)
        except Exception:
            self.metrics.observe(MATRIX, ERROR, time.perf_counter() - start)
            raise
        self.metrics.observe(MATRIX, HANDLED if fresh else DUPLICATE, time.perf_counter() - start)
        return fresh
