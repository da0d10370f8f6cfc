"""Shared fixtures: the project's shared data (beside the repository root) and the bundled clip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

# One intra-op thread: the models are small, and on a shared 2-core machine OpenMP's
# oversubscription costs far more than a second thread gains.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is absent (expected ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    return shared_path("lfw")


@pytest.fixture(scope="session")
def talking_heads_dir() -> Path:
    return shared_path("video", "talking-heads")


@pytest.fixture(scope="session")
def arcade_clip() -> Path:
    return shared_path("video", "arcade-walkers-1080p.mp4")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """The ffmpeg program, which tests use to make clips and to serve them as live streams on loopback."""
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.skip("ffmpeg is not installed (make system-deps installs it): these tests make clips and serve live streams with it")
    return found


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the bundled clip. It has no creation time, so its modification time dates it: the checkout's
    could be older than the vault's retention (30 days), and then `run` would rightly keep none of its people."""
    from sealshot.video.samples import sample_clip

    return Path(shutil.copy(sample_clip(), tmp_path_factory.mktemp("sample")))


@pytest.fixture(scope="session")
def detector():
    from sealshot.detect import MTCNNDetector

    return MTCNNDetector()


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL cluster on loopback for the session (skips, saying why, where it cannot start)."""
    from tests.servers import PostgresServer, ServerUnavailable

    try:
        server = PostgresServer().start()
    except ServerUnavailable as error:
        pytest.skip(f"PostgreSQL cannot be started here: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback for the session (skips, saying why, where it cannot start)."""
    from tests.servers import S3Server, ServerUnavailable

    try:
        server = S3Server().start()
    except ServerUnavailable as error:
        pytest.skip(f"an S3 server cannot be started here: {error}")
    yield server
    server.stop()


@pytest.fixture
def s3_environment(s3_server, monkeypatch):
    """boto3's variables pointing at the loopback S3 server (as a user's environment would point at theirs)."""
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return s3_server.environment()


@pytest.fixture
def remote_vault(postgres_server, s3_server, s3_environment, tmp_path) -> str:
    """The URL of a new, empty PostgreSQL + S3 vault location (a fresh database and bucket)."""
    database = postgres_server.create_database()
    bucket = s3_server.create_bucket()
    return f"{database}?objects=s3://{bucket}/vault&keys={tmp_path / 'vault-keys'}"


# --- Ray (sealshot batch): a local cluster for the session -------------------------------------------------------
@pytest.fixture(scope="session")
def ray_cluster(s3_server):
    """A real local Ray cluster for the session: a head (no CPUs) and one worker node (1 CPU) as separate
    processes on loopback (``tests/ray_cluster.py``); skips, saying why, where Ray cannot start. Its
    processes get the loopback S3 server's variables, as a real cluster's nodes have their credentials."""
    from tests.ray_cluster import RayCluster, RayUnavailable

    try:
        cluster = RayCluster(workers=1, cpus_per_worker=1, environment=s3_server.environment()).start()
    except RayUnavailable as error:
        pytest.skip(f"a Ray cluster cannot be started here: {error}")
    yield cluster
    cluster.stop()
