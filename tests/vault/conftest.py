"""Fixtures of the vault tests: real keys, real vault folders, synthetic snapshots (no data needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import typer
from typer.testing import CliRunner, Result

from sealshot.select.snapshot import Snapshot
from sealshot.vault import CameraSealer
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.shares import split_key, write_shares

BASE_TIME = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def seal(sealer: CameraSealer, snapshot: Snapshot) -> str:
    """Seal a test snapshot the way the pipeline does: its crop and its pixel-free metadata."""
    return sealer.seal(snapshot.crop, snapshot.metadata())


def _make_snapshot(camera: str = "cam1", track: int = 0, seen_at: float = BASE_TIME, method: str = "sharpness") -> Snapshot:
    """A deterministic, recognisable crop (so a round trip can be checked pixel for pixel)."""
    rng = np.random.default_rng(track)
    height, width = 48 + track % 7, 40 + track % 5
    crop = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Snapshot(
        camera_id=camera, track_id=track, crop=crop, quality=0.25 + track / 100, quality_method=method,
        frame_index=10 * track, timestamp=0.0, first_seen=-1.0, last_seen=1.0,
        box=(1.0, 2.0, 41.0, 50.0), detections=5, started_at_utc=seen_at,
    )  # fmt: skip


class Authority:
    """An authority key split k-of-n, its share files and public key on disk."""

    def __init__(self, folder: Path, holders: int, threshold: int, passphrases: list[str | None] | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.private = AuthorityPrivateKey.generate()
        self.public, files = split_key(self.private, holders, threshold, passphrases)
        self.shares = write_shares(folder, files)
        self.public_path = folder / "authority.pub"
        self.public.save(self.public_path)


@pytest.fixture
def make_snapshot() -> Callable[..., Snapshot]:
    return _make_snapshot


@pytest.fixture
def base_time() -> float:
    return BASE_TIME


@pytest.fixture
def make_authority() -> Callable[..., Authority]:
    return Authority


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "keys", holders=5, threshold=3)


@pytest.fixture
def sealed_vault(tmp_path: Path, authority: Authority) -> tuple[Path, list[str]]:
    """A vault with four snapshots: three from cam1 an hour apart, one from cam2."""
    vault = tmp_path / "vault"
    ids = []
    with CameraSealer.open(vault, authority.public_path, "cam1", retention_days=7) as sealer:
        for track in range(3):
            ids.append(seal(sealer, _make_snapshot("cam1", track, BASE_TIME + 3600 * track)))
    with CameraSealer.open(vault, authority.public_path, "cam2") as sealer:
        ids.append(seal(sealer, _make_snapshot("cam2", 7, BASE_TIME + 1800)))
    return vault, ids


def cli_app() -> typer.Typer:
    """The `sealshot` app itself, so errors reach the one place that maps them to exit codes."""
    from sealshot.cli import app

    return app


@dataclass
class CliOutcome:
    exit_code: int
    text: str  # stdout and stderr, whitespace collapsed (rich wraps long lines)
    exception: BaseException | None


@pytest.fixture
def cli() -> Callable[..., CliOutcome]:
    app, runner = cli_app(), CliRunner()

    def invoke(*args: str | Path) -> CliOutcome:
        result: Result = runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback is a bug: every user-facing failure must be a VaultError
        return CliOutcome(result.exit_code, " ".join(result.output.split()), result.exception)

    return invoke
