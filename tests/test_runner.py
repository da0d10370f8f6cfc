"""``sealshot.runner.run_sources`` as a library: camera ids, start times, and a vault that fails mid-run.

Real clips, the real detector and a real vault; the vault is broken for real (its snapshot folder
replaced by a file) rather than mocked.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import av
import pytest

from sealshot.config import PipelineConfig, RunConfig
from sealshot.detect import MTCNNConfig, MTCNNDetector
from sealshot.errors import InputError, SourceError, VaultError
from sealshot.quality import get_quality
from sealshot.runner import StopRequest, camera_id_for, run_sources, vault_sinks
from sealshot.track import TrackerConfig
from sealshot.vault import CameraSealer, load_recipient
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.sealed import parse_sealed
from sealshot.vault.store import Vault
from sealshot.video import open_source, parse_utc

CAMERA_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# One person filling a 512x512 clip: detection at 640 px and 20 frames keep this quick.
QUICK = RunConfig(
    pipeline=PipelineConfig(detector=MTCNNConfig(min_face_size=40, detect_max_side=640), tracker=TrackerConfig(min_detections=1)),
    max_frames=20,
    show_progress=False,
)


@pytest.fixture(scope="module")
def recipient(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "authority.pub"
    AuthorityPrivateKey.generate().public().save(path)
    return path


@pytest.fixture(scope="module")
def quick_detector() -> MTCNNDetector:
    return MTCNNDetector(QUICK.pipeline.detector)


@pytest.fixture(scope="module")
def one_person_clip(talking_heads_dir: Path) -> Path:
    return talking_heads_dir / "driving_d11.mp4"  # its container says creation_time 2024-07-06T15:34:56Z


@pytest.fixture()
def vault_keeping_the_clip(tmp_path: Path, recipient: Path) -> Path:
    """A vault that keeps snapshots 100 years: the default 30 days ended long ago for people seen in July 2024."""
    path = tmp_path / "vault"
    with Vault.create(path, load_recipient(recipient), retention_days=36500, actor="tester"):
        pass
    return path


def test_any_source_name_gives_a_camera_id_the_vault_accepts(tmp_path: Path, recipient: Path) -> None:
    long_a, long_b = "/videos/" + "entrance " * 12 + "a.mp4", "/videos/" + "entrance " * 12 + "b.mp4"
    derived = {
        "/videos/lobby cam #2.mp4": "lobby-cam-2",
        "0": "webcam0",
        "rtsp://10.0.0.5:554/stream1": "stream1",
        "/videos/ü.mp4": "-",
        "/videos/.mp4": ".mp4",
    }
    for source, expected in derived.items():
        assert camera_id_for(source) == expected
    shortened = camera_id_for(long_a), camera_id_for(long_b)
    assert all(len(c) == 64 and c.startswith("entrance-entrance-") for c in shortened) and shortened[0] != shortened[1]
    assert camera_id_for(long_a) == shortened[0]  # stable: the same source keeps its camera key
    numbered = [camera_id_for("x.mp4", "lobby", index, 3) for index in range(3)]
    assert numbered == ["lobby-1", "lobby-2", "lobby-3"]
    assert camera_id_for("x.mp4", "L" * 64, 1, 12) == "L" * 62 + "-2"
    for camera_id in [*derived.values(), *shortened, *numbered, camera_id_for("x.mp4", "L" * 64, 11, 12)]:
        assert CAMERA_ID.fullmatch(camera_id), camera_id
        CameraSealer.open(tmp_path / "vault", recipient, camera_id).close()
    with pytest.raises(InputError, match="camera id"):
        camera_id_for("x.mp4", "lobby 1")
    with pytest.raises(InputError, match="camera id"):
        camera_id_for("x.mp4", "L" * 65)


def test_sealed_times_count_from_the_containers_creation_time(
    recipient: Path, quick_detector: MTCNNDetector, one_person_clip: Path, vault_keeping_the_clip: Path
) -> None:
    vault = vault_keeping_the_clip
    [report] = run_sources([str(one_person_clip)], QUICK, get_quality("size"), vault_sinks(vault, recipient), detector=quick_detector)
    assert report.error is None and report.camera_id == "driving_d11"
    assert report.started_at_source == "container" and report.started_at_utc == parse_utc("2024-07-06T15:34:56Z")
    assert report.to_json()["started_at_iso"] == "2024-07-06T15:34:56+00:00"
    sealed = {t.snapshot_id: t for t in report.tracks if t.snapshot_id}
    with Vault.open(vault) as opened:
        rows = opened.rows()
    assert len(rows) == len(sealed) >= 1
    for row in rows:
        track = sealed[row.snapshot_id]
        assert row.seen_at_utc == pytest.approx(report.started_at_utc + track.chosen_timestamp)
        assert row.first_seen_utc == pytest.approx(report.started_at_utc + track.first_seen)
        # The sealed file's own (signed, pixel-free) metadata says the same, and how the time was found.
        metadata = parse_sealed((vault / "snapshots" / row.file_name).read_bytes(), row.file_name).metadata
        assert metadata["seen_at_utc"] == pytest.approx(row.seen_at_utc) and metadata["started_at_source"] == "container"


def test_the_start_time_option_wins_for_files(tmp_path: Path, recipient: Path, quick_detector: MTCNNDetector, one_person_clip: Path) -> None:
    config = RunConfig(pipeline=QUICK.pipeline, max_frames=5, show_progress=False, start_time_utc=parse_utc("2031-03-04T05:06:07Z"))
    [report] = run_sources([str(one_person_clip)], config, get_quality("size"), vault_sinks(tmp_path / "vault", recipient), detector=quick_detector)
    assert report.started_at_source == "option" and report.started_at_utc == parse_utc("2031-03-04T05:06:07Z")


def test_a_vault_failing_mid_run_reports_every_track_it_could_not_seal(
    recipient: Path, quick_detector: MTCNNDetector, one_person_clip: Path, vault_keeping_the_clip: Path
) -> None:
    vault = vault_keeping_the_clip
    opened: list[CameraSealer] = []

    def sinks_on_a_failing_disk(camera_id: str) -> CameraSealer:
        sealer = CameraSealer.open(vault, recipient, camera_id)
        # After the camera registered, its snapshot folder goes away, as on a failed or unmounted disk.
        shutil.rmtree(sealer.vault.snapshots_dir)
        sealer.vault.snapshots_dir.write_text("not a folder")
        opened.append(sealer)
        return sealer

    config = RunConfig(pipeline=QUICK.pipeline, camera="door", max_frames=20, show_progress=False)
    reports = run_sources([str(one_person_clip)] * 2, config, get_quality("size"), sinks_on_a_failing_disk, detector=quick_detector)
    assert len(reports) == 1, "the run stops at the failing vault; the second camera is not started"
    [report] = reports
    assert isinstance(report.failure, VaultError) and report.frames == 20
    as_json = report.to_json()
    assert as_json["error_kind"] == "vault" and as_json["error"] and as_json["snapshots"] == 0
    people = [t for t in as_json["tracks"] if not t["discarded"]]
    assert people and all(t["snapshot_id"] is None and t["seal_error"] for t in people)
    assert as_json["unsealed"] == len(people)
    assert len(opened) == 1


def test_sigterm_during_a_run_stops_it_after_sealing_every_open_track(
    recipient: Path, quick_detector: MTCNNDetector, one_person_clip: Path, vault_keeping_the_clip: Path
) -> None:
    vault = vault_keeping_the_clip

    def sinks_then_sigterm(camera_id: str) -> CameraSealer:
        sealer = CameraSealer.open(vault, recipient, camera_id)
        os.kill(os.getpid(), signal.SIGTERM)  # as a service manager would, once the camera is up
        return sealer

    before = signal.getsignal(signal.SIGTERM)
    stop = StopRequest()
    with stop.installed():
        reports = run_sources([str(one_person_clip)] * 2, QUICK, get_quality("size"), sinks_then_sigterm, detector=quick_detector, stop=stop)
    assert signal.getsignal(signal.SIGTERM) == before
    assert stop.exit_code == 128 + signal.SIGTERM
    [report] = reports
    assert report.interrupted and report.frames == 1 and report.error is None
    assert report.tracks and all(t.snapshot_id for t in report.tracks)
    with Vault.open(vault) as opened:
        assert len(opened.rows()) == len(report.tracks)


@pytest.fixture()
def live_stream(one_person_clip: Path, tmp_path: Path) -> Iterator[str]:
    """The clip as a live MPEG-TS over HTTP on loopback: a source that cannot be read twice."""
    served = tmp_path / "served"
    served.mkdir()
    with av.open(str(one_person_clip)) as reader, av.open(str(served / "live.ts"), "w", format="mpegts") as writer:
        stream_in = reader.streams.video[0]
        stream_out = writer.add_stream_from_template(stream_in)
        for packet in reader.demux(stream_in):
            if packet.dts is not None:
                packet.stream = stream_out
                writer.mux(packet)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/live.ts"
    finally:
        server.shutdown()
        server.server_close()


def test_a_live_source_is_timed_by_the_clock_and_previewed_as_it_goes(
    tmp_path: Path, recipient: Path, quick_detector: MTCNNDetector, live_stream: str
) -> None:
    preview = tmp_path / "preview.mp4"
    config = RunConfig(pipeline=QUICK.pipeline, max_frames=12, show_progress=False, preview=preview, start_time_utc=0.0)
    before = time.time()
    [report] = run_sources([live_stream], config, get_quality("size"), vault_sinks(tmp_path / "vault", recipient), detector=quick_detector)
    assert report.error is None and report.frames == 12 and report.camera_id == "live"
    assert report.started_at_source == "wall-clock" and before <= report.started_at_utc <= time.time()  # the option is for files
    assert stat.S_IMODE(preview.stat().st_mode) == 0o600
    frames = list(open_source(preview))
    assert len(frames) == 12 and frames[0].image.shape[:2] == (512, 512)


def test_a_truncated_file_with_a_preview_is_reported_and_the_next_source_still_runs(
    tmp_path: Path, recipient: Path, quick_detector: MTCNNDetector, ffmpeg: str, sample_clip: Path
) -> None:
    """The preview's second pass reads the file again and meets the same end: that must not turn into an
    exception that skips the report, the summary and every later source."""
    whole = tmp_path / "whole.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(sample_clip), "-frames:v", "30", "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "veryfast",
         "-movflags", "+faststart", "-an", str(whole)],
        check=True,
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    config = RunConfig(pipeline=QUICK.pipeline, preview=tmp_path / "preview.mp4", show_progress=False)
    reports = run_sources([str(cut), str(whole)], config, get_quality("size"), vault_sinks(tmp_path / "vault", recipient), detector=quick_detector)
    assert len(reports) == 2
    first, second = reports
    assert isinstance(first.failure, SourceError) and "truncated" in (first.error or "") and 0 < first.frames < 30
    assert second.error is None and second.frames == 30
    assert (tmp_path / "preview-1.mp4").stat().st_size > 0 and (tmp_path / "preview-2.mp4").stat().st_size > 0


def test_a_stopped_run_draws_its_preview_only_as_far_as_it_processed(tmp_path: Path, recipient: Path, quick_detector: MTCNNDetector, sample_clip: Path) -> None:
    """Ctrl-C early in a long recording used to be followed by a preview pass over the whole file (minutes for an
    hour of video) before the command returned."""
    vault = tmp_path / "vault"

    def sinks_then_sigterm(camera_id: str) -> CameraSealer:
        sealer = CameraSealer.open(vault, recipient, camera_id)
        os.kill(os.getpid(), signal.SIGTERM)
        return sealer

    config = RunConfig(pipeline=QUICK.pipeline, preview=tmp_path / "preview.mp4", show_progress=False)
    stop = StopRequest()
    with stop.installed():
        [report] = run_sources([str(sample_clip)], config, get_quality("size"), sinks_then_sigterm, detector=quick_detector, stop=stop)
    assert report.interrupted and report.frames == 1
    with av.open(str(tmp_path / "preview.mp4")) as preview:
        assert sum(1 for _ in preview.decode(video=0)) == report.frames


def test_a_folder_of_photos_of_different_people_seals_each_of_them(tmp_path: Path, recipient: Path, lfw_dir: Path) -> None:
    """Ten photos of ten people used to give three snapshots: people one picture apart were merged into one track,
    and a person in a single picture was dropped as a false alarm (fewer than 2 detections)."""
    people = sorted(p for p in (lfw_dir / "images").iterdir() if p.is_dir())[:120:20]
    folder = tmp_path / "photos"
    folder.mkdir()
    for number, person in enumerate(people):
        shutil.copy(sorted(person.iterdir())[0], folder / f"{number:02d}.jpg")
    config = RunConfig(show_progress=False)
    [report] = run_sources([str(folder)], config, get_quality("size"), vault_sinks(tmp_path / "vault", recipient))
    assert report.error is None and report.frames == len(people) == 6
    sealed = sorted(t.chosen_frame for t in report.tracks if t.snapshot_id)
    assert sealed == list(range(len(people))), [(t.first_frame, t.detections, t.discarded) for t in report.tracks]
