"""The shell commands of README.md and docs/deploiement.md, run as a reader would type them.

Every fenced ``sh`` block of the two documents is either **run** here, in document order, or
**marked** in the Markdown by an HTML comment on the line just before its fence::

    <!-- doc-test: skip (raison) -->        not run here; the reason is listed by the test
    <!-- doc-test: sqlite -->               run in the SQLite pass only (the SQLite path)
    <!-- doc-test: postgresql -->           run in the PostgreSQL pass only

A ``text`` block marked ``<!-- doc-test: prints -->`` is what the block before it prints (the
guide's « ce que vous vérifiez ») : each of its lines must match a line of that output, ``…``
standing for any text. Skipped blocks must be exactly those of ``KNOWN_SKIPS`` below, each with
its reason: a new block that cannot run here is a decision someone writes down twice.

How a command typed on a server runs in a test (the substitutions, all here):

- The guide's absolute paths (``/opt/aiguillage``, ``/etc/aiguillage``, ``/var/lib/aiguillage``,
  ``/var/backups/aiguillage``, ``/etc/systemd/system``, ``/etc/cron.d``) are relocated into a
  temporary folder that stands for ``/``, in the commands and in the text files the commands
  install under its ``etc/`` (so the unit's ``ExecStart`` names the sandbox's program).
  ``/opt/aiguillage/src`` is this checkout; ``/opt/aiguillage/venv/bin/aiguillage`` and the
  README's ``.venv/bin/aiguillage`` are a two-line script running ``python -m bot.cli`` of this
  checkout with the test's interpreter (installing from the lock file is a skipped block:
  ``make test`` itself installs from it).
- ``runuser -u aiguillage --`` is dropped (the test runs as its own user) and ``-o USER -g
  GROUP`` of ``install`` too; ``su - postgres -c`` runs its command as the private
  PostgreSQL's superuser.
- PostgreSQL pass: the guide's ``postgresql+asyncpg://aiguillage@/aiguillage?host=…`` is the
  role and database ``aiguillage`` its commands create on the tests' private server (dropped
  afterwards); ``PGHOST``/``PGPORT``/``PGUSER`` point ``psql`` there, and that server's
  client programs come first on ``PATH``. The README's
  ``--db sqlite+aiosqlite:///data/….sqlite3`` becomes a database of that server, and its
  commands without ``--db`` get one through ``AIGUILLAGE_DATABASE_URL``.
- ``AAAA-MM-JJ`` (a backup's date the reader reads from ``ls``) is today's date (the blocks
  run with ``TZ=UTC``, like the dates backups write).
- The README's reader ran ``make demo`` first: its ``aiguillage chat``, left at once (empty
  input), runs before the README's blocks. The guide's blocks start where its skipped root
  steps leave a server: ``/var/lib/aiguillage`` exists. After the guide, the commands of the
  cron file it installed run too, as cron would run them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import databases
from tests.fakes.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/deploiement.md")
SHELL_FENCES = {"sh", "bash", "shell"}
MARK = re.compile(r"^<!--\s*doc-test:\s*(?P<verb>[a-z]+)\s*(?:\((?P<why>.+)\))?\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[\w-]*)\s*$")
RELOCATED = (
    "/opt/aiguillage",
    "/etc/aiguillage",
    "/var/lib/aiguillage",
    "/var/backups/aiguillage",
    "/etc/systemd/system",
    "/etc/cron.d",
)
GUIDE_PG_URL = "postgresql+asyncpg://aiguillage@/aiguillage?host=/var/run/postgresql"
BLOCK_TIMEOUT = 300
KEY_CHARS = 36  # of a skipped block's first line, in KNOWN_SKIPS

# Blocks that cannot run in CI: document, first line, the reason written in the Markdown.
# Change both together.
KNOWN_SKIPS: list[tuple[str, str, str]] = [
    (
        "README.md",
        "make demo    # installe tout dans .v",
        "make demo est interactif ; make test lance toute la suite, dont ce test",
    ),
    (
        "README.md",
        ".venv/bin/aiguillage run    # ou : m",
        "il faut un vrai jeton et Telegram ; tests/transports/telegram le fait en faux",
    ),
    ("README.md", "make lock", "make lock télécharge depuis PyPI ; les mesures durent des minutes"),
    (
        "docs/deploiement.md",
        "cd /",
        "état de la session root ; le test part de / et en français",
    ),
    (
        "docs/deploiement.md",
        "apt-get update",
        "root : installe des paquets Debian et crée un utilisateur système",
    ),
    (
        "docs/deploiement.md",
        "python3 --version",
        "l'utilisateur système aiguillage n'existe que sur le serveur",
    ),
    (
        "docs/deploiement.md",
        "git bundle create aiguillage.bundle ",
        "se tape sur le poste de la personne et copie vers un autre serveur par SSH",
    ),
    (
        "docs/deploiement.md",
        "git clone /root/aiguillage.bundle /o",
        "root : paquet copié par scp ; le test utilise la copie qu'il teste",
    ),
    (
        "docs/deploiement.md",
        "python3 -m venv /opt/aiguillage/venv",
        "plus de 60 paquets de PyPI ; make test installe déjà ainsi",
    ),
    ("docs/deploiement.md", "editor /etc/aiguillage/config.toml", "interactif : éditeur de texte"),
    (
        "docs/deploiement.md",
        "ls -l /etc/aiguillage/config.toml",
        "le groupe aiguillage n'existe que sur le serveur",
    ),
    (
        "docs/deploiement.md",
        "apt-get install -y postgresql",
        "root : paquet Debian et systemctl ; le test a son propre PostgreSQL",
    ),
    (
        "docs/deploiement.md",
        "pg_ctlcluster 15 main start",
        "root : démarre le PostgreSQL du serveur",
    ),
    (
        "docs/deploiement.md",
        "editor /etc/aiguillage/catalogue.yam",
        "interactif : éditeur de texte",
    ),
    (
        "docs/deploiement.md",
        "systemctl daemon-reload",
        "root : systemctl, un vrai service ; ni systemd ni Telegram ici",
    ),
    (
        "docs/deploiement.md",
        "DOMAINE=aiguillage.example.org",
        "root : paquet Debian, certificat Let's Encrypt et vrai nom de domaine",
    ),
    (
        "docs/deploiement.md",
        "DOMAINE=aiguillage.example.org",
        "root : paquets Debian et configuration de nginx, absent du test",
    ),
    (
        "docs/deploiement.md",
        "certbot certonly --webroot --webroot",
        "réseau : Let's Encrypt vérifie le vrai nom de domaine",
    ),
    (
        "docs/deploiement.md",
        'sed "s/aiguillage.example.org/$DOMAI',
        "root : configuration de nginx, absent du test",
    ),
    (
        "docs/deploiement.md",
        "curl -s -o /dev/null -w '%{http_code",
        "réseau : vrai nom de domaine et bot en service",
    ),
    (
        "docs/deploiement.md",
        'curl -s "https://api.telegram.org/bo',
        "réseau : appelle api.telegram.org avec le vrai jeton",
    ),
    (
        "docs/deploiement.md",
        'curl -X POST -H "Authorization: Bear',
        "réseau : vrai Synapse et jeton d'un·e admin",
    ),
    (
        "docs/deploiement.md",
        "apt-get install -y cron",
        "root : paquet Debian ; une installation minimale n'a pas cron",
    ),
    (
        "docs/deploiement.md",
        "ls /var/backups/aiguillage",
        "le lendemain ; le test lance lui-même les lignes du fichier cron",
    ),
    ("docs/deploiement.md", "systemctl stop aiguillage", "root : systemctl"),
    ("docs/deploiement.md", "systemctl start aiguillage", "root : systemctl"),
    (
        "docs/deploiement.md",
        "systemctl stop aiguillage",
        "root : systemctl, réseau et téléchargements PyPI",
    ),
    ("docs/deploiement.md", "systemctl start aiguillage", "root : systemctl et journald"),
    (
        "docs/deploiement.md",
        "curl -s http://127.0.0.1:8080/health",
        "le bot doit tourner ; tests/transports/http/test_endpoints.py le vérifie",
    ),
    ("docs/deploiement.md", "journalctl -u aiguillage -f", "journald du serveur"),
    (
        "docs/deploiement.md",
        "curl -s http://10.0.0.1:8080/healthz",
        "les processus du bot doivent tourner ; tests/runtime/test_cluster_e2e.py le vérifie",
    ),
]


@dataclass(frozen=True, slots=True)
class Block:
    doc: str
    line: int  # of the opening fence, 1-based
    info: str
    verb: str | None  # the doc-test marker before the fence
    why: str | None
    text: str

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks_of(doc: str) -> list[Block]:
    """The fenced blocks of a document, with the doc-test marker just before each one."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = len(opening["indent"])
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end][indent:])
            end += 1
        previous = lines[index - 1].strip() if index > 0 else ""
        mark = MARK.match(previous)
        if previous.startswith("<!--") and "doc-test" in previous and mark is None:
            raise AssertionError(f"{doc}:{index}: unreadable doc-test marker {previous!r}")
        found.append(
            Block(
                doc=doc,
                line=index + 1,
                info=opening["info"],
                verb=mark["verb"] if mark else None,
                why=mark["why"] if mark else None,
                text="\n".join(body) + "\n",
            )
        )
        index = end + 1
    return found


