"""The optional clip, end to end on the bundled sample: ``run --clip-seconds 2`` then ``open``.

Each sealed snapshot opens to its PNG and a clip whose frames decode and show the same region; no
plaintext frame lands anywhere but ``--out``; the clip buffers stay within their caps; and without the
option nothing changes (same tracks, same PNG bytes, no clip).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from sealshot.config import PipelineConfig
from sealshot.pipeline import CameraPipeline
from sealshot.quality import get_quality
from sealshot.vault.sealed import parse_sealed
from sealshot.video import open_source

FRAMES = 60
CLIP_SECONDS = 2.0
JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _sealshot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TMPDIR": str(cwd / "tmp")}
    (cwd / "tmp").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "sealshot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _run_and_open(work: Path, sample_clip: Path, *options: str) -> dict:
    run = _sealshot(
        "run", str(sample_clip), "--vault", "vault", "--recipient", "../keys/authority.pub", "--camera", "arcade",
        "--quality", "combined", "--max-frames", str(FRAMES), "--report", "report.json", "--no-progress", *options,
        cwd=work,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    opened = _sealshot("open", "--vault", "vault", "--key", "../keys/authority.key", "--out", "out", cwd=work)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    return json.loads((work / "out" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, sample_clip: Path) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("clip")
    assert _sealshot("keygen", "--out", "keys", cwd=root).returncode == 0
    (root / "with-clip").mkdir()
    (root / "without").mkdir()
    with_clip = _run_and_open(root / "with-clip", sample_clip, "--clip-seconds", str(CLIP_SECONDS))
    without = _run_and_open(root / "without", sample_clip)
    return root, with_clip, without


def _source_frames(sample_clip: Path, indices: set[int]) -> dict[int, np.ndarray]:
    frames = {}
    for frame in open_source(str(sample_clip)):
        if frame.index in indices:
            frames[frame.index] = frame.image
        if frame.index >= max(indices):
            return frames
    return frames


def test_each_snapshot_opens_to_its_png_and_a_clip_of_the_same_region(runs, sample_clip: Path) -> None:
    root, manifest, _ = runs
    out = root / "with-clip" / "out"
    snapshots = manifest["snapshots"]
    report = json.loads((root / "with-clip" / "report.json").read_text())["sources"][0]
    assert len(snapshots) == report["snapshots"] >= 5
    sources = _source_frames(sample_clip, {s["frame_index"] for s in snapshots})
    for snapshot in snapshots:
        crop = cv2.cvtColor(cv2.imread(str(out / snapshot["image"])), cv2.COLOR_BGR2RGB)
        with av.open(str(out / snapshot["clip"])) as container:
            decoded = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
        index = snapshot["clip_index"]
        assert len(decoded) == len(index) == snapshot["clip_frames"] >= 1
        assert len({image.shape for _, image in decoded}) == 1  # one size per track
        times = [item["timestamp"] for item in index]
        assert times == sorted(times) and times[-1] - times[0] <= CLIP_SECONDS + 1e-6
        assert all(abs(t - snapshot["timestamp"]) <= CLIP_SECONDS / 2 + 1e-6 for t in times)
        best = next(i for i, item in enumerate(index) if item["frame_index"] == snapshot["frame_index"])
        clip_image = decoded[best][1]

        # The PNG's region of the source frame (the face box with a 30 % margin), found in the clip frame
        # through the region the clip frame records, shows the same pixels.
        x0, y0, x1, y1 = snapshot["box"]
        w, h = x1 - x0, y1 - y0
        height, width = sources[snapshot["frame_index"]].shape[:2]
        left, top = max(0, int(np.floor(x0 - 0.3 * w))), max(0, int(np.floor(y0 - 0.3 * h)))
        right, bottom = min(width, int(np.ceil(x1 + 0.3 * w))), min(height, int(np.ceil(y1 + 0.3 * h)))
        np.testing.assert_array_equal(crop, sources[snapshot["frame_index"]][top:bottom, left:right])
        rx0, ry0, rx1, ry1 = index[best]["region"]
        scale = clip_image.shape[1] / (rx1 - rx0)
        cut = clip_image[
            int(round((top - ry0) * scale)) : int(round((bottom - ry0) * scale)),
            int(round((left - rx0) * scale)) : int(round((right - rx0) * scale)),
        ]
        same_size = cv2.resize(crop, (cut.shape[1], cut.shape[0]), interpolation=cv2.INTER_AREA)
        a, b = cv2.cvtColor(cut, cv2.COLOR_RGB2GRAY).astype(float), cv2.cvtColor(same_size, cv2.COLOR_RGB2GRAY).astype(float)
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9, snapshot["snapshot_id"]
        assert np.abs(a - b).mean() < 12


def test_no_plaintext_frame_is_written_anywhere_but_the_chosen_output(runs) -> None:
    root, _, _ = runs
    work = root / "with-clip"
    assert not list((work / "tmp").iterdir())
    for path in work.rglob("*"):
        if path.is_file() and (work / "out") not in path.parents:
            data = path.read_bytes()
            assert JFIF not in data and PNG not in data, path
    for sealed in (work / "vault" / "snapshots").iterdir():
        header = parse_sealed(sealed.read_bytes(), str(sealed)).header
        assert header["content_type"] == "application/vnd.sealshot.snapshot+clip" and header["metadata"]["clip_frames"] >= 1


def test_off_by_default_nothing_changes(runs) -> None:
    root, with_clip, without = runs
    assert not list((root / "without" / "out").glob("*.mp4"))
    assert all("clip" not in snapshot and "clip_frames" not in snapshot for snapshot in without["snapshots"])
    for sealed in (root / "without" / "vault" / "snapshots").iterdir():
        assert parse_sealed(sealed.read_bytes(), str(sealed)).header["content_type"] == "image/png"

    def tracks(folder: str) -> list[dict]:
        report = json.loads((root / folder / "report.json").read_text())["sources"][0]
        return [{k: v for k, v in t.items() if k != "snapshot_id"} for t in report["tracks"]]

    assert tracks("with-clip") == tracks("without")  # the clip changes nothing that is chosen
    pngs = {s["track_id"]: (root / "without" / "out" / s["image"]).read_bytes() for s in without["snapshots"]}
    assert {s["track_id"]: (root / "with-clip" / "out" / s["image"]).read_bytes() for s in with_clip["snapshots"]} == pngs


class _KeepingSink:
    def __init__(self) -> None:
        self.clips: list[int] = []

    def seal(self, crop, metadata, clip=()) -> str:
        self.clips.append(len(clip))
        return f"{len(self.clips):032x}"

    def retention_ended(self, seen_at_utc: float) -> float | None:
        return None  # keeps everything, however old

    def close(self) -> None:
        pass


def test_the_clip_buffers_never_exceed_their_caps(sample_clip: Path, detector) -> None:
    config = PipelineConfig(camera_id="arcade", clip_seconds=4.0, clip_max_frames=12, clip_max_bytes=60_000)
    sink = _KeepingSink()
    pipeline = CameraPipeline(config, get_quality("sharpness"), sink, 0.0, detector=detector)
    largest = 0
    for frame in open_source(str(sample_clip)):
        if frame.index >= FRAMES:
            break
        pipeline.process(frame)
        sizes = pipeline.clip_buffer_sizes()
        assert all(frames <= 12 and size <= 60_000 for frames, size in sizes.values()), sizes
        largest = max([largest, *(frames for frames, _ in sizes.values())])
    pipeline.finish()
    assert largest == 12  # the cap was reached, and held
    assert sink.clips and all(1 <= count <= 12 for count in sink.clips)
    assert pipeline.clip_buffer_sizes() == {}  # released once sealed


def test_a_clip_longer_than_the_limit_is_a_usage_error(tmp_path: Path, sample_clip: Path) -> None:
    result = _sealshot("run", str(sample_clip), "--vault", "vault", "--recipient", "authority.pub", "--clip-seconds", "31", cwd=tmp_path)
    assert result.returncode == 2 and "--clip-seconds" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "vault").exists()
