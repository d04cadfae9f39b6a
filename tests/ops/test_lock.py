"""The lock: every dependency of pyproject.toml is pinned (runtime in constraints.txt,
test tools too in constraints-dev.txt), and `make demo` / `make test` install with them."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            package, version = line.split("==")
            found[canonical(package)] = version
    return found


def names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]) for r in requirements}


def test_every_dependency_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime, dev = pins("constraints.txt"), pins("constraints-dev.txt")
    assert names(project["dependencies"]) <= set(runtime)
    assert names(project["optional-dependencies"]["dev"]) | set(runtime) <= set(dev)
    # The same version of a package in both files: the demo runs what the tests ran.
    assert {p: v for p, v in dev.items() if p in runtime} == runtime
    assert "aiguillage" not in runtime and "aiguillage" not in dev


def test_make_installs_from_the_lock() -> None:
    done = subprocess.run(
        ["make", "-n", "-B", "demo", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    installs = [line for line in done.stdout.splitlines() if "pip install" in line and "-e" in line]
    assert any("-c constraints.txt -e ." in line for line in installs), installs
    assert any("-c constraints-dev.txt -e '.[dev]'" in line for line in installs), installs
