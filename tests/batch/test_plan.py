"""Planning an archive: inputs and globs, the identity of a file, and how files are cut into chunks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sealshot.batch.config import BatchConfig
from sealshot.batch.plan import chunk_ranges, expand_inputs, plan_archive, source_identity
from sealshot.errors import InputError
from sealshot.video.sources import PyAVSource
from tests.batch.conftest import SMALL_CHUNKS


def test_files_and_globs_expand_to_absolute_paths_each_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "day1").mkdir()
    for name in ("day1/b.mp4", "day1/a.mp4", "c.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    found = expand_inputs(["**/*.mp4", "c.mp4", str(tmp_path / "day1" / "a.mp4")])
    assert found == [str(tmp_path / p) for p in ("c.mp4", "day1/a.mp4", "day1/b.mp4")]


@pytest.mark.parametrize(
    "pattern, message",
    [("nothing-*.mp4", "matches no file"), ("missing.mp4", "no such file"), ("folder", "is a folder")],
)
def test_a_bad_input_is_an_input_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message) as raised:
        expand_inputs([pattern])
    assert pattern in str(raised.value) and raised.value.exit_code == 2
    with pytest.raises(InputError):
        expand_inputs([])


@pytest.mark.parametrize("config", [BatchConfig(chunk_seconds=0), BatchConfig(overlap_seconds=-1), BatchConfig(chunk_seconds=5, overlap_seconds=6)])
def test_bad_chunk_settings_stop_before_any_file_is_read(config: BatchConfig) -> None:
    with pytest.raises(InputError):
        plan_archive(["does-not-matter.mp4"], config)


def test_identity_follows_the_content_not_the_path(tmp_path: Path) -> None:
    first = tmp_path / "a.mp4"
    first.write_bytes(os.urandom(3 << 20))
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.copy(first, moved)
    assert source_identity(str(first)) == source_identity(str(moved))
    changed = bytearray(first.read_bytes())
    changed[-1] ^= 1  # the end of a file (an MP4's index) tells two recordings of one length apart
    first.write_bytes(bytes(changed))
    assert source_identity(str(first)) != source_identity(str(moved))


@pytest.mark.parametrize("frames, fps, align", [(105, 25.0, 10), (7500, 25.0, 10), (1000, 29.97, 1), (30, 25.0, 10)])
def test_chunks_own_every_frame_once_and_read_the_overlap_around_it(frames: int, fps: float, align: int) -> None:
    config = BatchConfig(chunk_seconds=60, overlap_seconds=10) if frames > 1000 else SMALL_CHUNKS
    ranges = chunk_ranges([index / fps for index in range(frames)], fps, config, align)
    overlap = round(config.overlap_seconds * fps)
    owned = [(start, frames if end is None else end) for start, end, _, _ in ranges]
    assert owned[0][0] == 0 and owned[-1][1] == frames and ranges[-1][1] is None
    assert all(a_end == b_start for (_, a_end), (b_start, _) in zip(owned, owned[1:]))  # contiguous, no gap, no overlap
    assert all(end - start <= round(config.chunk_seconds * fps) for start, end in owned)
    for index, (start, end, read_start, read_end) in enumerate(ranges):
        assert read_start == 0 if index == 0 else (start - overlap - align < read_start <= start - overlap and read_start % align == 0)
        assert read_end is None if end is None or end + overlap >= frames else read_end == end + overlap


def test_a_clip_is_planned_from_its_metadata(clip_540p: Path) -> None:
    plan = plan_archive([str(clip_540p)], SMALL_CHUNKS, align=10)
    (file,) = plan.files
    assert (file.fps, file.frames, file.camera_id, file.started_at_source) == (25.0, 105, "arcade-540p", "container")
    assert [(c.start_frame, c.end_frame, c.read_start, c.read_end) for c in file.chunks] == [(0, 35, 0, 55), (35, 70, 10, 90), (70, None, 50, None)]
    assert plan_archive([str(clip_540p)], BatchConfig(), align=10).chunks[0].read_end is None  # shorter than a chunk: one, whole


def test_a_variable_frame_rate_file_is_cut_in_seconds_into_frames_it_has(vfr_clip: Path) -> None:
    """Chunks were cut in frame numbers of time × average rate: the file's 50 frames were planned as 50 numbers
    evenly spread over 4.2 s, so that a chunk held a second of the idle start or a fraction of the busy end."""
    source = PyAVSource(str(vfr_clip))
    times = source.frame_times()
    source.close()
    assert len(times) == 50 and times[1] == pytest.approx(0.48) and times[-1] - times[-2] == pytest.approx(0.04)
    (file,) = plan_archive([str(vfr_clip)], SMALL_CHUNKS, align=10).files
    assert file.frames == 50 and len(file.chunks) >= 3
    owned = [(chunk.start_frame, chunk.end_frame or 50) for chunk in file.chunks]
    assert owned[0][0] == 0 and all(a_end == b_start for (_, a_end), (b_start, _) in zip(owned, owned[1:]))
    for chunk, (start, end) in zip(file.chunks, owned):
        assert times[end - 1] - times[start] <= SMALL_CHUNKS.chunk_seconds
        assert chunk.read_start == 0 or times[chunk.read_start] <= times[start] - SMALL_CHUNKS.overlap_seconds
        assert chunk.read_end is None or times[chunk.read_end] >= times[end] + SMALL_CHUNKS.overlap_seconds - 1e-6


def test_an_unreadable_file_is_planned_with_its_error_and_the_others_go_on(clip_540p: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    plan = plan_archive([str(broken), str(clip_540p)], SMALL_CHUNKS, camera="lobby")
    assert plan.files[0].error and "broken.mp4" in plan.files[0].error and not plan.files[0].chunks
    assert [f.camera_id for f in plan.files] == ["lobby-1", "lobby-2"] and len(plan.files[1].chunks) == 3
