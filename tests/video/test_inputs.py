"""Inputs a camera host sees: a phone video with rotation metadata, a truncated file, a folder with
an unreadable image. Real files made by FFmpeg from the bundled clip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.video import VideoSourceError, open_source


@pytest.fixture(scope="module")
def clip(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames at 320x180, its index (moov) at the start, as phones and cameras write them."""
    target = tmp_path_factory.mktemp("inputs") / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(sample_clip), "-frames:v", "60", "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "veryfast",
         "-movflags", "+faststart", "-an", str(target)],
        check=True,
    )
    return target


def test_rotation_metadata_is_honoured_as_ffmpeg_does(ffmpeg: str, clip: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(clip), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated)], check=True)
    frame = next(iter(open_source(rotated))).image
    assert frame.shape == (320, 180, 3)  # upright: portrait
    upright = subprocess.run(  # FFmpeg's own autorotation, as the reference
        [ffmpeg, "-v", "error", "-i", str(rotated), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True
    ).stdout
    assert np.array_equal(np.frombuffer(upright, np.uint8).reshape(frame.shape), frame)


def test_a_file_that_ends_early_is_reported_as_truncated(clip: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    source = open_source(cut)
    assert source.frame_count == 60
    decoded = 0
    with pytest.raises(VideoSourceError, match=r"truncated: the file ends after \d+ of its 60 declared frames"):
        for _ in source:
            decoded += 1
    assert 0 < decoded < 60
    assert sum(1 for _ in open_source(clip)) == 60  # the whole file is not


def test_an_unreadable_image_is_skipped_and_reported(clip: Path, tmp_path: Path) -> None:
    frames = [frame.image for frame, _ in zip(open_source(clip), range(2))]
    for name, image in zip(("a.png", "c.png"), frames):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    source = open_source(tmp_path)
    read = [frame.index for frame in source]
    assert read == [0, 2]
    assert source.skipped == [str(tmp_path / "b.png")]  # type: ignore[attr-defined]


def test_a_damaged_stretch_in_the_middle_is_skipped_and_the_rest_still_read(clip: Path, tmp_path: Path) -> None:
    """A bad sector or a broken copy garbles some packets mid-file: FFmpeg's own tools skip them and go on.
    The frames after the damage must still be read (their people sealed), and the file reported as damaged."""
    damaged = tmp_path / "damaged.mp4"
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8000] = np.random.default_rng(0).integers(0, 256, 8000, dtype=np.uint8).tobytes()
    damaged.write_bytes(bytes(data))
    source = open_source(damaged)
    indices: list[int] = []
    timestamps: list[float] = []
    with pytest.raises(VideoSourceError, match=r"damaged\.mp4: damaged: \d+ packets? could not be decoded and (was|were) skipped"):
        for frame in source:
            indices.append(frame.index)
            timestamps.append(frame.timestamp)
    assert len(indices) >= 40  # well past the damage, which sits at about frame 30
    assert indices == sorted(set(indices)) and indices[-1] >= 55  # later frames keep (about) their place in the file
    assert timestamps == sorted(timestamps)
