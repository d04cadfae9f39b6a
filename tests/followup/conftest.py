"""Fixtures of the follow-up's end-to-end tests: the fake Bot API on loopback and a
coordinator on Telegram (tests/followup/e2e_support.py has their helpers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import TOKEN


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def coordinator(tg: FakeTelegram) -> FakeUser:
    return tg.user("Coline", language_code="fr")
