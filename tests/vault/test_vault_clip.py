"""A snapshot sealed with a clip: one sealed file, opened to ``ID.png`` and ``ID.clip.mp4``; files sealed before clips still open."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from sealshot.select import EncodedFrame
from sealshot.vault import CameraSealer, VaultError
from sealshot.vault.clip import CLIP_CONTENT_TYPE
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.opener import Scope, open_in_memory, open_snapshots
from sealshot.vault.sealed import PNG_SIGNATURE, parse_sealed, unseal, unseal_with_clip
from tests.conftest import REPO_ROOT

OLD_FORMAT = REPO_ROOT / "tests" / "golden" / "sealed-v1"


def _jpeg(value: int, side: int = 48) -> bytes:
    image = np.zeros((side, side, 3), np.uint8)
    image[:, : side // 2] = value
    image[:, side // 2 :] = 255 - value
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def _clip(count: int = 12) -> list[EncodedFrame]:
    return [EncodedFrame(100 + i, 4.0 + i / 25, (10.0 + i, 20.0, 58.0 + i, 68.0), _jpeg(20 * i)) for i in range(count)]


def test_a_file_sealed_before_clips_existed_still_opens() -> None:
    # Written by the code of commit 9a3562e (before this change), with the test key beside it.
    path = OLD_FORMAT / "0123456789abcdef0123456789abcdef.seal"
    sealed = parse_sealed(path.read_bytes(), str(path))
    private = AuthorityPrivateKey.load(OLD_FORMAT / "authority.key")
    png, clip = unseal_with_clip(sealed, private, str(path))
    assert clip == () and png == unseal(sealed, private, str(path))
    expected = np.random.default_rng(2024).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), expected)


def test_without_a_clip_the_sealed_file_is_the_png_alone_as_before(tmp_path: Path, authority, make_snapshot) -> None:
    snapshot = make_snapshot("cam1", 3)
    with CameraSealer.open(tmp_path / "vault", authority.public_path, "cam1") as sealer:
        snapshot_id = sealer.seal(snapshot.crop, snapshot.metadata())
    path = tmp_path / "vault" / "snapshots" / f"{snapshot_id}.seal"
    sealed = parse_sealed(path.read_bytes(), str(path))
    assert sealed.header["content_type"] == "image/png" and "clip_frames" not in sealed.metadata
    png, clip = unseal_with_clip(sealed, authority.private, str(path))
    assert png.startswith(PNG_SIGNATURE) and clip == ()


def test_the_clip_is_sealed_in_the_same_file_and_opens_as_a_video_beside_the_png(tmp_path: Path, authority, make_snapshot) -> None:
    snapshot = make_snapshot("cam1", 1)
    frames = _clip()
    with CameraSealer.open(tmp_path / "vault", authority.public_path, "cam1") as sealer:
        snapshot_id = sealer.seal(snapshot.crop, snapshot.metadata() | {"clip_frames": len(frames)}, clip=frames)
    assert sorted(p.name for p in (tmp_path / "vault" / "snapshots").iterdir()) == [f"{snapshot_id}.seal"]
    sealed_bytes = (tmp_path / "vault" / "snapshots" / f"{snapshot_id}.seal").read_bytes()
    sealed = parse_sealed(sealed_bytes, "clip")
    assert sealed.header["content_type"] == CLIP_CONTENT_TYPE
    assert not any(frame.data[:64] in sealed_bytes for frame in frames)  # no plaintext JPEG in the vault
    assert unseal(sealed, authority.private, "clip").startswith(PNG_SIGNATURE)  # what the console reads: the crop

    out = tmp_path / "out"
    result = open_snapshots(tmp_path / "vault", authority.private, out, Scope(), "CASE-CLIP", "tester")
    assert [p.name for p in result.written] == [f"{snapshot_id}.png"] and [p.name for p in result.clips] == [f"{snapshot_id}.clip.mp4"]
    assert (out / f"{snapshot_id}.clip.mp4").stat().st_mode & 0o777 == 0o600
    entry = json.loads((out / "manifest.json").read_text())["snapshots"][0]
    assert entry["clip"] == f"{snapshot_id}.clip.mp4" and entry["clip_frames"] == len(frames)
    assert [item["frame_index"] for item in entry["clip_index"]] == [f.frame_index for f in frames]
    assert entry["clip_index"][3]["region"] == list(frames[3].region)

    with av.open(str(out / f"{snapshot_id}.clip.mp4")) as container:
        decoded = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
    assert len(decoded) == len(frames)
    assert [round(t, 3) for t, _ in decoded] == [round(f.timestamp - frames[0].timestamp, 3) for f in frames]
    for (_, image), frame in zip(decoded, frames):  # the sealed JPEGs, not re-encoded
        original = cv2.cvtColor(cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert image.shape == original.shape and np.abs(image.astype(int) - original).mean() < 2.0


def test_the_opened_snapshot_in_memory_carries_its_clip(tmp_path: Path, authority, make_snapshot) -> None:
    snapshot = make_snapshot("cam1", 2)
    frames = _clip(3)
    with CameraSealer.open(tmp_path / "vault", authority.public_path, "cam1") as sealer:
        sealer.seal(snapshot.crop, snapshot.metadata(), clip=frames)
        sealer.seal(make_snapshot("cam1", 4).crop, make_snapshot("cam1", 4).metadata())
    result = open_in_memory(tmp_path / "vault", authority.private, Scope(), "CASE", "tester")
    clips = sorted(len(image.clip) for image in result.images)
    assert clips == [0, 3]
    opened = next(image for image in result.images if image.clip)
    assert [f.data for f in opened.clip] == [f.data for f in frames] and opened.clip[1].region == frames[1].region


def test_a_clip_frame_that_is_not_a_jpeg_is_refused_before_anything_is_stored(tmp_path: Path, authority, make_snapshot) -> None:
    snapshot = make_snapshot("cam1", 1)
    frames = [EncodedFrame(1, 0.0, (0.0, 0.0, 1.0, 1.0), b"raw pixels")]
    with CameraSealer.open(tmp_path / "vault", authority.public_path, "cam1") as sealer:
        with pytest.raises(VaultError, match="not a JPEG"):
            sealer.seal(snapshot.crop, snapshot.metadata(), clip=frames)
    assert list((tmp_path / "vault" / "snapshots").iterdir()) == []