def shell_blocks(doc: str) -> list[Block]:
    return [block for block in blocks_of(doc) if block.info in SHELL_FENCES]


# ------------------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    """A folder standing for `/` (and, for the README, for the checkout's root)."""

    root: Path
    env: dict[str, str]
    replacements: list[tuple[str, str]]

    def translate(self, text: str) -> str:
        for old, new in self.replacements:
            text = text.replace(old, new)
        text = re.sub(r"runuser -u aiguillage -- ", "", text)
        text = re.sub(r"(\binstall\b[^\n]*?) -o \S+ -g \S+", r"\1", text)
        for prefix in RELOCATED:
            text = re.sub(
                rf"(?<![\w/.]){re.escape(prefix)}(?=[/\s'\"]|$)",
                f"{self.root}{prefix}",
                text,
                flags=re.M,
            )
        text = text.replace(f"{self.root}/opt/aiguillage/src", str(ROOT))
        return text.replace("AAAA-MM-JJ", datetime.now(UTC).date().isoformat())  # blocks: TZ=UTC

    def relocate_installed_files(self) -> None:
        """Absolute paths inside files the commands installed (unit, cron, config)."""
        for folder in ("etc/systemd/system", "etc/cron.d", "etc/aiguillage"):
            for path in (self.root / folder).glob("*"):
                if path.is_file():
                    text = path.read_text(encoding="utf-8")
                    moved = self.translate(text)
                    if moved != text:
                        path.write_text(moved, encoding="utf-8")


