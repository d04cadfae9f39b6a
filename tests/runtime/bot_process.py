"""`aiguillage run` as real subprocesses, killed with SIGKILL and restarted
from a warm spare (tests/runtime/spare.py) so that twenty restarts stay quick.
Each process writes its own log, `<log_dir>/bot-<n>.log`."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Process:
    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.log = log


class WarmBot:
    def __init__(self, config: Path, env: Mapping[str, str], log_dir: Path) -> None:
        self.argv = [sys.executable, "-m", "tests.runtime.spare", "run", "--config", str(config)]
        self.env = dict(env)
        self.log_dir = log_dir
        self.running: Process | None = None
        self.spare: Process | None = None
        self.kills = 0
        self._numbers = itertools.count(1)

    def _spawn(self) -> Process:
        log = self.log_dir / f"bot-{next(self._numbers):02d}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return Process(popen, log)

    def warm(self) -> None:
        """Spawn the spare now, so its imports overlap the test's own setup."""
        if self.spare is None:
            self.spare = self._spawn()

    def start(self) -> None:
        """Promote the spare (or a fresh process) and warm the next one."""
        assert self.running is None or self.running.popen.poll() is not None
        process = self.spare or self._spawn()
        assert process.popen.stdin is not None
        process.popen.stdin.write(b"go\n")
        process.popen.stdin.flush()
        self.running = process
        self.spare = self._spawn()

    def kill(self) -> None:
        assert self.running is not None
        self.running.popen.send_signal(signal.SIGKILL)
        self.running.popen.wait(timeout=10)
        self.kills += 1

    async def started(self, timeout: float = 40.0) -> None:
        """Until the running bot logged "bot started": its signal handlers are
        set, a SIGTERM stops it cleanly from then on."""
        assert self.running is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while "bot started" not in self.running.log.read_text(errors="replace"):
            if loop.time() > deadline:
                raise AssertionError("the bot never finished starting")
            await asyncio.sleep(0.1)

    async def stop(self) -> int | None:
        """SIGTERM the running bot (a clean stop); the spare just goes away."""
        code = None
        if self.spare is not None and self.spare.popen.poll() is None:
            self.spare.popen.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.spare.popen.wait, 10)
        if self.running is not None and self.running.popen.poll() is None:
            self.running.popen.terminate()
            code = await asyncio.to_thread(self.running.popen.wait, 20)
        return code

    def logs(self, last: int = 6000) -> str:
        """Every process's log, in order, for a failure report."""
        parts = [
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.log_dir.glob("bot-*.log"))
        ]
        return "\n".join(parts)[-last:]


def bot_env(token: str, api_base_url: str, file_base_url: str, data_dir: Path) -> dict[str, str]:
    # The database is in the config file; the environment must not override it.
    inherited = {k: v for k, v in os.environ.items() if k != "AIGUILLAGE_DATABASE_URL"}
    return {
        **inherited,
        "AIGUILLAGE_TELEGRAM_TOKEN": token,
        "AIGUILLAGE_TELEGRAM_API_BASE_URL": api_base_url,
        "AIGUILLAGE_TELEGRAM_FILE_BASE_URL": file_base_url,
        "AIGUILLAGE_DATA_DIR": str(data_dir),
    }
