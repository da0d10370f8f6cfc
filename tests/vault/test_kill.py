"""`sealshot run` as a real process on a real clip: SIGKILL at several points, SIGTERM, and a disk scan.

Each test starts the full pipeline (model loading included), so each takes tens of seconds on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from sealshot.vault import CameraSealer
from sealshot.vault.audit import parse_entry
from sealshot.vault.store import Vault
from sealshot.vault.verify import verify_vault

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CLIP = DATA / "video" / "talking-heads" / "driving_d11.mp4"  # one person, 512x512, 225 frames
LONG_CLIP = DATA / "video" / "talking-heads" / "driving_d6.mp4"  # one person, 480x480, 1008 frames: still running when signalled
needs_clip = pytest.mark.skipif(
    not (CLIP.exists() and LONG_CLIP.exists()), reason=f"shared talking-head clips not found under {CLIP.parent}"
)
pytestmark = [needs_clip, pytest.mark.slow]

IMAGE_SIGNATURES = {
    "JPEG": b"\xff\xd8\xff",
    "PNG": b"\x89PNG",
    "NumPy array": b"\x93NUMPY",
    "PPM raw frame": b"P6\n",
    "PGM raw frame": b"P5\n",
    "BMP": b"BM",
    "TIFF": b"II*\x00",
}


def _start(tmp_path: Path, sources: list[str], *extra: str) -> tuple[subprocess.Popen, Path]:
    work, temporary = tmp_path / "work", tmp_path / "tmpdir"
    work.mkdir(exist_ok=True)
    temporary.mkdir(exist_ok=True)
    env = os.environ | {"TMPDIR": str(temporary), "TEMP": str(temporary), "TMP": str(temporary), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sealshot.cli", "run", *sources, "--vault", str(tmp_path / "vault"),
               "--recipient", str(tmp_path / "keys" / "authority.pub"), "--threads", "1", "--no-progress", *extra]  # fmt: skip
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, work


def _events(vault: Path) -> list[str]:
    try:
        with Vault.open(vault) as opened:
            return [parse_entry(text).event for _, text in opened.audit_texts()]
    except Exception:  # the vault may be mid-write; the next poll sees it
        return []


def _wait_for(vault: Path, process: subprocess.Popen, event: str, count: int, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while _events(vault).count(event) < count:
        if process.poll() is not None:
            raise AssertionError(f"run exited ({process.returncode}) before {count} {event!r} entries: {process.stdout.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no {count} {event!r} entries after {timeout} s")
        time.sleep(0.1)


@pytest.fixture
def prepared(tmp_path, make_authority):
    authority = make_authority(tmp_path / "keys", 3, 2)
    # As `sealshot keys init --vault --retention-days 36500` does: CLIP's container dates it July 2024, and a vault
    # keeping 30 days would rightly seal none of it.
    Vault.create(tmp_path / "vault", authority.public, 36500, "test").close()
    return authority


@pytest.mark.parametrize("kill_point", ["while-processing-the-first-source", "just-after-the-first-seal"])
def test_sigkill_mid_run_leaves_a_vault_that_verifies(tmp_path, prepared, kill_point):
    vault = tmp_path / "vault"
    sources = [str(CLIP)] * 3  # three short "cameras"; each seals its one person when its source ends
    process, _ = _start(tmp_path, sources, "--camera", "door", "--max-frames", "4", "--min-detections", "1")
    if kill_point == "while-processing-the-first-source":
        _wait_for(vault, process, "camera-registered", 1)
        time.sleep(1.5)
    else:
        _wait_for(vault, process, "sealed", 1)
    sealed_before_kill = _events(vault).count("sealed")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)

    report = verify_vault(vault)
    assert report.ok, report.problems
    assert sealed_before_kill <= report.snapshots <= len(sources)
    unrecorded = [note for note in report.notes if "not yet recorded" in note]
    for camera in ("door-1", "door-2", "door-3"):  # restarting the cameras adopts what the kill left
        if (vault / "cameras" / f"{camera}.key").exists():
            CameraSealer.open(vault, prepared.public_path, camera).close()
    after = verify_vault(vault)
    assert after.ok and after.notes == [] and after.snapshots == report.snapshots + len(unrecorded)


def _frame_rows(count: int, clip: Path = CLIP) -> list[bytes]:
    """Middle rows of the first frames, RGB and BGR: what a raw frame dump would contain."""
    rows = []
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            image = frame.to_ndarray(format="rgb24")
            middle = np.ascontiguousarray(image[image.shape[0] // 2, 128:192])
            rows += [middle.tobytes(), np.ascontiguousarray(middle[:, ::-1]).tobytes()]
            if index + 1 >= count:
                return rows
    return rows


def test_sigterm_seals_every_open_track_and_no_image_touches_the_disk(tmp_path, prepared):
    vault, report_path = tmp_path / "vault", tmp_path / "report.json"
    process, work = _start(tmp_path, [str(LONG_CLIP)], "--camera", "lobby", "--min-detections", "1", "--report", str(report_path))
    _wait_for(vault, process, "camera-registered", 1)
    time.sleep(5.0)  # let it detect and track the person for a while, well before the clip's end
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=240)[0].decode()
    assert process.returncode == 128 + signal.SIGTERM, output[-2000:]

    run = json.loads(report_path.read_text())["sources"][0]
    assert run["interrupted"] and 1 <= run["frames"] < 1008
    assert len(run["tracks"]) >= 1 and all(track["snapshot_id"] for track in run["tracks"])  # nobody seen is lost
    report = verify_vault(vault)
    assert report.ok and report.notes == [] and report.snapshots == len(run["tracks"])

    raw_rows = _frame_rows(3, LONG_CLIP)
    scanned = 0
    for folder in (vault, tmp_path / "tmpdir", work):
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            scanned += 1
            for kind, signature in IMAGE_SIGNATURES.items():
                assert not data.startswith(signature), f"{path} starts with a {kind} signature"
            assert not any(row in data for row in raw_rows), f"{path} holds raw frame pixels"
    assert scanned >= 4  # vault.json, index, operator key, camera key, sealed file(s)


def test_run_refuses_a_second_camera_key_and_never_recreates_an_incomplete_vault(tmp_path, prepared):
    """Issue 11, cases 1 and 2 through the real `sealshot run`: refused loudly, nothing rewritten."""
    import shutil

    vault = tmp_path / "vault"
    first, _ = _start(tmp_path, [str(CLIP)], "--camera", "door", "--max-frames", "4", "--min-detections", "1")
    output = first.communicate(timeout=300)[0].decode()
    assert first.returncode == 0, output[-2000:]
    second, _ = _start(tmp_path, [str(CLIP)], "--camera", "door", "--camera-key", str(tmp_path / "new.key"), "--max-frames", "4")
    output = second.communicate(timeout=300)[0].decode()
    assert second.returncode != 0 and "with another key" in " ".join(output.split()) and "Traceback" not in output
    assert verify_vault(vault).ok

    copy = tmp_path / "copy"
    shutil.copytree(vault, copy)
    (copy / "vault.json").unlink()
    index, operator = (copy / "index.sqlite").read_bytes(), (copy / "operator.key").read_bytes()
    shutil.rmtree(vault)
    copy.rename(vault)
    third, _ = _start(tmp_path, [str(CLIP)], "--camera", "door", "--max-frames", "4")
    output = third.communicate(timeout=300)[0].decode()
    assert third.returncode != 0 and "is incomplete" in " ".join(output.split()) and "Traceback" not in output
    assert (vault / "index.sqlite").read_bytes() == index and (vault / "operator.key").read_bytes() == operator
    assert not verify_vault(vault).ok
