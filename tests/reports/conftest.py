"""The coordination desk fixture (a coordinator talking to the bot on the fake Bot API),
shared with tests/coordination/: the reports are asked for through coordination commands."""

from tests.coordination.conftest import desk

__all__ = ["desk"]
