"""`aiguillage …` as a subprocess, the way a sysadmin runs it: French, no
configuration file or AIGUILLAGE_* variable leaking from the test's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    clean.update({"PYTHONPATH": str(ROOT), "AIGUILLAGE_LOCALE": "fr", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def plain(text: str) -> str:
    """French no-break spaces read as spaces."""
    return text.replace("\u00a0", " ")
