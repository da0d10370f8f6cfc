"""A real local Ray cluster for the tests and benchmarks: a head and worker nodes as separate processes.

``RayCluster`` runs ``ray start --head --block`` and one ``ray start --address ... --block`` per worker
node, each in its own session (process group), on free loopback ports and in its own temporary folder,
so that ``stop`` ends exactly these processes (never ``ray stop``, which would end every cluster of the
machine). The head gets no CPUs: tasks run on the worker nodes only. Workers import sealshot from this
checkout (``PYTHONPATH``) and run one thread each. ``RayUnavailable`` says why a cluster could not start.
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
from pathlib import Path

from tests.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
OBJECT_STORE_BYTES = 100 * 1024 * 1024
"""Small on purpose: a batch ships file names and results through it, never frames."""


class RayUnavailable(RuntimeError):
    """A Ray cluster could not be started here; the message says why (a test skips with it)."""


def _ray_program() -> str:
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        raise RayUnavailable("the 'ray' program is not installed (the 'scale' extra: pip install -e '.[scale]')")
    return found


def process_environment() -> dict[str, str]:
    """The environment of the cluster's processes (and so of its workers): this checkout first on the path,
    one thread per task, no usage statistics (there is no network)."""
    paths = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.environ | {
        "PYTHONPATH": os.pathsep.join(paths),
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


class RayCluster:
    """``RayCluster(workers=1, cpus_per_worker=1).start()``; ``address`` for ``ray.init``; ``stop()``."""

    def __init__(self, workers: int = 1, cpus_per_worker: int = 1, start_timeout_s: float = 60.0, environment: dict[str, str] | None = None) -> None:
        self.environment = process_environment() | (environment or {})
        try:
            import ray  # noqa: F401
        except ImportError as error:
            raise RayUnavailable(f"the 'ray' package is not installed ({error})") from error
        self.program = _ray_program()
        self.worker_count = workers
        self.cpus_per_worker = cpus_per_worker
        self.start_timeout_s = start_timeout_s
        # Short: Ray's socket paths live under it and a Unix socket path has at most 107 characters.
        self.folder = Path(tempfile.mkdtemp(prefix="sray-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._logs: list[Path] = []

    def _ports(self) -> list[str]:
        """Every port a node opens, chosen free, so that this cluster does not collide with another on the machine."""
        low = free_port()
        return [
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--min-worker-port={low}",
            f"--max-worker-port={low + 50}" if low + 50 < 65536 else f"--max-worker-port={low}",
        ]

    def _launch(self, name: str, arguments: list[str]) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        self._logs.append(log)
        with log.open("wb") as output:
            return subprocess.Popen(
                [self.program, "start", "--block", "--disable-usage-stats", f"--object-store-memory={OBJECT_STORE_BYTES}", *arguments],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.environment,
                start_new_session=True,  # its own process group: stop() ends it and its children, nothing else
            )

    def start(self) -> "RayCluster":
        try:
            self.head = self._launch(
                "head",
                [
                    "--head",
                    "--node-ip-address=127.0.0.1",
                    f"--port={self.port}",
                    "--num-cpus=0",
                    "--include-dashboard=false",
                    f"--temp-dir={self.folder}",
                    *self._ports(),
                ],
            )
            self._wait_for_nodes(1)
            for index in range(self.worker_count):
                self.add_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def add_worker(self) -> subprocess.Popen:
        worker = self._launch(
            f"worker-{len(self.workers) + 1}",
            [f"--address={self.address}", "--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus_per_worker}", *self._ports()],
        )
        self.workers.append(worker)
        self._wait_for_nodes(1 + len(self.workers))
        return worker

    def _wait_for_nodes(self, count: int) -> None:
        """Until ``count`` nodes are alive (asked through the GCS, from a throw-away process)."""
        probe = (
            "import ray, sys\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
            "print(sum(1 for node in ray.nodes() if node['Alive']))\n"
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            for process in [self.head, *self.workers]:
                if process is not None and process.poll() is not None:
                    raise RayUnavailable(f"a Ray node exited at start (code {process.returncode}): {self._log_tail()}")
            try:  # ray.init waits a long time for a head that does not listen yet
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.2)
                continue
            found = subprocess.run([sys.executable, "-c", probe], env=process_environment(), capture_output=True, text=True, timeout=20)
            if found.returncode == 0 and found.stdout.strip().splitlines()[-1:] and int(found.stdout.strip().splitlines()[-1]) >= count:
                return
            time.sleep(0.5)
        raise RayUnavailable(f"the Ray cluster did not have {count} node(s) within {self.start_timeout_s:g} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        tails = []
        for log in self._logs:
            if log.exists():
                tails.append(f"{log.name}: " + " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:]))
        return "; ".join(tails) or "no output"

    def task_processes(self, task_name: str) -> list[int]:
        """Pids of the worker processes now running a task called ``task_name`` (Ray names a worker process
        ``ray::TASK`` while it runs one), among this cluster's processes only."""
        sessions = {process.pid for process in self.workers if process.poll() is None}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                session = os.getsid(int(entry.name))
            except (OSError, ProcessLookupError):
                continue
            if session in sessions and command.startswith(f"ray::{task_name}"):
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        # SIGTERM lets each ``ray start --block`` end its node; whatever of its group is still there then is killed.
        for process in [*reversed(self.workers), self.head]:
            if process is None:
                continue
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=3.0)
                except subprocess.TimeoutExpired:
                    pass
        # Task worker processes have process groups of their own (in the node's session): end what is left of these sessions.
        self._end_leftovers()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _end_leftovers(self) -> None:
        sessions = {process.pid for process in [self.head, *self.workers] if process is not None}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if os.getsid(int(entry.name)) in sessions:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue
