"""A file read from a given frame: reached by seeking, yet frame for frame what a decode from frame 0 gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sealshot.video.sources import PyAVSource, VideoSourceError
from tests.batch.conftest import cut_clip


def _frames(source: PyAVSource) -> list[tuple[int, float, str]]:
    return [(f.index, f.timestamp, hashlib.sha256(f.image.tobytes()).hexdigest()) for f in source]


@pytest.fixture(scope="module")
def clips(ffmpeg: str, sample_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ranges")
    # MPEG-TS has no index: seeking there is imprecise, and the source must still be exact.
    return {
        "mp4": cut_clip(ffmpeg, sample_clip, folder / "a.mp4"),
        "ts": cut_clip(ffmpeg, sample_clip, folder / "a.ts", fmt="mpegts"),
        # A variable frame rate: one frame in 12 of the first 60, then every frame (50 frames).
        "vfr": cut_clip(ffmpeg, sample_clip, folder / "vfr.mp4", keep_frames=r"gte(n\,60)+not(mod(n\,12))"),
    }


@pytest.mark.parametrize("kind", ["mp4", "ts"])
def test_a_range_is_the_same_frames_with_the_same_indices_and_times(clips: dict[str, Path], kind: str) -> None:
    whole = _frames(PyAVSource(str(clips[kind])))
    assert len(whole) == 105
    for start, end in [(37, 61), (50, None), (1, 5), (100, None), (0, 20)]:
        assert _frames(PyAVSource(str(clips[kind]), start_frame=start, end_frame=end)) == whole[start:end], (start, end)


def test_a_range_of_a_variable_frame_rate_file_is_numbered_as_a_decode_from_frame_0(clips: dict[str, Path]) -> None:
    """Its frames were numbered time × average rate when reached by seeking: 0.48 s apart at first, 0.04 s later,
    they got numbers that are not theirs, and a part to the end 'ended after 42 of its 50 declared frames'."""
    whole = _frames(PyAVSource(str(clips["vfr"])))
    assert len(whole) == 50 and [index for index, _, _ in whole] == list(range(50))
    for start, end in [(12, 30), (25, None), (3, 8), (44, None), (0, 20), (6, None)]:
        assert _frames(PyAVSource(str(clips["vfr"]), start_frame=start, end_frame=end)) == whole[start:end], (start, end)


def test_a_range_keeps_the_files_start_time_or_the_one_given(clips: dict[str, Path]) -> None:
    whole = PyAVSource(str(clips["mp4"]))
    part = PyAVSource(str(clips["mp4"]), start_frame=40)
    assert (part.started_at_utc, part.started_at_source) == (whole.started_at_utc, whole.started_at_source) and whole.started_at_source == "container"
    assert PyAVSource(str(clips["mp4"]), started_at=(1.5e9, "option")).started_at_utc == 1.5e9
    whole.close()


def test_a_bad_range_is_refused(clips: dict[str, Path]) -> None:
    with pytest.raises(VideoSourceError, match="range"):
        PyAVSource(str(clips["mp4"]), start_frame=10, end_frame=10)
    with pytest.raises(VideoSourceError, match="no frame"):
        list(PyAVSource(str(clips["mp4"]), start_frame=200))
