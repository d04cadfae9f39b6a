"""The ``desk`` fixture shared by the coordination tests on Telegram: a fake Bot API
server and a bot with one coordinator, one aiguilleur and anyone else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.coordination.support import Desk, coordination_desk
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import TOKEN


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with FakeTelegram(token=TOKEN) as tg, coordination_desk(tg, tmp_path) as world:
        yield world
