"""Run every benchmark: ``python -m bench [--quick]``.

Each script runs in its own process with this interpreter (a benchmark's
memory and event loop must not leak into the next one), its output shown as
it comes; the last line of each is its JSON figures. Prints a summary table,
then as its own last line one JSON object merging every script's figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# In run order; each script's last output line is one JSON object.
SCRIPTS = ("match.py", "match_quality.py", "nudges.py", "intake.py")
# Run only where the PostgreSQL server binaries are (it starts its own server).
NEEDS_POSTGRES = ("cluster.py",)


def postgres_present() -> bool:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fakes.postgres import find_pg_bin

    return find_pg_bin() is not None


def accepts(script: Path, option: str) -> bool:
    """Whether the script's argparse declares `option` (asked via --help, so a
    script that gains --quick later gets it without a change here)."""
    shown = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    pattern = rf"(?<![\w-]){re.escape(option)}(?![\w-])"
    return shown.returncode == 0 and re.search(pattern, shown.stdout) is not None


def last_json(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


def run(script: Path, options: list[str]) -> tuple[int, float, dict[str, Any] | None]:
    print(f"== {script.name} {' '.join(options)}".rstrip(), flush=True)
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(script), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        # Shown as it comes: long benchmarks would otherwise look hung.
        print(line, end="", flush=True)
        lines.append(line)
    code = process.wait()
    return code, time.monotonic() - began, last_json(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs where supported")
    parser.add_argument("--only", nargs="*", help="script names to run (e.g. intake)")
    args = parser.parse_args()

    merged: dict[str, Any] = {}
    rows: list[tuple[str, str, float, int]] = []
    failed = False
    scripts = list(SCRIPTS)
    if postgres_present():
        scripts += NEEDS_POSTGRES
    else:
        print(f"PostgreSQL binaries not found: {', '.join(NEEDS_POSTGRES)} not run", flush=True)
    for name in scripts:
        if args.only and name.removesuffix(".py") not in args.only and name not in args.only:
            continue
        script = HERE / name
        options = ["--quick"] if args.quick and accepts(script, "--quick") else []
        code, seconds, figures = run(script, options)
        if code != 0 or figures is None:
            failed = True
            status = f"failed (exit {code})" if code != 0 else "no JSON last line"
            rows.append((name, status, seconds, 0))
            continue
        clash = sorted(set(merged) & set(figures))
        if clash:
            # Keys are namespaced by script (match_, nudge_, intake_); say so if not.
            print(f"warning: {name} repeats keys {clash}", file=sys.stderr)
        merged.update(figures)
        rows.append((name, "ok" + (" (quick)" if options else ""), seconds, len(figures)))

    print()
    print(f"{'benchmark':<20}{'status':<22}{'seconds':>9}{'figures':>9}")
    for name, status, seconds, count in rows:
        print(f"{name:<20}{status:<22}{seconds:>9.1f}{count:>9}")
    print(json.dumps(merged))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
