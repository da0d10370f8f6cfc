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
def sample_clip() -> Path:
    from sealshot.video.samples import sample_clip

    return sample_clip()


@pytest.fixture(scope="session")
def detector():
    from sealshot.detect import MTCNNDetector

    return MTCNNDetector()
