"""Private, throw-away PostgreSQL cluster for tests (no dependency beyond the server binaries).

Usage (in a conftest.py: ``pytest_plugins = ["tests.fakes.postgres"]``; or in a test module,
an assignment, which unlike an import does not trip ruff's F811)::

    from tests.fakes import postgres as pg

    postgres_server = pg.postgres_server  # session-scoped fixture

    async def test_x(postgres_server: pg.PostgresServer) -> None:
        url = postgres_server.create_database("x")  # postgresql+asyncpg://...
        postgres_server.stop(); postgres_server.start()  # "database briefly unavailable"

The cluster lives in a temporary directory: ``initdb`` with trust authentication, durability
turned off (``fsync``, ``synchronous_commit``, ``full_page_writes``), listening on 127.0.0.1 on a
free port, unix socket inside the directory.

Binaries are looked up in ``$AIGUILLAGE_PG_BIN``, then ``PATH``, ``/usr/local/bin`` and
``/usr/lib/postgresql/<version>/bin`` (newest first).

PostgreSQL refuses to run as root. When the tests run as root, every server command
(``initdb``, ``pg_ctl``) is executed as an unprivileged user — ``$AIGUILLAGE_PG_USER`` if set,
else ``postgres``, else ``nobody`` — through ``subprocess``'s ``user=``/``group=`` (setuid in the
child, no ``su``/``runuser`` needed) and the temporary directory is chowned to that user.
Clients (psql, asyncpg) keep running as root and connect over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ENV_BIN = "AIGUILLAGE_PG_BIN"
ENV_USER = "AIGUILLAGE_PG_USER"
ENV_REQUIRE = "AIGUILLAGE_REQUIRE_POSTGRES"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
_REQUIRED = ("initdb", "pg_ctl", "postgres")
_CANDIDATE_USERS = ("postgres", "nobody")
# sun_path is 108 bytes on Linux; keep room for "/.s.PGSQL.NNNNN".
_MAX_SOCKET_DIR_LEN = 90
_COMMAND_TIMEOUT = 120.0


# --------------------------------------------------------------------------- binaries


def _has_server_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _REQUIRED)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> newest version first after sorting in reverse
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def _candidate_dirs() -> Iterator[Path]:
    explicit = os.environ.get(ENV_BIN)
    if explicit:
        yield Path(explicit)
    which = shutil.which("pg_ctl")
    if which:
        yield Path(which).parent
    yield Path("/usr/local/bin")
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    yield from sorted(Path("/usr/local/pgsql").glob("bin"))


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    Symlinks (``/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb``) are resolved so the
    returned directory is the real one, where ``initdb`` finds its sibling ``postgres``.
    """
    seen: set[Path] = set()
    for directory in _candidate_dirs():
        if not directory.is_dir():
            continue
        real = (directory / "pg_ctl").resolve().parent if (directory / "pg_ctl").exists() else None
        for candidate in (real, directory):
            if candidate is None or candidate in seen:
                continue
            seen.add(candidate)
            if _has_server_binaries(candidate):
                return candidate
    return None


# --------------------------------------------------------------------------- privileges


@dataclass(frozen=True)
class RunAs:
    """Unprivileged account used for server commands when the tests run as root."""

    name: str
    uid: int
    gid: int


