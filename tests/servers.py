"""Real servers on loopback for the tests and benchmarks: a throw-away PostgreSQL cluster and moto's S3.

Nothing here is mocked: ``PostgresServer`` runs Debian's ``initdb``/``pg_ctl`` in a temporary folder
(as the ``postgres`` user when the tests run as root, since PostgreSQL refuses to run as root) and
``S3Server`` runs ``moto_server``. Each reports why it cannot start (``ServerUnavailable``), so a test
can skip with that reason. The benchmarks (``bench/scale.py``) import this module too.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION = "sealshot-test", "sealshot-test-secret", "us-east-1"


class ServerUnavailable(RuntimeError):
    """A server could not be started here; the message says why (a test skips with it)."""


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"{what} exited at start (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ServerUnavailable(f"{what} did not listen on port {port} within {timeout_s:g} s")


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust authentication, loopback only)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise ServerUnavailable("PostgreSQL is not installed (Debian package postgresql; `make system-deps` installs it)")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise ServerUnavailable("running as root and runuser is missing: PostgreSQL refuses to run as root")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError as error:
                raise ServerUnavailable("running as root and there is no 'postgres' user to run PostgreSQL as") from error
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="sealshot-pg-"))
        self.port = free_port()
        self.user = "postgres" if self._as_user else os.environ.get("USER", "postgres")
        self._started = False

    def _run(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout_s)

    def start(self) -> "PostgresServer":
        if self._as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        done = self._run(self._initdb, "-D", str(data), "-U", self.user, "--auth=trust", "--no-sync", "-E", "UTF8")
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
        self.start_server()
        self._started = True
        return self

    def stop_server(self) -> None:
        """Stop the server, keeping its data (``start_server`` brings it back on the same port)."""
        self._run(self._pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", timeout_s=60)

    def start_server(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=200"
        done = self._run(self._pg_ctl, "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-o", options, "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise ServerUnavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            self._run(self._pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop", timeout_s=60)
            self._started = False
        shutil.rmtree(self.folder, ignore_errors=True)


class S3Server:
    """moto's S3 server on 127.0.0.1; ``environment()`` are the variables boto3 needs to reach it."""

    def __init__(self) -> None:
        try:
            import moto.server  # noqa: F401
        except ImportError as error:
            raise ServerUnavailable(f"moto[server] is not installed ({error})") from error
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_DEFAULT_REGION": S3_REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
        }

    def start(self) -> "S3Server":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, 60, "moto_server")
        return self

    def create_bucket(self, prefix: str = "sealshot") -> str:
        """A new empty bucket; its name."""
        import boto3

        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY, region_name=S3_REGION
        )
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
