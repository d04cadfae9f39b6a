"""Group commit of "sent" marks for the outbox dispatcher (bot/delivery/outbox.py).

Each send the dispatcher makes must be recorded before that chat's next row
goes out, so that a crash re-sends at most the row in hand. Recorded one
transaction each, the marks cost more than the sends when many chats are
served at once. Here a chat waits for its mark as before, but the marks that
arrive while a transaction is being written go together into the next one
(one UPDATE for the lot): under light traffic a mark is written alone and at
once, under heavy traffic the transactions carry many marks. Nothing waits for
a timer, and no chat goes on before its own mark is committed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.runtime.clock import Clock
from storage.db import Database


@dataclass(frozen=True, slots=True)
class _Mark:
    row_id: int
    external_id: str | None
    done: asyncio.Future[None]


class SentMarks:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._waiting: list[_Mark] = []
        # The task writing marks, if any: one at a time, so batches form behind it.
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, row_id: int, external_id: str | None) -> None:
        """Return once the row is recorded as sent; raise what the write raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Mark(row_id, external_id, done))
        if self._writer is None or self._writer.done():
            # Its own task, so that a chat cancelled while waiting does not stop
            # the writes the other chats wait for.
            self._writer = asyncio.create_task(self._write(), name="outbox-marks")
        # A chat cancelled here cancels only its own future; the writer skips it.
        await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.db.unit() as uow:
                    await uow.outbox.mark_all_sent(
                        [(m.row_id, m.external_id) for m in batch], now=self.clock.now()
                    )
            except Exception as exc:
                # Each chat gets the error, as it would from its own transaction
                # (the dispatcher retries while the database is away).
                for mark in batch:
                    if not mark.done.done():
                        mark.done.set_exception(exc)
                continue
            except BaseException:
                # Cancelled (the loop is closing): nobody will write these.
                for mark in (*batch, *self._waiting):
                    mark.done.cancel()
                self._waiting = []
                raise
            for mark in batch:
                if not mark.done.done():
                    mark.done.set_result(None)