def make_sandbox(base: Path, doc: str) -> Sandbox:
    root = base / "racine"
    for prefix in RELOCATED:
        (root / prefix.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    program = f'#!/bin/sh\nexec "{sys.executable}" -m bot.cli "$@"\n'
    for where in (root / "opt/aiguillage/venv/bin", root / ".venv/bin"):
        where.mkdir(parents=True)
        (where / "aiguillage").write_text(program, encoding="utf-8")
        (where / "aiguillage").chmod(0o755)
    # What the skipped root-only steps leave on a server: the bot's folder (useradd, install).
    (root / "var/lib/aiguillage").mkdir(parents=True)
    (root / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
    (root / "etc/cron.d").mkdir(parents=True, exist_ok=True)
    if doc == "README.md":  # the reader is in the checkout: its files, a fresh .venv and data/
        for name in ("docs", "deploy", "config.example.toml", "Makefile"):
            (root / name).symlink_to(ROOT / name)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIGUILLAGE_", "PG")) and key not in ("PYTHONPATH",)
    }
    env.update(
        PYTHONPATH=str(ROOT),
        AIGUILLAGE_LOCALE="fr",
        LANG="C.UTF-8",
        HOME=str(base / "home"),
        TZ="UTC",
    )
    (base / "home").mkdir()
    return Sandbox(root=root, env=env, replacements=[])


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", databases.engines_for_database_fixture(), indirect=True)


@pytest.fixture
def postgres_role(request: pytest.FixtureRequest, engine: str) -> Iterator[PostgresServer | None]:
    """On PostgreSQL: the private server, without the role and database the guide creates."""
    if engine != databases.POSTGRESQL:
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    databases.attach(server)

    def clean() -> None:
        server.execute('DROP DATABASE IF EXISTS "aiguillage" WITH (FORCE)')
        server.execute('DROP ROLE IF EXISTS "aiguillage"')

    clean()
    try:
        yield server
    finally:
        clean()


def engine_setup(
    sandbox: Sandbox, doc: str, engine: str, server: PostgresServer | None, base: Path
) -> None:
    if engine != databases.POSTGRESQL:
        return
    assert server is not None
    host, port, superuser = server.host, server.port, server.user
    # The server's own client programs (createuser, psql, pg_dump) first, as on a server.
    path = f"{server.bin_dir}{os.pathsep}{sandbox.env.get('PATH', os.defpath)}"
    sandbox.env.update(PGHOST=host, PGPORT=str(port), PGUSER="aiguillage", PATH=path)
    sandbox.replacements.append(
        (GUIDE_PG_URL, f"postgresql+asyncpg://aiguillage@{host}:{port}/aiguillage")
    )
    sandbox.replacements.append(("su - postgres -c ", f"env PGUSER={superuser} sh -c "))
    if doc == "README.md":
        text = (ROOT / doc).read_text(encoding="utf-8")
        for name in sorted(set(re.findall(r"sqlite\+aiosqlite:///data/([\w.-]+)", text))):
            url = databases.url(base, name, engine=databases.POSTGRESQL)
            sandbox.replacements.append((f"sqlite+aiosqlite:///data/{name}", url))
        sandbox.env["AIGUILLAGE_DATABASE_URL"] = databases.url(
            base, "aiguillage.sqlite3", engine=databases.POSTGRESQL
        )


# ------------------------------------------------------------------------- running


def runs_in(block: Block, engine: str) -> bool:
    return block.verb is None or block.verb == engine


def expected_matches(expected: str, output: str) -> list[str]:
    """The expected lines that no output line matches (`…` stands for any text)."""
    seen = [line.replace("\u00a0", " ").strip() for line in output.splitlines()]
    missing = []
    for wanted in expected.splitlines():
        wanted = wanted.replace("\u00a0", " ").strip()
        if not wanted:
            continue
        pattern = re.compile(".*".join(re.escape(piece) for piece in wanted.split("…")))
        if not any(pattern.fullmatch(line) for line in seen):
            missing.append(wanted)
    return missing


def run_document(doc: str, engine: str, server: PostgresServer | None, base: Path) -> list[str]:
    sandbox = make_sandbox(base, doc)
    engine_setup(sandbox, doc, engine, server, base)
    cwd = sandbox.root if doc == "README.md" else Path("/")
    ran: list[str] = []
    if doc == "README.md":
        ran.append(after_make_demo(sandbox))
    output: str | None = None
    previous: Block | None = None
    for block in blocks_of(doc):
        if block.verb == "prints":
            assert previous is not None, f"{block.where}: « prints » follows no shell block"
            if output is None:  # after a block skipped here, or one of the other engine
                assert not runs_in(previous, engine), block.where
                continue
            missing = expected_matches(sandbox.translate(block.text), output)
            assert not missing, f"{block.where}: not printed: {missing}\n--- output:\n{output}"
            continue
        if block.info not in SHELL_FENCES:
            continue
        output, previous = None, block
        if not runs_in(block, engine):
            continue
        script = sandbox.translate(block.text)
        if "systemd-analyze" in script and shutil.which("systemd-analyze") is None:
            print(f"{block.where}: systemd-analyze absent here, `verify` not run")
            script = script.replace("systemd-analyze verify", "true")
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd,
            env=sandbox.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, (
            f"{block.where} exited {proc.returncode}\n--- ran:\n{script}\n--- output:\n{output}"
        )
        assert "Traceback" not in output, f"{block.where}\n{output}"
        sandbox.relocate_installed_files()
        ran.append(f"{block.where}: {block.first_line}")
    if doc == "docs/deploiement.md":
        ran.extend(run_cron_file(sandbox))
    return ran


def after_make_demo(sandbox: Sandbox) -> str:
    """The README's reader ran `make demo` first (a skipped block: it installs .venv and is a
    conversation): its `aiguillage chat`, left at once with Ctrl-D, leaves data/ and the
    database with the starter catalog that the README's next commands use."""
    proc = subprocess.run(
        [str(sandbox.root / ".venv/bin/aiguillage"), "chat"],
        cwd=sandbox.root,
        env=sandbox.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert proc.returncode == 0 and "Bonjour et bienvenue" in proc.stdout, proc.stdout + proc.stderr
    return "make demo: .venv/bin/aiguillage chat < /dev/null"


def run_cron_file(sandbox: Sandbox) -> list[str]:
    """The nightly lines the guide installed in /etc/cron.d: each command as cron would run
    it (`\\%` is `%`), silent and successful (cron mails any output to root)."""
    cron = sandbox.root / "etc/cron.d/aiguillage"
    assert cron.is_file(), "the guide no longer installs /etc/cron.d/aiguillage"
    ran = []
    for line in cron.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" in line.split()[0]:
            continue
        fields = line.split(maxsplit=6)
        assert len(fields) == 7, f"cron line without user or command: {line!r}"
        command = fields[6].replace("\\%", "%")
        proc = subprocess.run(
            ["sh", "-c", command],
            cwd="/",
            env=sandbox.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0 and output == "", f"cron: {command}\n{output}"
        ran.append(f"cron ({fields[5]}): {command}")
    return ran


@pytest.mark.parametrize("doc", DOCS)
def test_commands_of_the_document_run(
    doc: str, engine: str, postgres_role: PostgresServer | None, tmp_path: Path
) -> None:
    ran = run_document(doc, engine, postgres_role, tmp_path)
    print(f"\n{doc} ({engine}): {len(ran)} blocks run")
    for line in ran:
        print(f"  ran  {line}")
    assert ran, f"no block of {doc} ran"


def test_blocks_that_cannot_run_here_are_marked_and_known() -> None:
    skipped = [
        (block.doc, block.first_line[:KEY_CHARS], (block.why or "").strip())
        for doc in DOCS
        for block in shell_blocks(doc)
        if block.verb == "skip"
    ]
    for doc, first, why in skipped:
        print(f"skip {doc}: {first}  — {why}")
    assert all(why for _doc, _first, why in skipped), "a skip marker without its reason"
    assert skipped == KNOWN_SKIPS


def test_every_marker_is_understood() -> None:
    for doc in DOCS:
        for block in blocks_of(doc):
            if block.verb is None:
                continue
            assert block.verb in ("skip", "sqlite", "postgresql", "prints"), block.where
            if block.verb == "prints":
                assert block.info == "text", f"{block.where}: « prints » marks a text block"
            else:
                assert block.info in SHELL_FENCES, f"{block.where}: marker before a non-shell block"


def test_no_hidden_sudo_and_readme_opens_with_make_demo_and_make_test() -> None:
    for doc in DOCS:
        # Debian installs no sudo: neither a block nor an inline command may use it.
        commands = [block.text for block in shell_blocks(doc)]
        commands += re.findall(r"`([^`\n]+)`", (ROOT / doc).read_text(encoding="utf-8"))
        for command in commands:
            assert not re.search(r"\bsudo\s", command), f"{doc} assumes sudo: {command!r}"
    first = shell_blocks("README.md")[0].text.strip().splitlines()
    assert [line.split("#")[0].split() for line in first[:2]] == [
        ["make", "demo"],
        ["make", "test"],
    ]


def test_readme_commands_are_in_blocks() -> None:
    """A command shown inline in the README is also in a block (run or marked)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    in_blocks = "\n".join(block.text for block in shell_blocks("README.md"))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if span.startswith((".venv/bin/", "make ", "sqlite3 ", "systemctl ", "journalctl ", "cp ")):
            assert span in in_blocks, f"README shows `{span}` outside a checked block"


def test_installed_files_are_relocated(tmp_path: Path) -> None:
    """The sandbox's own rules, on the files the guide installs."""
    sandbox = make_sandbox(tmp_path, "docs/deploiement.md")
    unit = sandbox.root / "etc/systemd/system/aiguillage.service"
    shutil.copy(ROOT / "deploy/aiguillage.service", unit)
    sandbox.relocate_installed_files()
    text = unit.read_text(encoding="utf-8")
    assert f"ExecStart={sandbox.root}/opt/aiguillage/venv/bin/aiguillage" in text
    assert sandbox.translate("runuser -u aiguillage -- /opt/aiguillage/venv/bin/aiguillage x") == (
        f"{sandbox.root}/opt/aiguillage/venv/bin/aiguillage x"
    )
    assert sandbox.translate("cat /opt/aiguillage/src/deploy/x") == f"cat {ROOT}/deploy/x"
    assert sandbox.translate(
        "install -d -o aiguillage -g aiguillage -m 700 /var/backups/aiguillage"
    ) == (f"install -d -m 700 {sandbox.root}/var/backups/aiguillage")


def test_files_the_guide_names_exist() -> None:
    """Skipped blocks too: every file of the checkout the guide copies or links exists."""
    text = (ROOT / "docs/deploiement.md").read_text(encoding="utf-8")
    named = set(re.findall(r"/opt/aiguillage/src/([\w./-]+[\w])", text))
    named |= {link.removeprefix("../") for link in re.findall(r"\]\((\.\./[\w./-]+)\)", text)}
    assert {
        "constraints.txt",
        "deploy/aiguillage.cron",
        "deploy/nginx-aiguillage-http.conf",
    } <= named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"the guide names files that do not exist: {missing}"


def test_nginx_first_step_loads_without_a_certificate() -> None:
    """certbot's order: the HTTP-only site cites no certificate and serves the ACME challenge
    from the webroot certbot writes to; the TLS site cites the certificate certbot makes."""
    first = (ROOT / "deploy/nginx-aiguillage-http.conf").read_text(encoding="utf-8")
    second = (ROOT / "deploy/nginx-aiguillage.conf").read_text(encoding="utf-8")
    guide = (ROOT / "docs/deploiement.md").read_text(encoding="utf-8")
    assert "ssl" not in re.sub(r"#.*", "", first) and "listen 80;" in first
    webroot = re.search(r"--webroot-path (\S+)", guide)
    assert webroot is not None
    assert f"location /.well-known/acme-challenge/ {{\n        root {webroot[1]};" in first
    assert (
        "ssl_certificate     /etc/letsencrypt/live/aiguillage.example.org/fullchain.pem" in second
    )
    assert guide.index("nginx-aiguillage-http.conf >") < guide.index(
        "certbot certonly --webroot --webroot-path"
    )
    assert guide.index("certbot certonly --webroot --webroot-path") < guide.index(
        "/nginx-aiguillage.conf >"
    )
    for site in (first, second, (ROOT / "deploy/Caddyfile").read_text(encoding="utf-8")):
        assert "aiguillage.example.org" in site  # what the guide's sed replaces
