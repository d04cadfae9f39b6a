"""Fixtures for the tests that talk to the fake Bot API (a pytest plugin named in
tests/conftest.py, so that every test folder shares them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import TOKEN


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server on loopback, for the test's token."""
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake
