"""`sealshot run` from the command line: sealing, reports, pictures, and a corrupt source beside a good one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import matplotlib.image
import pytest

from sealshot.vault.store import Vault
from sealshot.video import open_source


def _sealshot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, "-m", "sealshot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory: pytest.TempPathFactory, sample_clip: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("run")
    assert _sealshot("keygen", "--out", "keys", cwd=work).returncode == 0
    corrupt = work / "corrupt.mp4"
    corrupt.write_bytes(sample_clip.read_bytes()[:40_000])
    result = _sealshot(
        "run", str(corrupt), str(sample_clip), "--vault", "vault", "--recipient", "keys/authority.pub", "--camera", "arcade",
        "--quality", "combined", "--max-frames", "40", "--preview", "preview.mp4", "--report", "report.json",
        "--timeline", "timeline.png", "--no-progress",
        cwd=work,
    )  # fmt: skip
    return work, result


def test_corrupt_source_fails_clearly_and_the_other_source_still_finishes(run_outputs) -> None:
    work, result = run_outputs
    assert result.returncode == 1, result.stdout + result.stderr
    assert "corrupt.mp4" in result.stderr and "error" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((work / "report.json").read_text())
    broken, good = report["sources"]
    assert broken["error"] and broken["frames"] == 0
    assert good["error"] is None and good["frames"] == 40 and good["snapshots"] >= 5
    sealed = [t for t in good["tracks"] if t["snapshot_id"]]
    # One timeline point per scored face: a track's faces are scored every few frames (PipelineConfig.score_every).
    assert all(t["chosen_frame"] is not None and 0 < len(t["quality_timeline"]) <= t["detections"] for t in sealed)
    assert all(t["quality_failures"] == {} and t["seal_error"] is None for t in good["tracks"])  # combined scores every face
    assert broken["error_kind"] == "source" and good["error_kind"] is None
    assert "crop" not in json.dumps(report)
    # Calibrated 0–100 beside the raw value (the shipped calibration of `combined`), and the usability flag.
    for track in sealed:
        assert 0 <= track["chosen_quality_0_100"] <= 100
        assert track["probably_not_usable"] is (track["chosen_quality_0_100"] < 50)


def test_a_file_without_creation_time_is_taken_to_end_at_its_modification_time(run_outputs, sample_clip: Path) -> None:
    work, result = run_outputs
    good = json.loads((work / "report.json").read_text())["sources"][1]
    assert good["started_at_source"] == "mtime-minus-duration"
    assert good["started_at_utc"] == pytest.approx(sample_clip.stat().st_mtime - 105 / 25, abs=0.05)
    assert "modification time is taken as the end of the recording" in " ".join(result.stderr.split())


def test_sealed_snapshots_open_to_valid_images(run_outputs) -> None:
    work, _ = run_outputs
    report = json.loads((work / "report.json").read_text())
    expected = {t["snapshot_id"] for s in report["sources"] for t in s["tracks"] if t["snapshot_id"]}
    assert _sealshot("vault", "verify", "--vault", "vault", cwd=work).returncode == 0
    opened = _sealshot("open", "--key", "keys/authority.key", "--vault", "vault", "--out", "opened", cwd=work)
    assert opened.returncode == 0, opened.stderr
    images = sorted((work / "opened").glob("*.png"))
    assert {p.stem for p in images} == expected
    for path in images:
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] >= 20 and image.shape[1] >= 20


def test_preview_and_timeline_are_written(run_outputs) -> None:
    work, _ = run_outputs
    # One source failed before any frame, so only the good source (the second) wrote pictures.
    preview = work / "preview-2.mp4"
    assert stat.S_IMODE(preview.stat().st_mode) == 0o600  # it shows faces
    frames = list(open_source(preview))
    assert len(frames) == 40 and frames[0].image.shape[:2] == (1080, 1920)
    timeline = matplotlib.image.imread(work / "timeline-2.png")
    assert timeline.shape[0] > 300 and timeline.shape[1] > 600


def test_a_vault_that_cannot_be_used_gives_its_exit_code_one_line_and_the_report(tmp_path: Path, sample_clip: Path) -> None:
    assert _sealshot("keygen", "--out", "keys", cwd=tmp_path).returncode == 0
    (tmp_path / "vault").write_text("a file where the vault folder should be")
    result = _sealshot(
        "run", str(sample_clip), str(sample_clip), "--vault", "vault", "--recipient", "keys/authority.pub",
        "--max-frames", "2", "--report", "report.json", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "vault" in errors[0], result.stderr
    [source] = json.loads((tmp_path / "report.json").read_text())["sources"]  # the second source is not started
    assert source["error_kind"] == "vault" and source["error"] and source["snapshots"] == 0


def test_start_time_must_be_an_iso_time(tmp_path: Path, sample_clip: Path) -> None:
    result = _sealshot("run", str(sample_clip), "--vault", "vault", "--recipient", "keys/authority.pub", "--start-time", "yesterday", cwd=tmp_path)
    assert result.returncode == 2 and "--start-time" in result.stderr and "Traceback" not in result.stderr


def test_a_start_time_in_the_future_is_refused(tmp_path: Path, sample_clip: Path) -> None:
    """Retention counts from when a person was seen: a snapshot "seen" in 2199 would be kept until then."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    result = CliRunner().invoke(
        app, ["run", str(sample_clip), "--vault", str(tmp_path / "vault"), "--recipient", "none.pub", "--start-time", "2199-01-01T00:00:00Z"]
    )
    assert result.exit_code == 2 and "is in the future" in " ".join(result.output.split()), result.output
    assert not (tmp_path / "vault").exists()


def test_start_time_sets_when_a_files_snapshots_were_seen(tmp_path: Path, talking_heads_dir: Path) -> None:
    assert _sealshot("keygen", "--out", "keys", cwd=tmp_path).returncode == 0
    three_days_ago = datetime.fromtimestamp(int(time.time()) - 3 * 86400, timezone.utc)  # within the vault's 30 days
    result = _sealshot(
        "run", str(talking_heads_dir / "driving_d11.mp4"), "--vault", "vault", "--recipient", "keys/authority.pub",
        "--start-time", three_days_ago.strftime("%Y-%m-%dT%H:%M:%SZ"), "--max-frames", "3", "--min-detections", "1",
        "--detect-max-side", "640", "--min-face", "40", "--quality", "size", "--report", "report.json", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [source] = json.loads((tmp_path / "report.json").read_text())["sources"]
    assert source["started_at_source"] == "option" and source["started_at_iso"] == three_days_ago.isoformat()
    sealed = {t["snapshot_id"]: t for t in source["tracks"] if t["snapshot_id"]}
    with Vault.open(tmp_path / "vault") as vault:
        rows = vault.rows()
    assert rows and len(rows) == len(sealed)
    for row in rows:
        assert row.seen_at_utc == pytest.approx(source["started_at_utc"] + sealed[row.snapshot_id]["chosen_timestamp"])


def test_a_start_time_older_than_the_retention_keeps_nobody_and_says_so(tmp_path: Path, sample_clip: Path) -> None:
    """Footage from 2020 into a vault that keeps 30 days: its people were sealed, already past their retention,
    and kept until someone ran a purge. Now they are counted, not written, and the run says so; it exits 0, as
    nothing was lost that could have been kept."""
    assert _sealshot("keygen", "--out", "keys", cwd=tmp_path).returncode == 0
    result = _sealshot(
        "run", str(sample_clip), "--vault", "vault", "--recipient", "keys/authority.pub", "--start-time", "2020-01-01T08:00:00Z",
        "--max-frames", "30", "--quality", "size", "--report", "report.json", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [source] = json.loads((tmp_path / "report.json").read_text())["sources"]
    not_kept = [t for t in source["tracks"] if t["retention_ended_days"] is not None]
    assert not_kept and all(t["retention_ended_days"] == 30 and t["snapshot_id"] is None for t in not_kept)
    assert source["error"] is None and source["snapshots"] == 0 and source["retention_ended"] == len(not_kept)
    warning = " ".join(result.stderr.split())
    assert f"{len(not_kept)} person(s) seen but not kept: the vault keeps snapshots 30 days" in warning
    assert "taken to start at 2020-01-01T08:00:00+00:00, by --start-time" in warning and "nothing of them was written" in warning
    with Vault.open(tmp_path / "vault") as vault:
        assert vault.rows() == []
    assert not [path for path in (tmp_path / "vault").rglob("*") if path.is_file() and path.suffix == ".seal"]
    purged = _sealshot("vault", "purge", "--vault", "vault", cwd=tmp_path)
    assert purged.returncode == 0 and "purged 0 snapshot(s)" in purged.stdout, purged.stdout + purged.stderr


def test_vault_list_shows_the_calibrated_quality_beside_the_raw_one(run_outputs) -> None:
    work, _ = run_outputs
    listing = _sealshot("vault", "list", "--vault", "vault", cwd=work)
    assert listing.returncode == 0, listing.stderr
    report = json.loads((work / "report.json").read_text())
    sealed = [t for t in report["sources"][1]["tracks"] if t["snapshot_id"]]
    assert "0–100" in listing.stdout
    for track in sealed:
        assert f"{track['chosen_quality_0_100']:.0f}" in listing.stdout


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--preview", ".", "is a folder"),
        ("--preview", "preview.txt", "unknown file type '.txt'"),
        ("--report", ".", "is a folder"),
        ("--timeline", "timeline.xyz", "unknown file type '.xyz'"),
        ("--report", "plain-file/report.json", "is a file, not a folder"),
    ],
)
def test_an_output_path_that_cannot_be_written_stops_run_before_any_source(
    tmp_path: Path, sample_clip: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str, message: str
) -> None:
    """Found only after every frame was processed, such a mistake used to end in a traceback, the report and
    the later sources lost."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    (tmp_path / "plain-file").write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", str(sample_clip), "--vault", "vault", "--recipient", "none.pub", "--no-progress", "--max-frames", "2", option, value])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and option in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # one line, no traceback
    assert not (tmp_path / "vault").exists() and not (tmp_path / "preview.txt").exists()


@pytest.mark.parametrize("option", ["--preview", "--report"])
def test_an_output_that_is_one_of_the_sources_is_refused_and_the_recording_kept(
    tmp_path: Path, sample_clip: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """`--preview clip.mp4` on clip.mp4 overwrote the user's recording with the annotated preview (and --report
    with JSON), and the run said ok."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    recording = tmp_path / "lobby.mp4"
    recording.write_bytes(sample_clip.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["run", "lobby.mp4", "--vault", "vault", "--recipient", "none.pub", "--no-progress", "--max-frames", "2", option, str(recording)]
    )
    assert result.exit_code == 2, result.output
    assert "is the source lobby.mp4" in " ".join(result.output.split())
    assert recording.read_bytes() == sample_clip.read_bytes()
