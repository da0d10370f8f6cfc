from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.video import VideoSourceError, open_source
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