def _pick_run_as() -> RunAs | None:
    """None when not root (run as ourselves); otherwise an unprivileged existing account."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get(ENV_USER)
    names = (wanted,) if wanted else _CANDIDATE_USERS
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            raise RuntimeError(f"{ENV_USER}={name!r} is root; PostgreSQL refuses to run as root")
        return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)
    raise RuntimeError(
        "running as root and no unprivileged account to run PostgreSQL as "
        f"(tried {', '.join(names)}). Create one, e.g. "
        "`useradd --system --no-create-home --shell /usr/sbin/nologin postgres`, "
        f"or set {ENV_USER}."
    )


def _user_can_traverse(path: Path, run_as: RunAs) -> bool:
    groups = {run_as.gid} | {g.gr_gid for g in grp.getgrall() if run_as.name in g.gr_mem}
    for directory in (path, *path.parents):
        mode = directory.stat()
        if mode.st_uid == run_as.uid:
            allowed = bool(mode.st_mode & stat.S_IXUSR)
        elif mode.st_gid in groups:
            allowed = bool(mode.st_mode & stat.S_IXGRP)
        else:
            allowed = bool(mode.st_mode & stat.S_IXOTH)
        if not allowed:
            return False
    return True


def _clean_env(home: Path | None = None) -> dict[str, str]:
    """Environment without PG* variables that could redirect commands to another cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    if home is not None:
        env["HOME"] = str(home)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise ValueError(f"invalid database name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- server


class PostgresServer:
    """A running private cluster. Create it with :func:`start_postgres`."""

    def __init__(
        self,
        *,
        bin_dir: Path,
        base_dir: Path,
        port: int,
        run_as: RunAs | None,
        socket_dir: Path | None,
    ) -> None:
        self.bin_dir = bin_dir
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.log_file = base_dir / "postgres.log"
        self.socket_dir = socket_dir
        self.port = port
        self.host = HOST
        self.user = SUPERUSER
        self.run_as = run_as
        self.running = False
        #: seconds spent in initdb / in the first ``pg_ctl start -w`` (set by start_postgres)
        self.initdb_seconds = 0.0
        self.start_seconds = 0.0
        #: wall time of the whole start_postgres() call as measured by the fixture
        self.startup_seconds = 0.0

    # -- urls ------------------------------------------------------------------------------

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        """Plain libpq/asyncpg DSN (no SQLAlchemy driver suffix)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        """SQLAlchemy async URL of the default ``postgres`` database."""
        return self.url_for("postgres")

    # -- commands --------------------------------------------------------------------------

    def _run_server_cmd(
        self, args: Sequence[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the unprivileged account when we are root."""
        kwargs: dict[str, Any] = {}
        if self.run_as is not None:
            kwargs = {"user": self.run_as.uid, "group": self.run_as.gid, "extra_groups": []}
        proc = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            cwd=self.base_dir,
            env=_clean_env(home=self.base_dir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed with exit code {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n"
                f"server log:\n{self._log_tail()}"
            )
        return proc

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _initdb(self) -> None:
        self._run_server_cmd(
            [
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        )
        socket_dirs = str(self.socket_dir) if self.socket_dir is not None else ""
        settings: Mapping[str, str] = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": socket_dirs,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "logging_collector": "off",
        }
        conf = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        # Appended to postgresql.conf (last occurrence wins) so a restart keeps them. Root may
        # write the file; its ownership (the run-as account) is unchanged.
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("\n# tests/fakes/postgres.py\n" + conf)

    def start(self) -> None:
        """(Re)start the cluster on the same data dir and port; waits until it accepts queries."""
        if self.running:
            return
        self._run_server_cmd(
            [
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
            ]
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (``fast`` disconnects clients; ``immediate`` skips checkpoint)."""
        if not self.running:
            return
        self._run_server_cmd(
            ["pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data_dir)]
        )
        self.running = False

    def cleanup(self) -> None:
        """Immediate stop (best effort) and removal of the whole base directory."""
        if self.running:
            proc = self._run_server_cmd(
                ["pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir)],
                check=False,
            )
            self.running = (
                proc.returncode != 0 and self.data_dir.joinpath("postmaster.pid").exists()
            )
        if not self.running:  # never pull the data dir from under a live server
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one SQL statement (outside a transaction block) synchronously."""
        psql = self.bin_dir / "psql"
        if not os.access(psql, os.X_OK):
            psql = Path(shutil.which("psql") or "")
        if psql.name == "psql" and os.access(psql, os.X_OK):
            proc = subprocess.run(
                [
                    str(psql),
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-d",
                    database,
                    "-c",
                    sql,
                ],
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_COMMAND_TIMEOUT,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"psql failed: {sql!r}\n{proc.stderr}")
            return
        self._execute_asyncpg(sql, database)

    def _execute_asyncpg(self, sql: str, database: str) -> None:
        import asyncpg  # project dependency; only needed when psql is absent

        async def run() -> None:
            conn = await asyncpg.connect(self.dsn_for(database))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        # A dedicated thread owns the short event loop, so this also works when called from
        # inside a running loop (async tests).
        errors: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(run())
            except BaseException as exc:  # re-raised in the caller thread
                errors.append(exc)

        thread = threading.Thread(target=target, name="postgres-fake-execute")
        thread.start()
        thread.join(_COMMAND_TIMEOUT)
        if thread.is_alive():
            raise TimeoutError(f"asyncpg did not finish {sql!r} in {_COMMAND_TIMEOUT}s")
        if errors:
            raise errors[0]

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name`` and return its SQLAlchemy async URL."""
        self.execute(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url_for(name)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<PostgresServer {self.url} {state} data={self.data_dir}>"


def start_postgres(base_dir: Path) -> PostgresServer:
    """initdb a fresh cluster in ``base_dir`` (created if needed) and start it.

    When running as root, ``base_dir`` is chowned to the unprivileged account and every parent
    directory must be traversable by it (``/tmp/...`` is; pytest's ``/tmp/pytest-of-root`` is
    not, hence the fixture uses :func:`tempfile.mkdtemp`).
    """
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(f"PostgreSQL server binaries not found ({_search_hint()})")
    run_as = _pick_run_as()
    base_dir = Path(base_dir).absolute()
    base_dir.mkdir(parents=True, exist_ok=True)
    if any(base_dir.iterdir()):
        raise RuntimeError(f"{base_dir} is not empty")
    if run_as is not None:
        os.chown(base_dir, run_as.uid, run_as.gid)
        if not _user_can_traverse(base_dir, run_as):
            raise RuntimeError(
                f"user {run_as.name!r} cannot reach {base_dir}: a parent directory is not "
                "traversable (chmod o+x it, or use a directory under /tmp)"
            )

    socket_dir: Path | None = None  # None: path too long for a unix socket, TCP only
    if len(str(base_dir / "sock")) <= _MAX_SOCKET_DIR_LEN:
        socket_dir = base_dir / "sock"
        socket_dir.mkdir(mode=0o700)
        if run_as is not None:
            os.chown(socket_dir, run_as.uid, run_as.gid)

    server = PostgresServer(
        bin_dir=bin_dir,
        base_dir=base_dir,
        port=_free_port(),
        run_as=run_as,
        socket_dir=socket_dir,
    )
    began = time.perf_counter()
    server._initdb()
    server.initdb_seconds = time.perf_counter() - began

    began = time.perf_counter()
    for attempt in range(3):
        try:
            server.start()
            break
        except RuntimeError:
            # most likely the free port was grabbed in between: pick another one
            if attempt == 2:
                raise
            server.port = _free_port()
            with (server.data_dir / "postgresql.conf").open("a") as fh:
                fh.write(f"port = '{server.port}'\n")
    server.start_seconds = time.perf_counter() - began
    return server


# --------------------------------------------------------------------------- pytest fixture


def _search_hint() -> str:
    return (
        f"looked in ${ENV_BIN}, PATH, /usr/local/bin and /usr/lib/postgresql/*/bin for "
        f"{', '.join(_REQUIRED)}; install e.g. `apt-get install postgresql` or set {ENV_BIN}"
    )


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _in_ci() -> bool:
    """PostgreSQL is required (a missing binary is an error, not a skip): in CI, or when
    ``$AIGUILLAGE_REQUIRE_POSTGRES`` is set (.ci/run sets it)."""
    return _truthy("CI") or _truthy(ENV_REQUIRE)


def _report(config: pytest.Config, line: str) -> None:
    """Print past pytest's output capture (visible even with -q, without -s)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capman = config.pluginmanager.get_plugin("capturemanager")
    guard = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
    with guard:
        reporter.ensure_newline()
        reporter.write_line(line)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """Session-wide private PostgreSQL; skipped locally without binaries, fatal in CI (``$CI``
    or ``$AIGUILLAGE_REQUIRE_POSTGRES``)."""
    if find_pg_bin() is None:
        message = f"PostgreSQL server binaries not found: {_search_hint()}"
        if _in_ci():
            pytest.fail(f"{message} (CI or {ENV_REQUIRE} is set, refusing to skip)", pytrace=False)
        pytest.skip(message)

    base_dir = Path(tempfile.mkdtemp(prefix="aiguillage-pg-"))
    began = time.perf_counter()
    try:
        server = start_postgres(base_dir)
    except BaseException:
        shutil.rmtree(base_dir, ignore_errors=True)
        raise
    elapsed = time.perf_counter() - began

    server.startup_seconds = elapsed
    _report(
        request.config,
        f"postgres fixture: {server.url}"
        + (f" (server runs as {server.run_as.name!r})" if server.run_as else "")
        + f" ready in {elapsed:.2f}s (initdb {server.initdb_seconds:.2f}s,"
        f" pg_ctl start {server.start_seconds:.2f}s)",
    )
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()
