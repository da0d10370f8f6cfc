"""``cameras.toml``: mistakes are named with their file, line and key, before any camera starts."""

from __future__ import annotations

import errno
import io
import subprocess
import sys
from pathlib import Path

import pytest

from sealshot.errors import InputError
from sealshot.quality import DEFAULT_METHOD
from sealshot.serve.config import load_config

GOOD = """metrics = "127.0.0.1:9200"
vault = "vault"
recipient = "keys/authority.pub"
threads = 2

[[camera]]
id = "lobby"
source = "rtsp://10.0.0.5/stream1"

[[camera]]
source = "clips/a-very-long-name-from-a-phone-that-goes-on-and-on-and-on-and-on-and-on-and-on.mp4"
vault = "/srv/other"
detect_every = 3
"""


def test_a_good_file_gives_each_camera_the_shared_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cameras.toml"
    path.write_text(GOOD)
    config = load_config(path)
    lobby, phone = config.cameras
    assert config.metrics == ("127.0.0.1", 9200)
    assert lobby.camera_id == "lobby" and lobby.is_live and lobby.threads == 2 and lobby.vault == str(tmp_path / "vault")
    assert phone.vault == "/srv/other" and phone.detect_every == 3 and not phone.is_live
    assert len(phone.camera_id) <= 64 and phone.camera_id.startswith("a-very-long-name")
    assert phone.source == str(tmp_path / "clips" / Path(phone.source).name)
    assert load_config(path, metrics="off").metrics is None
    assert lobby.clip_seconds == 0 and lobby.pipeline().clip_seconds == 0  # no clip unless asked for
    path.write_text(GOOD.replace("threads = 2", "clip_seconds = 2"))
    assert [camera.pipeline().clip_seconds for camera in load_config(path).cameras] == [2, 2]
    assert lobby.pipeline().face_detector == "mtcnn"
    path.write_text(GOOD.replace("detect_every = 3", 'detector = "yunet"'))
    yunet = load_config(path).cameras[1].pipeline()
    assert (yunet.face_detector, yunet.detect_every, yunet.tracker.min_peak_score) == ("yunet", 1, 0.7)
    assert not yunet.yunet.mtcnn_points
    path.write_text(GOOD.replace("detect_every = 3", 'detector = "yunet"\nmtcnn_points = true'))
    assert load_config(path).cameras[1].pipeline().yunet.mtcnn_points


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("detect_every = 3", "detect_evry = 3"), r"cameras.toml:13: \[\[camera\]\] #2: unknown key 'detect_evry' \(did you mean 'detect_every'\?\)"),
        (lambda t: t.replace('vault = "vault"\n', ""), r"cameras.toml:5: \[\[camera\]\] #1: missing key 'vault'"),
        (lambda t: t.replace("threads = 2", 'threads = "two"'), r"cameras.toml:4: threads must be an integer, not 'two'"),
        (lambda t: t.replace('id = "lobby"', 'id = "lobby cam!"'), r"cameras.toml:7: \[\[camera\]\] #1: id 'lobby cam!'"),
        (lambda t: t.replace('metrics = "127.0.0.1:9200"', 'metrics = "localhost"'), r"cameras.toml:1: metrics: 'localhost' is not HOST:PORT"),
        (lambda t: t + '\n[[camera]]\nid = "lobby"\nsource = "tcp://127.0.0.1:1"\n', r"cameras.toml:16: \[\[camera\]\] #3: camera id 'lobby' is used twice"),
        (lambda t: t.replace("[[camera]]\nid", "[[camera]\nid", 1), r"not valid TOML"),
        (lambda t: t.replace("detect_every = 3", "clip_seconds = -1"), r"cameras.toml:13: \[\[camera\]\] #2: clip_seconds must be from 0 \(no clip\) to 30"),
        (lambda t: t.replace("threads = 2", "clip_seconds = 45.5"), r"cameras.toml:4: clip_seconds must be from 0 \(no clip\) to 30, not 45.5"),
        (lambda t: t.replace("threads = 2", 'clip_seconds = "2"'), r"cameras.toml:4: clip_seconds must be a number"),
        (lambda t: t.replace("detect_every = 3", "min_face = 0"), r"cameras.toml:13: \[\[camera\]\] #2: min_face must be more than 0, not 0"),
        (lambda t: t.replace("threads = 2", "max_unseen = -1.5"), r"cameras.toml:4: max_unseen must be more than 0, not -1.5"),
        (lambda t: t.replace("threads = 2", "min_detections = 0"), r"cameras.toml:4: min_detections must be at least 1, not 0"),
        (lambda t: t.replace("threads = 2", "min_peak_score = 95"), r"cameras.toml:4: min_peak_score must be from 0 to 1, not 95"),
        (lambda t: t.replace("threads = 2", "thresholds = [0.6, 0.7, 70]"), r"cameras.toml:4: thresholds must be three numbers from 0 to 1"),
        (lambda t: t.replace("threads = 2", "read_timeout_s = 0"), r"cameras.toml:4: read_timeout_s must be more than 0, not 0"),
        (lambda t: t.replace("detect_every = 3", 'detector = "retina"'), r"cameras.toml:13: \[\[camera\]\] #2: detector must be one of mtcnn, yunet, not 'retina'"),
        (lambda t: t.replace("detect_every = 3", 'mtcnn_points = "yes"'), r"cameras.toml:13: \[\[camera\]\] #2: mtcnn_points must be true or false, not 'yes'"),
    ],
)
def test_mistakes_name_the_line_and_key(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cameras.toml"
    path.write_text(edit(GOOD))
    with pytest.raises(InputError, match=message):
        load_config(path)


def test_serve_refuses_a_typo_with_exit_2_before_starting_anything(tmp_path: Path) -> None:
    path = tmp_path / "cameras.toml"
    path.write_text(GOOD.replace("threads = 2", "thread = 2"))
    done = subprocess.run([sys.executable, "-m", "sealshot.cli", "serve", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cameras.toml:4: unknown key 'thread' (did you mean 'threads'?)" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_quality_method_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cameras.toml"
    path.write_text(GOOD.replace("detect_every = 3", 'quality = "vea"'))
    with pytest.raises(InputError, match=r"cameras.toml:13: \[\[camera\]\] #2: unknown quality method 'vea'; available: .*vae"):
        load_config(path, quality_methods=["vae", "vae-ratio", "sharpness", DEFAULT_METHOD])
    with pytest.raises(InputError, match=rf"cameras.toml:6: \[\[camera\]\] #1: unknown quality method '{DEFAULT_METHOD}'"):
        load_config(path, quality_methods=["sharpness"])  # the default, where the camera does not set one


def test_a_report_dir_that_is_a_file_is_named_before_any_camera_starts(tmp_path: Path) -> None:
    """It used to crash each camera with a bare FileExistsError (exit 5), and a live camera over and over."""
    (tmp_path / "reports.txt").write_text("not a folder")
    path = tmp_path / "cameras.toml"
    path.write_text(GOOD.replace("threads = 2", 'report_dir = "reports.txt"'))
    with pytest.raises(InputError, match=r"cameras.toml:4: \[\[camera\]\] #1: report_dir .*reports.txt is a file, not a folder"):
        load_config(path)


def test_a_track_report_that_cannot_be_written_never_stops_the_camera(tmp_path: Path) -> None:
    from sealshot.ledger import TrackSummary
    from sealshot.serve.camera import TrackReport

    path = tmp_path / "cameras.toml"
    path.write_text(GOOD)
    lobby = load_config(path).cameras[0]
    (tmp_path / "reports").write_text("a file where the folder should be")
    with pytest.raises(InputError, match=r"report_dir .*reports: cannot write lobby.jsonl"):
        TrackReport(lobby, 0.0)
    (tmp_path / "reports").unlink()
    report = TrackReport(lobby, 0.0)

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    report._file.close()
    report._file = FullDisk()  # type: ignore[assignment]
    report.write(TrackSummary(track_id=1, first_seen=0.0, last_seen=1.0, detections=3))  # logged, not raised
