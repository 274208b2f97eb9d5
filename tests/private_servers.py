"""Private PostgreSQL and Redis servers, and the site served by gunicorn, for fault tests.

The fault tests stop and restart servers. They must never touch the shared ones (other
tests and people use them at the same time), so each test starts its own: a throwaway
PostgreSQL cluster (initdb in a temporary directory, trust auth, its own port and socket)
and a Redis without persistence. As root, PostgreSQL runs as the ``postgres`` OS user,
since initdb refuses root. The site is a real gunicorn process configured by environment
variables, as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing(reason: str) -> None:
    """A missing server binary fails in CI (CI=true) and skips, with the reason, elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps one per version)."""
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        found = [d / "bin" for d in versions.iterdir() if (d / "bin" / "initdb").exists()]
        if found:
            return max(found, key=lambda p: int("".join(c for c in p.parent.name if c.isdigit())))
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    missing("needs PostgreSQL's server binaries (initdb, pg_ctl) for a private cluster")
    raise AssertionError  # unreachable: missing() raises


class PrivatePostgres:
    """A PostgreSQL cluster of our own, on a free port, deleted at the end."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="quorum-pg-"))
        self.data = self.dir / "data"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
        assert result.returncode == 0, f"{tool} failed: {result.stdout}{result.stderr}"

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", *extra, action)

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        # fast: the server ends every session at once, as a crash or failover would.
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def url(self, name: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str, user: str = "postgres") -> Any:
        import psycopg2

        connection = psycopg2.connect(self.url(name, user))
        connection.autocommit = True
        return connection

    def sql(self, statement: str, name: str = "postgres", params: Any = None) -> list[Any]:
        connection = self.connect(name)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a client tool (pg_dump, pg_restore …) of the same version as the server."""
        return subprocess.run(  # noqa: S603
            [str(self.bin / tool), *args], capture_output=True, text=True, timeout=120, check=False
        )

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


class PrivateRedis:
    """A Redis of our own without persistence: a restart loses whatever it held."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(binary, os.X_OK):
            missing("needs redis-server for a private broker")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        for _ in range(100):
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the private Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in its own process, configured by ``env`` alone."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def site_env(database_url: str, **extra: str) -> dict[str, str]:
    """A production-like environment (DEBUG off) for the site's processes."""
    from .test_production import production_env

    env = production_env(DATABASE_URL=database_url, **extra)
    env.setdefault("CELERY_BROKER_URL", "")
    return env


def prepared_database(server: PrivatePostgres, name: str, env: dict[str, str]) -> None:
    """Create, migrate and load the demo council (tasks in-process: nothing queued)."""
    server.sql(f'CREATE DATABASE "{name}"')
    quiet = {**env, "CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "true"}
    for command in (("migrate", "--noinput", "-v0"), ("seed_demo",)):
        result = manage(quiet, *command)
        assert result.returncode == 0, result.stdout + result.stderr


class Site:
    """gunicorn serving the site; requests go through a TLS proxy's header."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "council.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
                # One line per request: which node served what (tests/test_nodes.py).
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group: kill() takes the master and its workers at once.
            start_new_session=True,
        )
        self.log = log
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.stop()  # never leave a server behind a failed start
            raise

    def _wait_until_it_answers(self) -> None:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=10)
                return
            except urllib.error.HTTPError:
                return  # it answers (503 when the broker is down on purpose)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert self.process.poll() is None, self.log.read_text()
                time.sleep(0.25)
        raise AssertionError("gunicorn did not answer: " + self.log.read_text())

    def request(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"X-Forwarded-Proto": "https", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def kill(self) -> None:
        """SIGKILL the master and every worker together, as a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()
