"""`aiguillage` exactly as `python -m bot.cli` runs it, except that `run` sends
without pacing: for bench/cluster.py, which measures what the processes can
handle, against a fake Bot API that has no flood limit.

Paced, each process would send at most 30 messages per second (bot/delivery/
pacing.py), and the bench would measure that limit instead: one process would
look three times slower than three, which together would send 90 a second —
more than Telegram allows one bot (30 a second per token, whatever the number
of processes; docs/deploiement.md, "Plusieurs processus")."""

from __future__ import annotations

import sys
from typing import Any

import bot.app
from bot.cli.commands import main


class UnpacedBotService(bot.app.BotService):
    def __init__(self, config: Any, **options: Any) -> None:
        super().__init__(config, **{**options, "rate_limit": False})


if __name__ == "__main__":
    # run_bot builds the service by this module-level name.
    bot.app.BotService = UnpacedBotService  # type: ignore[misc]
    sys.exit(main(sys.argv[1:]))
