from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from sealshot.video import VideoSourceError, open_source, parse_utc
from sealshot.video.writer import VideoWriter


def test_video_file_frames_carry_index_and_timestamp(sample_clip: Path) -> None:
    source = open_source(sample_clip)
    assert source.fps == pytest.approx(25.0)
    frames = list(source)
    assert len(frames) == 105
    assert [f.index for f in frames[:3]] == [0, 1, 2]
    assert frames[1].timestamp - frames[0].timestamp == pytest.approx(0.04, abs=1e-6)
    assert frames[0].image.shape == (1080, 1920, 3) and frames[0].image.dtype == np.uint8


def test_image_folder(tmp_path: Path) -> None:
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"{k:03d}.png"), np.full((20, 30, 3), k * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    frames = list(open_source(tmp_path))
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[2].image[0, 0, 0] == 100


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (os.urandom(4096), "cannot open"),
    ],
)
def test_broken_files_name_themselves(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoSourceError, match=message) as error:
        list(open_source(path))
    assert str(path) in str(error.value)


def test_truncated_file_is_an_error_naming_it(tmp_path: Path, sample_clip: Path) -> None:
    path = tmp_path / "truncated.mp4"
    path.write_bytes(sample_clip.read_bytes()[:30_000])
    with pytest.raises(VideoSourceError) as error:
        list(open_source(path))
    assert str(path) in str(error.value)


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="no such file"):
        open_source(tmp_path / "nope.mp4")
    with pytest.raises(VideoSourceError, match="no images"):
        open_source(tmp_path)


def test_written_video_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 10.0, 64, 48) as writer:
        for k in range(12):
            writer.write(np.full((48, 64, 3), k * 20, np.uint8))
    frames = list(open_source(path))
    assert len(frames) == 12 and frames[0].image.shape == (48, 64, 3)


def _write_clip(path: Path, frames: int = 20, fps: int = 10, creation_time: str | None = None) -> Path:
    """A real H.264 MP4 (PyAV/FFmpeg), with the container's creation_time when given, as cameras write it."""
    with av.open(str(path), "w") as container:
        if creation_time:
            container.metadata["creation_time"] = creation_time
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), k * 10, np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_a_files_start_is_the_containers_creation_time(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "cam.mp4", creation_time="2025-01-02T03:04:05.000000Z")
    source = open_source(clip)
    assert source.started_at_source == "container" and source.rereadable
    assert source.started_at_utc == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()


def test_a_creation_time_in_the_future_is_not_believed(tmp_path: Path) -> None:
    """A camera with a wrong clock: its snapshots would be "seen" in years to come and outlive the vault's retention."""
    clip = _write_clip(tmp_path / "cam.mp4", frames=20, fps=10, creation_time="2039-01-02T03:04:05.000000Z")  # MP4 holds years up to 2040
    os.utime(clip, (1_700_000_000, 1_700_000_000))
    source = open_source(clip)
    assert source.started_at_source == "mtime-minus-duration"
    assert source.started_at_utc == pytest.approx(1_700_000_000 - 2.0, abs=0.2)


def test_without_creation_time_the_modification_time_is_taken_as_the_end_of_the_recording(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "cam.mp4", frames=20, fps=10)  # 2 s
    os.utime(clip, (1_800_000_000, 1_800_000_000))
    source = open_source(clip)
    assert source.started_at_source == "mtime-minus-duration"
    assert source.started_at_utc == pytest.approx(1_800_000_000 - 2.0, abs=0.05)


def test_an_image_folder_can_be_read_again_and_ends_at_its_modification_time(tmp_path: Path) -> None:
    for k in range(4):
        cv2.imwrite(str(tmp_path / f"{k:03d}.png"), np.zeros((8, 8, 3), np.uint8))
    os.utime(tmp_path, (1_800_000_000, 1_800_000_000))
    source = open_source(tmp_path)
    assert source.rereadable and source.started_at_source == "mtime-minus-duration"
    assert source.started_at_utc == pytest.approx(1_800_000_000 - 4.0)


@pytest.mark.parametrize("text, expected", [("2024-07-06T15:34:56Z", 1720280096.0), ("2024-07-06T17:34:56+02:00", 1720280096.0), ("2024-07-06T15:34:56", 1720280096.0)])
def test_parse_utc(text: str, expected: float) -> None:
    assert parse_utc(text) == expected


def test_the_written_video_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "preview.mp4"
    path.write_bytes(b"old")
    path.chmod(0o644)
    with VideoWriter(path, 10.0, 64, 48) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
