"""Real parts for ``sealshot serve``: FFmpeg serving clips live on 127.0.0.1, ``serve`` as a process,
its metrics and health read over HTTP, the vault verified."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from sealshot.vault.admin import create_single_key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def small_clip(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled clip at 640x360 with a keyframe every second: cheap to serve, decode and detect."""
    target = tmp_path_factory.mktemp("clips") / "arcade-640.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(sample_clip), "-vf", "scale=640:-2", "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-movflags", "+faststart", "-an", str(target)],
        check=True,
    )
    return target


@pytest.fixture(scope="session")
def authority_pub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys, _ = create_single_key(tmp_path_factory.mktemp("keys") / "keys")
    return keys.public_path


class LiveServer:
    """FFmpeg serving a clip, looped, as MPEG-TS over TCP on 127.0.0.1 (one client, as a camera does)."""

    def __init__(self, ffmpeg: str, clip: Path, rate: float = 1.0) -> None:
        self.ffmpeg, self.clip, self.rate = ffmpeg, clip, rate
        self.port = free_port()
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "LiveServer":
        pace = ["-re"] if self.rate == 1.0 else ["-readrate", str(self.rate)]
        self.process = subprocess.Popen(
            [self.ffmpeg, "-v", "quiet", *pace, "-stream_loop", "-1", "-i", str(self.clip), "-c", "copy", "-f", "mpegts", f"{self.url}?listen=1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture()
def live_server(ffmpeg: str, small_clip: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(rate: float = 1.0) -> LiveServer:
        server = LiveServer(ffmpeg, small_clip, rate).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.kill()


class Serve:
    """``sealshot serve`` as a child process, its JSON log lines in a file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.port = free_port()
        self.log = config.with_suffix(".log")
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sealshot.cli", "serve", "--config", str(config), "--metrics", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            cwd=config.parent,
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metrics(self) -> dict[str, dict[str, float]]:
        """``{metric name: {camera: value}}`` from /metrics (empty while it is not listening yet)."""
        try:
            _, text = self.get("/metrics")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return {}
        values: dict[str, dict[str, float]] = {}
        for line in text.splitlines():
            if line.startswith("#") or 'camera="' not in line:
                continue
            name, rest = line.split("{", 1)
            camera = rest.split('camera="', 1)[1].split('"', 1)[0]
            values.setdefault(name, {})[camera] = float(line.rsplit(" ", 1)[1])
        return values

    def health(self) -> tuple[int, dict[str, Any]]:
        code, text = self.get("/healthz")
        return code, json.loads(text)

    def wait_for(self, what: str, condition: Callable[[dict[str, dict[str, float]]], bool], timeout_s: float = 90.0) -> dict[str, dict[str, float]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
            metrics = self.metrics()
            if metrics and condition(metrics):
                return metrics
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; metrics {self.metrics()}\n{self.log.read_text()[-3000:]}")

    def terminate(self, timeout_s: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        self._log_file.close()
        return code

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@pytest.fixture()
def serve() -> Iterator[Callable[[Path], Serve]]:
    started: list[Serve] = []

    def start(config: Path) -> Serve:
        process = Serve(config)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
