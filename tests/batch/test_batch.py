"""``sealshot batch`` in this process: the same people as ``run``, once each across chunk edges, and a
chunk run again seals nothing twice. Real clips, the real detector and a real folder vault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealshot.batch.config import BatchConfig
from sealshot.batch.execute import BatchIncomplete, run_batch
from sealshot.batch.plan import plan_archive
from sealshot.batch.work import BatchJob, process_chunk
from sealshot.config import RunConfig
from sealshot.quality import get_quality
from sealshot.report import SourceReport
from sealshot.runner import run_sources, vault_sinks
from sealshot.vault import load_recipient
from sealshot.vault.store import Vault
from sealshot.vault.verify import verify_vault
from tests.batch.conftest import PIPELINE, QUALITY, SMALL_CHUNKS


def _job(vault: Path, recipient: Path) -> BatchJob:
    return BatchJob(vault=str(vault), recipient=str(recipient), pipeline=PIPELINE, quality=QUALITY)


def _seen_at(vault: Path) -> list[float]:
    with Vault.open(vault) as opened:
        return sorted(row.seen_at_utc for row in opened.rows())


@pytest.fixture(scope="module")
def run_reference(clip_540p: Path, recipient: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[SourceReport, Path]:
    """What ``run`` seals of the clip: 8 people."""
    vault = tmp_path_factory.mktemp("run") / "vault"
    (report,) = run_sources([str(clip_540p)], RunConfig(pipeline=PIPELINE, show_progress=False), get_quality(QUALITY), vault_sinks(vault, recipient))
    assert report.error is None and report.sealed_count >= 5
    return report, vault


def _people(report: SourceReport) -> list[int]:
    """Each sealed person, by the frame it was first seen in."""
    return sorted(t.first_frame for t in report.tracks if t.snapshot_id)  # type: ignore[misc]


def test_one_chunk_seals_what_run_seals_at_the_same_times(clip_540p: Path, recipient: Path, tmp_path: Path, run_reference) -> None:
    reference, reference_vault = run_reference
    plan = plan_archive([str(clip_540p)], BatchConfig(), align=PIPELINE.detect_every)
    report = run_batch(plan, _job(tmp_path / "vault", recipient), BatchConfig(), show_progress=False)
    (result,) = report.results
    assert result.error is None and result.frames == 105 and result.video_seconds == pytest.approx(4.2) and result.attempts == 1
    chosen = sorted((s["first_frame"], s["chosen_frame"]) for s in result.snapshots)
    assert chosen == sorted((t.first_frame, t.chosen_frame) for t in reference.tracks if t.snapshot_id)
    assert _seen_at(tmp_path / "vault") == _seen_at(reference_vault)
    assert report.failure() is None and verify_vault(tmp_path / "vault").ok


def test_a_person_crossing_a_chunk_edge_is_sealed_once(clip_540p: Path, recipient: Path, tmp_path: Path, run_reference) -> None:
    reference, reference_vault = run_reference
    plan = plan_archive([str(clip_540p)], SMALL_CHUNKS, align=PIPELINE.detect_every)
    report = run_batch(plan, _job(tmp_path / "vault", recipient), SMALL_CHUNKS, show_progress=False)
    assert len(report.results) == 3 and report.failure() is None
    sealed = sorted(s["first_frame"] for r in report.results for s in r.snapshots)
    assert sealed == _people(reference)  # the same people, each once
    # People in view from frame 0 stay past the first edge (frame 35): the later chunks see them in their
    # warm-up and leave them to the first chunk, which follows them to frame 55.
    crossing = [t for t in reference.tracks if t.snapshot_id and t.first_frame == 0 and t.last_seen > 35 / 25]
    assert crossing and report.results[1].declined >= len(crossing)
    for result in report.results:
        assert all(result.start_frame <= s["first_frame"] < (result.end_frame or 105) for s in result.snapshots)
    # Seen times are those of a decode of the whole file: where a chunk chose the crop `run` chose, they are identical.
    same_choice = {s["chosen_frame"] for r in report.results for s in r.snapshots} & {t.chosen_frame for t in reference.tracks if t.snapshot_id}
    with Vault.open(tmp_path / "vault") as batch_vault, Vault.open(reference_vault) as run_vault:
        batch_times = {row.frame_index: row.seen_at_utc for row in batch_vault.rows()}
        run_times = {row.frame_index: row.seen_at_utc for row in run_vault.rows()}
        assert len(batch_vault.rows()) == len(sealed)
    assert same_choice and all(batch_times[frame] == run_times[frame] for frame in same_choice)
    assert verify_vault(tmp_path / "vault").ok


def test_a_variable_frame_rate_file_in_chunks_seals_the_people_run_seals(vfr_clip: Path, recipient: Path, tmp_path: Path) -> None:
    """Chunks were planned in frame numbers (time × average rate) that a variable-rate file's frames do not have: the
    last chunks failed as truncated ('ends after 42 of its 50 declared frames'), and chunks owned overlapping
    stretches of the file, so that a person could be sealed twice or by nobody."""
    (reference,) = run_sources(
        [str(vfr_clip)], RunConfig(pipeline=PIPELINE, show_progress=False), get_quality(QUALITY), vault_sinks(tmp_path / "run", recipient)
    )
    assert reference.error is None and reference.sealed_count >= 3
    plan = plan_archive([str(vfr_clip)], SMALL_CHUNKS, align=PIPELINE.detect_every)
    assert len(plan.chunks) >= 3
    report = run_batch(plan, _job(tmp_path / "vault", recipient), SMALL_CHUNKS, show_progress=False)
    assert report.failure() is None, report.problems()
    for result in report.results:
        assert all(result.start_frame <= s["first_frame"] < (result.end_frame or 50) for s in result.snapshots)
    with Vault.open(tmp_path / "vault") as batch_vault, Vault.open(tmp_path / "run") as run_vault:
        first_seen = sorted(row.first_seen_utc for row in batch_vault.rows())
        assert first_seen == sorted(row.first_seen_utc for row in run_vault.rows())  # the same people, each once
    assert verify_vault(tmp_path / "vault").ok


def test_a_chunk_run_again_seals_nothing_twice(clip_540p: Path, recipient: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    chunk = plan_archive([str(clip_540p)], SMALL_CHUNKS, align=PIPELINE.detect_every).chunks[0]
    first = process_chunk(chunk, _job(vault, recipient))
    again = process_chunk(chunk, _job(vault, recipient))  # as Ray reruns a task whose worker died
    assert first.sealed >= 3 and first.snapshots == again.snapshots
    assert len(_seen_at(vault)) == first.sealed and verify_vault(vault).ok


def test_people_past_the_vaults_retention_are_counted_not_sealed_and_the_batch_is_not_partial(
    clip_540p: Path, recipient: Path, tmp_path: Path, run_reference
) -> None:
    """The clip was recorded yesterday (its container says so); a vault that keeps 12 hours must not get its people."""
    reference, _ = run_reference
    vault = tmp_path / "vault"
    with Vault.create(vault, load_recipient(recipient), retention_days=0.5, actor="tester"):
        pass
    plan = plan_archive([str(clip_540p)], BatchConfig(), align=PIPELINE.detect_every)
    report = run_batch(plan, _job(vault, recipient), BatchConfig(), show_progress=False)
    (result,) = report.results
    assert result.sealed == 0 and result.retention_ended == reference.sealed_count and result.retention_days == 0.5
    assert report.failure() is None and report.to_json()["totals"]["retention_ended"] == reference.sealed_count
    [warning] = report.retention_warnings()
    assert f"arcade-540p.mp4: {reference.sealed_count} person(s) seen but not kept: the vault keeps snapshots 0.5 days" in warning
    assert _seen_at(vault) == [] and verify_vault(vault).ok


def test_a_file_that_cannot_be_read_makes_the_batch_partial(clip_540p: Path, recipient: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0" * 4096)
    plan = plan_archive([str(broken), str(clip_540p)], BatchConfig(), align=PIPELINE.detect_every)
    report = run_batch(plan, _job(tmp_path / "vault", recipient), BatchConfig(), show_progress=False)
    failure = report.failure()
    assert isinstance(failure, BatchIncomplete) and failure.exit_code == 1 and "broken.mp4" in str(failure)
    assert report.sealed >= 5 and report.to_json()["totals"]["problems"]


def test_the_command_refuses_a_glob_that_matches_nothing(tmp_path: Path, recipient: Path) -> None:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sealshot.cli", "batch", str(tmp_path / "*.mp4"), "--vault", str(tmp_path / "v"), "--recipient", str(recipient)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "matches no file" in done.stderr and not (tmp_path / "v").exists()


@pytest.mark.parametrize(("report", "message"), [(".", "is a folder"), ("lobby.mp4", "is the source")])
def test_a_report_path_that_would_fail_or_overwrite_a_recording_is_refused_before_any_chunk(
    tmp_path: Path, sample_clip: Path, monkeypatch: pytest.MonkeyPatch, report: str, message: str
) -> None:
    """`--report` on a folder ended the batch in a traceback after every chunk ran; on one of the files, it replaced
    the recording with the JSON report."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    recording = tmp_path / "lobby.mp4"
    recording.write_bytes(sample_clip.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["batch", "lobby.mp4", "--vault", "vault", "--recipient", "none.pub", "--no-progress", "--report", report])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert recording.read_bytes() == sample_clip.read_bytes() and not (tmp_path / "vault").exists()


def test_the_command_with_yunet_seals_what_run_with_yunet_seals(clip_540p: Path, recipient: Path, tmp_path: Path) -> None:
    """`batch --detector yunet`, as `run --detector yunet`: the same people, chosen at the same frames."""
    import json

    from typer.testing import CliRunner

    from sealshot.cli import app

    (reference,) = run_sources(
        [str(clip_540p)], RunConfig(pipeline=PIPELINE.using_yunet(), show_progress=False), get_quality(QUALITY), vault_sinks(tmp_path / "run", recipient)
    )
    assert reference.error is None and reference.sealed_count >= 5
    arguments = ["batch", str(clip_540p), "--vault", str(tmp_path / "batch"), "--recipient", str(recipient), "--quality", QUALITY]
    result = CliRunner().invoke(app, arguments + ["--detector", "yunet", "--ray", "none", "--no-progress", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    (file,) = json.loads((tmp_path / "r.json").read_text())["files"]
    chosen = sorted((s["first_frame"], s["chosen_frame"]) for chunk in file["chunk_results"] for s in chunk["snapshots"])
    assert chosen == sorted((t.first_frame, t.chosen_frame) for t in reference.tracks if t.snapshot_id)
