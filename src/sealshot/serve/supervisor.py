"""The ``serve`` process: one process per camera, restarted with back-off; metrics and health on loopback.

It holds no model and no frame: it starts each camera (``camera.camera_main``) in a spawned process,
collects the status each sends about once a second, restarts one that exits with an error (waiting
``restart_initial_s``, doubling up to ``restart_max_s``; the wait resets after a minute of running),
and logs why. A camera reading a file ends when the file does and is not restarted. On SIGTERM or
SIGINT every camera is sent SIGTERM and given ``stop_timeout_s`` to seal its open tracks.
"""

from __future__ import annotations

import http.server
import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from sealshot.errors import EXIT_PARTIAL, InputError, signal_exit_code
from sealshot.serve.camera import camera_main
from sealshot.serve.config import CameraSettings, ServeConfig

logger = logging.getLogger("sealshot.serve")

STALE_AFTER_S = 10.0
"""A camera whose last status is older than this is reported down."""
HEALTHY_RUN_S = 60.0
"""A camera that ran this long before exiting restarts after the initial wait again."""
_CHILD_ENVIRONMENT = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_COUNTERS = ("frames_decoded", "frames_processed", "frames_dropped", "snapshots_sealed", "reconnections")


@dataclass
class CameraState:
    settings: CameraSettings
    process: multiprocessing.process.BaseProcess | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    delay_s: float = 0.0
    finished: bool = False
    last_exit: int | None = None
    status: dict[str, Any] = field(default_factory=dict)
    carried: dict[str, int] = field(default_factory=dict)
    """Counters of earlier runs of this camera's process, so that the totals survive restarts."""

    def total(self, name: str) -> int:
        return int(self.carried.get(name, 0)) + int(self.status.get(name, 0) or 0)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    @property
    def up(self) -> bool:
        fresh = time.time() - float(self.status.get("sent_at", 0.0)) < STALE_AFTER_S
        return self.running and fresh and bool(self.status.get("up"))

    def health(self) -> dict[str, Any]:
        return {
            "up": self.up,
            "running": self.running,
            "finished": self.finished,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_error": self.status.get("last_error"),
            "fps": self.status.get("fps", 0.0),
            "lag_s": self.status.get("lag_s", 0.0),
            "live_tracks": self.status.get("live_tracks", 0),
            "snapshots_sealed": self.total("snapshots_sealed"),
        }


class _Collector:
    """Prometheus families from the cameras' latest status, built on each scrape."""

    def __init__(self, supervisor: "Supervisor") -> None:
        self.supervisor = supervisor

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        states = list(self.supervisor.cameras.values())
        counters = {name: CounterMetricFamily(f"sealshot_{name}", f"{name.replace('_', ' ')} per camera", labels=["camera"]) for name in _COUNTERS}
        counters["restarts"] = CounterMetricFamily("sealshot_camera_restarts", "restarts of the camera's process", labels=["camera"])
        gauges = {
            "fps": GaugeMetricFamily("sealshot_processing_fps", "frames processed per second (last 5 s)", labels=["camera"]),
            "lag_s": GaugeMetricFamily("sealshot_lag_seconds", "how far behind live the last processed frame was when done (now minus the frame's own time)", labels=["camera"]),
            "lag_max_s": GaugeMetricFamily("sealshot_lag_max_seconds", "largest lag since the previous status (about 1 s)", labels=["camera"]),
            "live_tracks": GaugeMetricFamily("sealshot_live_tracks", "tracks followed now", labels=["camera"]),
            "rss_mb": GaugeMetricFamily("sealshot_camera_resident_megabytes", "resident memory of the camera's process", labels=["camera"]),
            "private_mb": GaugeMetricFamily(
                "sealshot_camera_private_megabytes", "memory only the camera's process holds (shared library code excluded)", labels=["camera"]
            ),
            "up": GaugeMetricFamily("sealshot_camera_up", "1 when the camera's process runs and its source delivers", labels=["camera"]),
        }
        error = InfoMetricFamily("sealshot_camera_last_error", "the camera's last error (empty: none)", labels=["camera"])
        for state in states:
            camera = state.settings.camera_id
            for name in _COUNTERS:
                counters[name].add_metric([camera], state.total(name))
            counters["restarts"].add_metric([camera], state.restarts)
            for name, family in gauges.items():
                value = state.up if name == "up" else state.status.get(name, 0.0)
                family.add_metric([camera], float(value or 0.0))
            error.add_metric([camera], {"error": str(state.status.get("last_error") or "")})
        yield from counters.values()
        yield from gauges.values()
        yield error


class _Handler(http.server.BaseHTTPRequestHandler):
    supervisor: "Supervisor"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path.split("?")[0] == "/metrics":
            self._reply(200, CONTENT_TYPE_LATEST, generate_latest(self.supervisor.registry))
        elif self.path.split("?")[0] == "/healthz":
            health = self.supervisor.health()
            self._reply(200 if not health["down"] else 503, "application/json", json.dumps(health, indent=2).encode())
        else:
            self._reply(404, "text/plain", b"not found: try /metrics or /healthz\n")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: scrapes are not events
        pass


