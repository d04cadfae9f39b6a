"""A real, private Synapse homeserver for tests (Matrix client API on 127.0.0.1).

Usage from a conftest::

    from tests.fakes.synapse import synapse, synapse_private, synapse_users  # noqa: F401

    async def test_x(synapse, synapse_users):
        alice = await synapse_users("alice")          # RegisteredUser, unique localpart
        client = AsyncClient(synapse.base_url, alice.user_id)
        ...

Fixtures (all *synchronous*: the process is managed with ``subprocess`` and polled with
``urllib``, so they work with any pytest-asyncio ``loop_scope`` — tests need no special marker):

``synapse`` (session scope)
    One homeserver for the whole test session (a start costs ~1.5-2 s here, mostly the Python
    import of Synapse; a restart on existing data ~1.4 s; a stop ~0.05 s). Tests should not leave
    it stopped; ``synapse_users`` restarts it if one did.
``synapse_users`` (function scope)
    A :class:`UserFactory` bound to ``synapse``: ``await synapse_users("bob", admin=False)`` (or
    ``synapse_users.sync("bob")``) registers ``@bob-<n>:test.local`` with a process-wide counter,
    so tests never share users.
``synapse_private`` (function scope)
    A homeserver of its own in ``tmp_path``, for destructive tests (``stop()``/``start()``,
    "homeserver down then back"). Costs one full start.

Helpers: ``await start_synapse(tmp_dir)`` (returns a running :class:`Synapse`, to be stopped with
``await s.stop()``), ``async with running_synapse(tmp_dir) as s``, ``with
running_synapse_sync(tmp_dir) as s``; :class:`Synapse` itself is a (sync and async) context
manager that stops the server on exit.

The generated ``homeserver.yaml``: server name ``test.local`` (not resolvable — federation is off:
no federation listener, ``federation_domain_whitelist: []``, ``trusted_key_servers: []``), one
plain HTTP listener on a free 127.0.0.1 port serving the ``client`` resource (which includes the
``/_synapse/admin`` API), SQLite database, media store and signing key in the data directory,
``registration_shared_secret`` (users are created via the shared-secret admin API, open
registration is disabled), every ``rc_*`` rate limit raised to very high values, no metrics,
no presence, no URL previews, no stats reporting, logs at WARNING in ``<data_dir>/homeserver.log``
(the process's own stdout/stderr go to ``<data_dir>/synapse.out``).

Requires the ``matrix-synapse`` package in the test virtualenv. Without it the fixtures skip,
except when ``$CI`` is set, where they fail.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import hashlib
import hmac
import http.client
import importlib.util
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

HOST = "127.0.0.1"
SERVER_NAME = "test.local"
DEFAULT_PASSWORD = "test-password-1234"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0
_LOG_TAIL_LINES = 40

# Far above anything a test does, but finite (Synapse wants numbers).
_RELAXED = {"per_second": 100_000, "burst_count": 1_000_000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _RELAXED,
    "rc_registration": _RELAXED,
    "rc_registration_token_validity": _RELAXED,
    "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
    "rc_admin_redaction": _RELAXED,
    "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
    "rc_joins_per_room": _RELAXED,
    "rc_3pid_validation": _RELAXED,
    "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
    "rc_third_party_invite": _RELAXED,
    "rc_media_create": _RELAXED,
    "rc_key_requests": _RELAXED,
    "rc_presence": {"per_user": _RELAXED},
    "rc_delayed_event_mgmt": _RELAXED,
    "rc_room_creation": _RELAXED,
    "rc_reports": _RELAXED,
    "rc_user_directory": _RELAXED,
    "rc_profile": _RELAXED,
    "rc_federation": {
        "window_size": 1000,
        "sleep_limit": 100_000,
        "sleep_delay": 0,
        "reject_limit": 100_000,
        "concurrent": 1000,
    },
}

_LOCALPART_UNSAFE = re.compile(r"[^a-z0-9._=/-]+")
_user_counter = itertools.count(1)


class SynapseError(RuntimeError):
    """The homeserver could not be started, or misbehaved."""


class SynapseHTTPError(SynapseError):
    """A request to the homeserver got a non-2xx answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        self.errcode: str | None = parsed.get("errcode") if isinstance(parsed, dict) else None
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:500]}")


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    access_token: str
    device_id: str
    password: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def synapse_available() -> bool:
    return importlib.util.find_spec("synapse") is not None


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def write_signing_key(path: Path) -> None:
    """Write a Synapse signing key file: ``ed25519 <version> <unpadded base64 32-byte seed>``."""
    version = "a_" + secrets.token_hex(2)
    path.write_text(f"ed25519 {version} {_unpadded_b64(secrets.token_bytes(32))}\n")
    path.chmod(0o600)


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"<{path} not readable>"
    return "\n".join(text.splitlines()[-lines:]) or f"<{path} is empty>"


