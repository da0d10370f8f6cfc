"""Clips for the batch tests, cut from the bundled sample with ffmpeg: 960x540 (quick to process), a keyframe
every 10 frames (so that a chunk really seeks), and a container creation time (so that every run times them alike)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sealshot.batch.config import BatchConfig
from sealshot.config import PipelineConfig
from sealshot.vault.keys import AuthorityPrivateKey

PIPELINE = PipelineConfig()
"""The command's defaults."""
QUALITY = "vae-ratio"


RECORDED_ON = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
"""The clips' recording day, yesterday: the vault's retention (30 days unless set) keeps the people they show."""


def cut_clip(
    ffmpeg: str,
    sample: Path,
    out: Path,
    start_s: float = 0.0,
    creation_time: str = f"{RECORDED_ON}T10:00:00Z",
    fmt: str | None = None,
    keep_frames: str | None = None,
) -> Path:
    """``keep_frames``: an FFmpeg ``select`` expression of the frames to keep, each at its own time (a variable frame rate)."""
    scale = "scale=960:-2" if keep_frames is None else f"select='{keep_frames}',scale=960:-2"
    command = [ffmpeg, "-v", "error", "-y", "-ss", f"{start_s}", "-i", str(sample), "-an", "-vf", scale, "-g", "10"]
    command += [] if keep_frames is None else ["-fps_mode", "vfr"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-metadata", f"creation_time={creation_time}"]
    command += (["-f", fmt] if fmt else []) + [str(out)]
    subprocess.run(command, check=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def clip_540p(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole sample (105 frames, 4.2 s, 25 fps; 8 people sealed by `run`), 960x540."""
    return cut_clip(ffmpeg, sample_clip, tmp_path_factory.mktemp("clips") / "arcade-540p.mp4")


@pytest.fixture(scope="session")
def vfr_clip(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample at a variable frame rate, as a camera that idles at about 2 fps and records at 25 once there is
    motion: one frame in 12 of its first 60, then every frame; 50 frames over 4.2 s, an average of 9.8 fps."""
    return cut_clip(ffmpeg, sample_clip, tmp_path_factory.mktemp("clips") / "arcade-vfr.mp4", keep_frames=r"gte(n\,60)+not(mod(n\,12))")


@pytest.fixture(scope="session")
def archive(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three short, different files: the sample from 0 s, from 1 s and from 2 s."""
    folder = tmp_path_factory.mktemp("archive")
    return [
        cut_clip(ffmpeg, sample_clip, folder / f"cam{index}.mp4", start_s=float(index), creation_time=f"{RECORDED_ON}T1{index}:00:00Z")
        for index in range(3)
    ]


@pytest.fixture(scope="session")
def recipient(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "authority.pub"
    AuthorityPrivateKey.generate().public().save(path)
    return path


SMALL_CHUNKS = BatchConfig(chunk_seconds=1.4, overlap_seconds=0.8)
"""The 4.2 s clip in three chunks of 35 frames, each reading 20 frames beyond its edges."""
