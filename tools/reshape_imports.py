"""Rewrite module references to the domain layout of issue 13.

Usage: `python tools/reshape_imports.py FILE…`


Reads tools/reshape_map.txt (next to this script; `--map PATH` for another) and rewrites, in place:
- `from X import a, b` statements (level 0): the module, and a name that moved to another module
  (`old.module:Name` lines) or a module imported by name (`from dialogs import followup` becomes
  `from dialogs.followup import steps as followup`);
- `import X` statements and every dotted reference to a moved module in strings and comments
  (mock targets, `-m module`, docstrings), and in code where the file binds the package's root
  name (`import bot.app`, then `bot.app.main`);
- paths of moved files and folders (`bot/matrix/desk.py`, `dialogs/locale/`), in any file.
Files that are not Python (Markdown, TOML, INI, Makefile…) get the dotted and path rewrites.

Idempotent: a reference that already names a new module (or something inside one) is left alone,
so running it twice, or on a file already converted, changes nothing. Prints the files it changed.
Afterwards, `ruff check --fix --select I FILE…` puts the rewritten imports back in order.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

MAP = Path(__file__).with_name("reshape_map.txt")
LINE_LENGTH = 100


@dataclass
class Mapping:
    modules: dict[str, str] = field(default_factory=dict)  # old dotted -> new dotted
    symbols: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # old path -> new path
    new_modules: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)  # old names that are packages
    roots: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> Mapping:
        m = cls()
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            old, new = line.split()
            if old == new:
                continue
            if "/" in old:
                m.paths[old] = new
            elif ":" in old:
                om, on = old.split(":")
                nm, nn = new.split(":")
                m.symbols[(om, on)] = (nm, nn)
                m.new_modules.add(nm)
            else:
                m.modules[old] = new
                m.new_modules.add(new)
        for old in m.modules:
            m.roots.add(old.split(".")[0])
            parent = old.rsplit(".", 1)[0]
            if parent in m.modules:
                m.packages.add(parent)
        for old, new in m.modules.items():
            o, n = old.replace(".", "/"), new.replace(".", "/")
            if old in m.packages:
                m.paths.setdefault(o, n)  # a folder, with or without its slash
            else:
                m.paths.setdefault(o + ".py", n + ".py")
        return m

    def _longest(self, name: str, keys: set[str] | dict[str, str]) -> str | None:
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            candidate = ".".join(parts[:i])
            if candidate in keys:
                return candidate
        return None

    def dotted(self, name: str) -> str:
        """The new spelling of a dotted reference (a module or something inside one)."""
        old = self._longest(name, self.modules)
        if old is None:
            return name
        new = self._longest(name, self.new_modules)
        if new is not None and len(new) >= len(old):
            return name  # already converted
        head, _, rest = name.rpartition(".")
        if (head, rest) in self.symbols and head == old:
            nm, nn = self.symbols[(head, rest)]
            return f"{nm}.{nn}"
        return self.modules[old] + name[len(old) :]

    def is_new_module(self, name: str) -> bool:
        return name in self.new_modules

    def is_old_module(self, name: str) -> bool:
        if name in self.modules:
            return True
        parent = name.rsplit(".", 1)[0]
        return parent in self.packages and not self.is_new_module(name)


DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")


def rewrite_dotted(text: str, m: Mapping, keep: list[tuple[int, int]] | None = None) -> str:
    """Every dotted reference whose root is a moved package; `keep` spans are left alone."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.split(".")[0] not in m.roots:
            return name
        if keep and any(a <= match.start() < b for a, b in keep):
            return name
        return m.dotted(name)

    return DOTTED.sub(repl, text)


def rewrite_paths(text: str, m: Mapping) -> str:
    if not m.paths:
        return text
    olds = sorted(m.paths, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w/.-])(" + "|".join(re.escape(o) for o in olds) + r")(?![\w-]|\.py\b)"
    )
    return pattern.sub(lambda match: m.paths[match.group(1)], text)


@dataclass
class Target:
    module: str
    name: str
    asname: str | None

    def spelled(self) -> str:
        return f"{self.name} as {self.asname}" if self.asname else self.name


