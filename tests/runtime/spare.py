"""A bot process kept warm for the kill test: the imports (two seconds of CPU)
are done ahead, then it waits for "go" on stdin and runs `aiguillage` with its
arguments exactly as `python -m bot.cli.commands` would. What is killed is the real bot."""

from __future__ import annotations

import sys
import time

# The slow imports (telegram, nio, sqlalchemy), done before "go".
import bot.app
import bot.catalog.service  # noqa: F401
import storage.migrate  # noqa: F401
from bot.cli.commands import main

if __name__ == "__main__":
    if sys.stdin.readline().strip() != "go":
        sys.exit(0)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} spare promoted", flush=True)
    sys.exit(main(sys.argv[1:]))