_live: weakref.WeakSet[Synapse] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:  # pragma: no cover - safety net for interrupted sessions
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop_sync(timeout=2.0)


class Synapse:
    """A Synapse homeserver running as a subprocess, restartable on the same port and data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        server_name: str = SERVER_NAME,
        port: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.server_name = server_name
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.startup_timeout = startup_timeout
        self.config_path = self.data_dir / "homeserver.yaml"
        self.log_path = self.data_dir / "homeserver.log"
        self.output_path = self.data_dir / "synapse.out"
        self.start_durations: list[float] = []
        self._shared_secret = secrets.token_urlsafe(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: RegisteredUser | None = None
        self._write_config()

    # ------------------------------------------------------------------ configuration

    def _config(self) -> dict[str, Any]:
        d = self.data_dir
        return {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(d / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": [HOST],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(d / "homeserver.db")}},
            "media_store_path": str(d / "media_store"),
            "signing_key_path": str(d / "signing.key"),
            "log_config": str(d / "log_config.yaml"),
            "registration_shared_secret": self._shared_secret,
            "macaroon_secret_key": secrets.token_urlsafe(32),
            "form_secret": secrets.token_urlsafe(32),
            "report_stats": False,
            "enable_registration": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "suppress_key_server_warning": True,
            "trusted_key_servers": [],
            "federation_domain_whitelist": [],
            "serve_server_wellknown": False,
            **RATE_LIMITS,
        }

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {
                    "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
                }
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "level": "WARNING",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "media_store").mkdir(exist_ok=True)
        key_path = self.data_dir / "signing.key"
        if not key_path.exists():
            write_signing_key(key_path)
        # JSON is valid YAML: no YAML library needed to write the configuration.
        self.config_path.write_text(json.dumps(self._config(), indent=2) + "\n")
        (self.data_dir / "log_config.yaml").write_text(json.dumps(self._log_config(), indent=2))

    # ------------------------------------------------------------------ process control

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The homeserver hangs (SIGSTOP): connections stay open, nothing answers,
        until the block ends (SIGCONT). Not down: frozen."""
        pid = self.pid
        assert pid is not None, "Synapse is not running"
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    @property
    def last_start_duration(self) -> float | None:
        return self.start_durations[-1] if self.start_durations else None

    def logs(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Tail of the Synapse log and of the process output, for error messages."""
        return (
            f"--- {self.log_path} ---\n{_tail(self.log_path, lines)}\n"
            f"--- {self.output_path} ---\n{_tail(self.output_path, lines)}"
        )

    def start_sync(self) -> None:
        """Start the process and block until ``/_matrix/client/versions`` answers."""
        if self.running:
            return
        began = time.monotonic()
        with self.output_path.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C aimed at pytest must not hit Synapse first
            )
        _live.add(self)
        deadline = began + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise SynapseError(
                    f"Synapse exited with code {code} during startup "
                    f"(config {self.config_path}).\n{self.logs()}"
                )
            if self._ready():
                break
            if time.monotonic() > deadline:
                self.stop_sync(timeout=2.0)
                raise SynapseError(
                    f"Synapse did not answer on {self.base_url} within "
                    f"{self.startup_timeout:.0f} s (config {self.config_path}).\n{self.logs()}"
                )
            time.sleep(0.05)
        self.start_durations.append(time.monotonic() - began)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                self.base_url + "/_matrix/client/versions", timeout=1.0
            ) as resp:
                return bool(resp.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def stop_sync(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Data and port are kept."""
        process, self._process = self._process, None
        _live.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)

    def ensure_running(self) -> None:
        if not self.running:
            self.start_sync()

    async def start(self) -> None:
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Synapse {self.server_name} at {self.base_url} ({state}, {self.data_dir})>"

    # ------------------------------------------------------------------ HTTP helpers

    def request_sync(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        timeout: float = HTTP_TIMEOUT,
    ) -> Any:
        """JSON request to the homeserver; returns the decoded answer, raises SynapseHTTPError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise SynapseHTTPError(
                method, path, err.code, err.read().decode(errors="replace")
            ) from None
        return json.loads(raw) if raw else {}

    async def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Any:
        return await asyncio.to_thread(self.request_sync, method, path, body, token=token)

    # ------------------------------------------------------------------ users

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def register_sync(
        self, localpart: str, password: str = DEFAULT_PASSWORD, admin: bool = False
    ) -> RegisteredUser:
        """Register through ``/_synapse/admin/v1/register`` with the shared-secret HMAC."""
        path = "/_synapse/admin/v1/register"
        nonce = self.request_sync("GET", path)["nonce"]
        mac = hmac.new(self._shared_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        answer = self.request_sync(
            "POST",
            path,
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return RegisteredUser(
            user_id=answer["user_id"],
            access_token=answer["access_token"],
            device_id=answer["device_id"],
            password=password,
        )

    async def register(
        self, localpart: str, password: str = DEFAULT_PASSWORD, admin: bool = False
    ) -> RegisteredUser:
        return await asyncio.to_thread(self.register_sync, localpart, password, admin)

    @property
    def admin_sync(self) -> RegisteredUser:
        """A server admin registered on first use (kept across restarts: same database)."""
        if self._admin is None:
            self._admin = self.register_sync(
                f"fixture-admin-{secrets.token_hex(4)}", secrets.token_urlsafe(16), admin=True
            )
        return self._admin

    async def admin(self) -> RegisteredUser:
        return await asyncio.to_thread(lambda: self.admin_sync)

    def override_ratelimit_sync(self, user_id: str) -> None:
        """Exempt ``user_id`` from message rate limiting (admin API)."""
        quoted = urllib.parse.quote(user_id, safe="")
        self.request_sync(
            "POST",
            f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            token=self.admin_sync.access_token,
        )

    async def override_ratelimit(self, user_id: str) -> None:
        await asyncio.to_thread(self.override_ratelimit_sync, user_id)


# ---------------------------------------------------------------------- functional API


def start_synapse_sync(tmp_dir: Path, **kwargs: Any) -> Synapse:
    server = Synapse(Path(tmp_dir), **kwargs)
    server.start_sync()
    return server


async def start_synapse(tmp_dir: Path, **kwargs: Any) -> Synapse:
    """Create the configuration in ``tmp_dir`` and start a homeserver; caller must ``stop()``."""
    return await asyncio.to_thread(start_synapse_sync, tmp_dir, **kwargs)


@contextlib.contextmanager
def running_synapse_sync(tmp_dir: Path, **kwargs: Any) -> Iterator[Synapse]:
    server = start_synapse_sync(tmp_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop_sync()


@contextlib.asynccontextmanager
async def running_synapse(tmp_dir: Path, **kwargs: Any) -> AsyncIterator[Synapse]:
    server = await start_synapse(tmp_dir, **kwargs)
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class UserFactory:
    """Registers users with unique localparts: ``await factory("alice")`` -> ``@alice-7:...``."""

    server: Synapse
    created: list[RegisteredUser] = field(default_factory=list)

    def sync(
        self, name: str = "user", *, admin: bool = False, password: str = DEFAULT_PASSWORD
    ) -> RegisteredUser:
        base = _LOCALPART_UNSAFE.sub("-", name.lower()).strip("-") or "user"
        user = self.server.register_sync(f"{base}-{next(_user_counter)}", password, admin)
        self.created.append(user)
        return user

    async def __call__(
        self, name: str = "user", *, admin: bool = False, password: str = DEFAULT_PASSWORD
    ) -> RegisteredUser:
        return await asyncio.to_thread(lambda: self.sync(name, admin=admin, password=password))


# ---------------------------------------------------------------------- pytest fixtures


def _require_synapse() -> None:
    if synapse_available():
        return
    message = "matrix-synapse is not installed (pip install matrix-synapse)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One homeserver for the whole session (synchronous: any event loop scope works)."""
    _require_synapse()
    with running_synapse_sync(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest.fixture
def synapse_users(synapse: Synapse) -> UserFactory:
    """Fresh users on the session homeserver (restarted first if a test left it stopped)."""
    synapse.ensure_running()
    return UserFactory(synapse)


@pytest.fixture
def synapse_private(tmp_path: Path) -> Iterator[Synapse]:
    """A homeserver of this test's own, for destructive tests (stop/start)."""
    _require_synapse()
    with running_synapse_sync(tmp_path / "synapse") as server:
        yield server