def import_targets(node: ast.ImportFrom, m: Mapping) -> list[Target]:
    module = node.module or ""
    targets: list[Target] = []
    for alias in node.names:
        full = f"{module}.{alias.name}"
        if m.is_new_module(full):  # a new module imported by name from its package
            targets.append(Target(module, alias.name, alias.asname))
        elif alias.name == "*":
            targets.append(Target(m.dotted(module), alias.name, alias.asname))
        elif (module, alias.name) in m.symbols:
            nm, nn = m.symbols[(module, alias.name)]
            asname = alias.asname or (alias.name if nn != alias.name else None)
            targets.append(Target(nm, nn, asname))
        elif m.is_old_module(full):
            new = m.dotted(full)
            parent, _, last = new.rpartition(".")
            asname = alias.asname or (alias.name if last != alias.name else None)
            targets.append(Target(parent, last, asname))
        else:
            targets.append(Target(m.dotted(module), alias.name, alias.asname))
    return targets


def format_from(indent: str, module: str, targets: list[Target], comment: str) -> list[str]:
    names = ", ".join(t.spelled() for t in targets)
    line = f"{indent}from {module} import {names}{comment}"
    if len(line) <= LINE_LENGTH:
        return [line]
    body = [f"{indent}    {t.spelled()}," for t in targets]
    return [f"{indent}from {module} import ({comment}", *body, f"{indent})"]


def rewrite_python(text: str, m: Mapping) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return rewrite_paths(rewrite_dotted(text, m), m)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno: int, col: int) -> int:  # tokenize columns count characters
        return offsets[lineno - 1] + col

    # Spans of strings and comments: dotted references there are always rewritten.
    prose: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT) or tok.type == getattr(
                tokenize, "FSTRING_MIDDLE", -1
            ):
                prose.append((pos(*tok.start), pos(*tok.end)))
    except (tokenize.TokenError, IndentationError):
        pass
    bound_roots = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.asname is None
    }
    froms = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0]
    from_spans = [(pos(n.lineno, 0), offsets[n.end_lineno or n.lineno]) for n in froms]

    # Code outside `from` statements: only where the root names the package in this file.
    code_keep: list[tuple[int, int]] = list(from_spans)
    out = []
    for match in DOTTED.finditer(text):
        name = match.group(1)
        start = match.start()
        in_prose = any(a <= start < b for a, b in prose)
        in_from = any(a <= start < b for a, b in code_keep)
        root = name.split(".")[0]
        if root not in m.roots or (in_from and not in_prose):
            continue
        if not in_prose and root not in bound_roots:
            continue
        new = m.dotted(name)
        if new != name:
            out.append((start, match.end(), new))
    # `from` statements, bottom-up so that the offsets stay valid.
    edits: list[tuple[int, int, str]] = list(out)
    for node in froms:
        if node.module is None or node.module.split(".")[0] not in m.roots:
            continue
        targets = import_targets(node, m)
        original = [(node.module, a.name, a.asname) for a in node.names]
        if [(t.module, t.name, t.asname) for t in targets] == original:
            continue
        start, end = pos(node.lineno, 0), offsets[node.end_lineno or node.lineno]
        same_names = all(
            (t.name, t.asname) == (a.name, a.asname)
            for t, a in zip(targets, node.names, strict=True)
        )
        if same_names and all(t.module == targets[0].module for t in targets):
            # Only the module changed: keep the statement's own layout.
            head = re.compile(r"(from\s+)" + re.escape(node.module) + r"(\s+import)")
            segment = text[start:end]
            edits.append((start, end, head.sub(rf"\g<1>{targets[0].module}\g<2>", segment, 1)))
            continue
        first = lines[node.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        last_line = lines[(node.end_lineno or node.lineno) - 1].rstrip("\n")
        comment = ""
        if "#" in last_line:
            comment = "  " + last_line[last_line.index("#") :].strip()
        groups: dict[str, list[Target]] = {}
        for t in targets:
            groups.setdefault(t.module, []).append(t)
        new_lines: list[str] = []
        for module, group in groups.items():
            new_lines += format_from(indent, module, group, comment)
            comment = ""
        edits.append((start, end, "\n".join(new_lines) + "\n"))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return rewrite_paths(text, m)


def rewrite_file(path: Path, m: Mapping) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        return False
    if path.suffix == ".py":
        new = rewrite_python(text, m)
    else:
        new = rewrite_paths(rewrite_dotted(text, m), m)
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--map", type=Path, default=MAP)
    args = parser.parse_args(argv)
    mapping = Mapping.load(args.map)
    for path in args.files:
        if rewrite_file(path, mapping):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
