"""pytest run in a child process on a scratch folder of tests, with this repository
importable: for the tests of the test machinery itself (fixtures, engine passes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_pytest(
    folder: Path, env: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    """pytest on `folder` (no cache, skip and error reasons shown) with `env` and this
    repository on PYTHONPATH; returns when it ends, whatever its status."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider", *options, str(folder)],
        cwd=folder,
        env={**env, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
