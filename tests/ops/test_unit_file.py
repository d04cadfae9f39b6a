"""deploy/aiguillage.service: hardened to at most 3.0 in `systemd-analyze security`
(measured where systemd-analyze is installed), while keeping what the bot needs:
the network for Telegram and Matrix, Unix sockets for a local PostgreSQL."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "aiguillage.service"


def directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_hardening_keeps_what_the_bot_needs() -> None:
    unit = directives()
    assert unit["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert "PrivateNetwork" not in unit and "IPAddressDeny" not in unit
    assert unit["CapabilityBoundingSet"] == [""] and unit["UMask"] == ["0077"]
    assert unit["SystemCallFilter"][0] == "@system-service"
    assert unit["ProtectSystem"] == ["strict"] and unit["StateDirectory"] == ["aiguillage"]
    # The only writable place is the state directory (no ReadWritePaths elsewhere).
    assert "ReadWritePaths" not in unit


def test_exposure_score_at_most_3() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the directives above are what the score rests on
        assert len(directives()) > 30
        return
    done = subprocess.run(
        [analyze, "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert score is not None, done.stdout + done.stderr
    assert float(score.group(1)) <= 3.0
