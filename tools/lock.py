"""Write constraints.txt and constraints-dev.txt: the exact versions installed in the
running virtual environment of everything Aiguillage needs (runtime), and of that
plus the test tools (dev), for `pip install -c constraints.txt …`.

Only the dependency closure of pyproject.toml is written, whatever else the
environment holds. `make lock` runs it after installing the newest versions;
`make test` then shows whether they pass, and the two files are committed with
the result. Usage: .venv/bin/python tools/lock.py
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import Requirement
except ImportError:  # a bare virtual environment: pip's own copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# {title}
# Versions with which the tests passed (Python {python}), written by tools/lock.py.
# Installed by `make demo` / `make test` (pip install -c {name} …); refreshed by
# `make lock` (newest versions, then run `make test` before committing).
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> dict[str, str]:
    """Installed distributions needed by `requirements`, name → version."""
    found: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(r, frozenset()) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        text, parent_extras = todo.pop()
        requirement = Requirement(text)
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in (parent_extras or {""})
        ):
            continue
        key = (canonical(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{requirement.name} is not installed: install the project first")
        found[canonical(requirement.name)] = distribution.version
        extras = frozenset(requirement.extras) | {""}
        todo += [(child, extras) for child in distribution.requires or []]
    return found


def write(name: str, title: str, pins: dict[str, str]) -> None:
    python = ".".join(map(str, sys.version_info[:2]))
    lines = [f"{package}=={version}" for package, version in sorted(pins.items())]
    text = HEADER.format(title=title, python=python, name=name) + "\n".join(lines) + "\n"
    (ROOT / name).write_text(text, encoding="utf-8")
    print(f"{name}: {len(lines)} packages")


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = closure(list(project["dependencies"]))
    dev = closure(list(project["dependencies"]) + list(project["optional-dependencies"]["dev"]))
    runtime.pop(canonical(project["name"]), None)
    dev.pop(canonical(project["name"]), None)
    write("constraints.txt", "Runtime dependencies of Aiguillage.", runtime)
    write("constraints-dev.txt", "Runtime and test dependencies of Aiguillage.", dev)


if __name__ == "__main__":
    main()
