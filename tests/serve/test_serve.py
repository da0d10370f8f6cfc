"""``sealshot serve`` for real: live FFmpeg streams on 127.0.0.1, a killed and restarted server, two
vaults, SIGTERM, and cameras that cannot run beside ones that can."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Callable

from sealshot.errors import signal_exit_code
from sealshot.vault.verify import verify_vault
from tests.serve.conftest import LiveServer, Serve, free_port


def _camera(camera_id: str, source: str, vault: Path, **extra: object) -> str:
    lines = [f'\n[[camera]]\nid = "{camera_id}"\nsource = "{source}"\nvault = "{vault}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def _config(tmp_path: Path, authority_pub: Path, cameras: str) -> Path:
    path = tmp_path / "cameras.toml"
    # sharpness: the quickest method to load; max_unseen 1 s is the tracker's default.
    path.write_text(f'recipient = "{authority_pub}"\nquality = "sharpness"\nreconnect_max_s = 2.0\nread_timeout_s = 3.0\n{cameras}')
    return path


def _sealed_lines(report: Path) -> list[dict[str, object]]:
    return [line for line in map(json.loads, report.read_text().splitlines()) if line["snapshot_id"]]


def test_serve_reconnects_after_the_server_dies_and_seals_every_track(
    tmp_path: Path, authority_pub: Path, live_server: Callable[..., LiveServer], serve: Callable[[Path], Serve]
) -> None:
    server = live_server()
    vault = tmp_path / "vault"
    running = serve(_config(tmp_path, authority_pub, _camera("door", server.url, vault)))
    running.wait_for("snapshots before the cut", lambda m: m["sealshot_snapshots_sealed_total"]["door"] >= 2)

    server.kill()
    down = running.wait_for("the stream to be seen gone", lambda m: m["sealshot_camera_up"]["door"] == 0 and m["sealshot_live_tracks"]["door"] == 0, 20)
    sealed_before_cut = down["sealshot_snapshots_sealed_total"]["door"]
    code, health = running.health()
    assert code == 503 and health["down"] == ["door"]
    time.sleep(2)
    server.start()  # the same address, as a camera that rebooted

    after = running.wait_for(
        "reconnection and new frames",
        lambda m: m["sealshot_reconnections_total"]["door"] >= 1 and m["sealshot_camera_up"]["door"] == 1,
        30,
    )
    assert after["sealshot_frames_processed_total"]["door"] > down["sealshot_frames_processed_total"]["door"]
    assert running.health()[0] == 200
    assert running.terminate() == signal_exit_code(signal.SIGTERM)

    events = running.events()
    kinds = [e["event"] for e in events]
    assert "connect_failed" in kinds and "reconnected" in kinds and "gap_sealed" in kinds
    assert not any("Traceback" in e.get("message", "") for e in events)
    sealed = _sealed_lines(tmp_path / "reports" / "door.jsonl")
    assert len(sealed) >= sealed_before_cut >= 2
    assert all("quality_timeline" in line and "crop" not in line for line in sealed)
    report = verify_vault(vault)
    assert report.ok, report.problems
    assert report.snapshots == len(sealed)


def test_two_cameras_one_vault_a_second_vault_a_fast_stream_and_sigterm(
    tmp_path: Path, authority_pub: Path, live_server: Callable[..., LiveServer], serve: Callable[[Path], Serve]
) -> None:
    shared_vault, own_vault = tmp_path / "shared-vault", tmp_path / "own-vault"
    normal, fast, third = live_server(), live_server(rate=6.0), live_server()
    cameras = (
        _camera("hall", normal.url, shared_vault)
        + _camera("fast", fast.url, shared_vault)
        + _camera("yard", third.url, own_vault)
    )
    running = serve(_config(tmp_path, authority_pub, cameras))
    metrics = running.wait_for(
        "every camera sealing, the fast one dropping",
        lambda m: all(m["sealshot_snapshots_sealed_total"].get(c, 0) >= 1 for c in ("hall", "fast", "yard"))
        and m["sealshot_frames_dropped_total"]["fast"] > 50,
        120,
    )
    # Served 6x faster than real time: most frames are dropped, none waits in a queue.
    assert metrics["sealshot_frames_dropped_total"]["fast"] > metrics["sealshot_frames_processed_total"]["fast"]
    assert all(metrics["sealshot_lag_seconds"][c] < 5.0 for c in ("hall", "fast", "yard")), metrics["sealshot_lag_seconds"]
    assert running.terminate() == signal_exit_code(signal.SIGTERM)

    stops = [e for e in running.events() if e["event"] == "camera_stopped"]
    assert sorted(e["camera"] for e in stops) == ["fast", "hall", "yard"]
    reports = tmp_path / "reports"
    in_shared = len(_sealed_lines(reports / "hall.jsonl")) + len(_sealed_lines(reports / "fast.jsonl"))
    for vault, expected in ((shared_vault, in_shared), (own_vault, len(_sealed_lines(reports / "yard.jsonl")))):
        report = verify_vault(vault)
        assert report.ok, report.problems
        assert report.snapshots == expected >= 1


def test_unreachable_camera_and_unusable_vault_leave_the_others_running(
    tmp_path: Path, authority_pub: Path, live_server: Callable[..., LiveServer], serve: Callable[[Path], Serve]
) -> None:
    server = live_server()
    not_a_folder = tmp_path / "not-a-vault"
    not_a_folder.write_text("a file where the vault should be")
    cameras = (
        _camera("good", server.url, tmp_path / "vault")
        + _camera("nobody", f"tcp://127.0.0.1:{free_port()}", tmp_path / "vault")
        + _camera("badvault", server.url.replace(str(server.port), str(free_port())), not_a_folder)
    )
    running = serve(_config(tmp_path, authority_pub, cameras))
    running.wait_for(
        "the good camera sealing while the others are down",
        lambda m: m["sealshot_snapshots_sealed_total"]["good"] >= 1 and m["sealshot_camera_restarts_total"]["badvault"] >= 1,
        120,
    )
    code, health = running.health()
    assert code == 503 and health["down"] == ["badvault", "nobody"]
    assert "cannot connect" in health["cameras"]["nobody"]["last_error"]
    assert str(not_a_folder) in health["cameras"]["badvault"]["last_error"]
    assert running.terminate() == signal_exit_code(signal.SIGTERM)
    events = running.events()
    assert any(e["event"] == "connect_failed" and e["camera"] == "nobody" for e in events)
    assert any(e["event"] == "camera_restart_scheduled" and e["camera"] == "badvault" for e in events)
    assert verify_vault(tmp_path / "vault").ok


def test_recordings_are_read_once_to_the_end_and_a_truncated_one_fails(
    tmp_path: Path, authority_pub: Path, small_clip: Path, serve: Callable[[Path], Serve]
) -> None:
    data = small_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    vault = tmp_path / "vault"
    running = serve(_config(tmp_path, authority_pub, _camera("whole", str(small_clip), vault) + _camera("cut", str(cut), vault)))
    assert running.process.wait(120) == 1  # every camera finished; one of them failed
    events = running.events()
    finished = {e["camera"]: e for e in events if e["event"] == "camera_finished"}
    assert finished["whole"]["exit_code"] == 0
    assert finished["cut"]["exit_code"] != 0 and "truncated" in finished["cut"]["error"]
    assert not any(e["event"] == "camera_process_started" and e["camera"] == "cut" for e in events[events.index(finished["cut"]):])
    whole, partial = _sealed_lines(tmp_path / "reports" / "whole.jsonl"), _sealed_lines(tmp_path / "reports" / "cut.jsonl")
    assert len(whole) > len(partial) >= 1  # what the truncated file showed was still sealed
    report = verify_vault(vault)
    assert report.ok and report.snapshots == len(whole) + len(partial)