class Supervisor:
    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.cameras = {c.camera_id: CameraState(c) for c in config.cameras}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))  # type: ignore[arg-type]
        self._context = multiprocessing.get_context("spawn")
        self._queue: Any = self._context.Queue()
        self._signal: int | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self.metrics_address: tuple[str, int] | None = None

    # -- health ----------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        cameras = {camera: state.health() for camera, state in self.cameras.items()}
        down = sorted(c for c, s in self.cameras.items() if not s.up and not s.finished)
        return {"ok": not down, "down": down, "cameras": cameras}

    # -- the loop --------------------------------------------------------------------------------

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self._signal = self._signal or signum

    def run(self) -> int:
        """Run until every camera finished (files only) or a signal came. The exit code: 0; 1 when a
        recording failed (truncated, unreadable, vault refused); 130/143 after Ctrl-C/SIGTERM."""
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
        self._serve_metrics()
        try:
            while self._signal is None:
                now = time.monotonic()
                for state in self.cameras.values():
                    self._watch(state, now)
                if all(state.finished for state in self.cameras.values()):
                    logger.info("every camera finished", extra={"event": "serve_finished"})
                    break
                self._drain(timeout_s=0.2)
        finally:
            self._shutdown()
            for s, h in previous.items():
                signal.signal(s, h)
        if self._signal:
            return signal_exit_code(self._signal)
        return EXIT_PARTIAL if any(s.finished and s.last_exit for s in self.cameras.values()) else 0

    def _watch(self, state: CameraState, now: float) -> None:
        if state.finished or state.running:
            return
        if state.process is not None:  # it exited: why, and when to start it again
            code = state.process.exitcode
            state.process.join()
            state.process = None
            state.last_exit = code
            for name in _COUNTERS:
                state.carried[name] = state.total(name)
            error = state.status.get("last_error")
            state.status = {"last_error": error}
            if not state.settings.is_live:  # a recording is read once: again would seal its people twice
                state.finished = True
                logger.log(
                    logging.INFO if code == 0 else logging.ERROR,
                    "camera finished its recording" if code == 0 else "camera failed on its recording; not restarted",
                    extra={"event": "camera_finished", "camera": state.settings.camera_id, "exit_code": code, "error": error},
                )
                return
            ran_s = now - state.started_at
            state.delay_s = self.config.restart_initial_s if ran_s >= HEALTHY_RUN_S or not state.delay_s else min(self.config.restart_max_s, state.delay_s * 2)
            state.next_start = now + state.delay_s
            logger.warning(
                "camera exited; restarting",
                extra={"event": "camera_restart_scheduled", "camera": state.settings.camera_id, "exit_code": code,
                       "error": error, "restart_in_s": round(state.delay_s, 2)},
            )
            return
        if now >= state.next_start:
            self._start(state)

    def _start(self, state: CameraState) -> None:
        settings = state.settings
        # glibc reads these when the process starts. Fewer malloc arenas (each thread would get one), and a
        # fixed mmap threshold: frame-sized buffers then go back to the system when freed, instead of glibc
        # raising the threshold and keeping them on a fragmenting heap (about 650 -> 410 MB on 1080p).
        inherited = {k: os.environ.get(k) for k in _CHILD_ENVIRONMENT}
        os.environ.update(MALLOC_ARENA_MAX="2", MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS=str(settings.threads), MKL_NUM_THREADS=str(settings.threads))
        try:
            process = self._context.Process(target=camera_main, args=(settings, self._queue), name=f"sealshot-camera-{settings.camera_id}")
            process.start()
        finally:
            for key, value in inherited.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if state.started_at:
            state.restarts += 1
        state.process = process
        state.started_at = time.monotonic()
        logger.info("camera process started", extra={"event": "camera_process_started", "camera": settings.camera_id, "pid": process.pid})

    def _drain(self, timeout_s: float) -> None:
        try:
            message = self._queue.get(timeout=timeout_s)
        except (queue.Empty, InterruptedError):
            return
        while True:
            state = self.cameras.get(message.get("camera"))
            if state is not None:
                state.status = message
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                return

    def _shutdown(self) -> None:
        running = [s for s in self.cameras.values() if s.running]
        if running:
            logger.info("stopping cameras; sealing open tracks", extra={"event": "serve_stopping", "cameras": [s.settings.camera_id for s in running]})
        for state in running:
            assert state.process is not None
            state.process.terminate()  # SIGTERM: the camera seals its open tracks
        deadline = time.monotonic() + self.config.stop_timeout_s
        for state in running:
            assert state.process is not None
            while state.process.is_alive() and time.monotonic() < deadline:
                self._drain(timeout_s=0.1)
            if state.process.is_alive():
                logger.error("camera did not stop in time; killed", extra={"event": "camera_killed", "camera": state.settings.camera_id})
                state.process.kill()
            state.process.join()
            state.last_exit = state.process.exitcode
        self._drain(timeout_s=0.05)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        logger.info("serve stopped", extra={"event": "serve_stopped", "exit_codes": {c: s.last_exit for c, s in self.cameras.items()}})

    def _serve_metrics(self) -> None:
        if self.config.metrics is None:
            return
        handler = type("Handler", (_Handler,), {"supervisor": self})
        try:
            self._server = http.server.ThreadingHTTPServer(self.config.metrics, handler)
        except OSError as error:
            host, port = self.config.metrics
            raise InputError(f"metrics address {host}:{port}: cannot listen there ({error.strerror or error})") from error
        self._server.daemon_threads = True
        self.metrics_address = (self._server.server_address[0], self._server.server_address[1])  # type: ignore[misc]
        threading.Thread(target=self._server.serve_forever, name="sealshot-metrics", daemon=True).start()
        host, port = self.metrics_address
        logger.info("metrics listening", extra={"event": "metrics_listening", "address": f"{host}:{port}", "paths": ["/metrics", "/healthz"]})
