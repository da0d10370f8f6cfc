"""Issue 11: the vault under misuse. Each test reproduces one reported case and checks the safe outcome:
nothing lost, no history rewritten, no silent success, no traceback, and a warrant opens exactly its scope."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from sealshot.vault import CameraSealer, VaultError
from sealshot.vault.admin import open_warrant
from sealshot.vault.audit import parse_entry
from sealshot.vault.opener import open_snapshots
from sealshot.vault.retention import purge
from sealshot.vault.scope import Scope
from sealshot.vault.sealer import rotate_camera_key
from sealshot.vault.store import Vault, VaultSettings, writer_lock
from sealshot.vault.verify import verify_vault
from tests.vault.conftest import seal

DAY = 86400.0


def _events(vault: Path) -> list[str]:
    with Vault.open(vault) as opened:
        return [parse_entry(text).event for _, text in opened.audit_texts()]


def _audit_texts(vault: Path) -> list[str]:
    connection = sqlite3.connect(vault / "index.sqlite")
    try:
        return [text for (text,) in connection.execute("SELECT entry FROM audit ORDER BY seq")]
    finally:
        connection.close()


def _python(script: str, *args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)], capture_output=True, text=True, env=env, timeout=120, **kwargs)


# -- 1. a missing vault.json ----------------------------------------------------------------------


def test_a_vault_without_vault_json_is_reported_never_recreated(tmp_path, sealed_vault, authority, cli):
    vault, ids = sealed_vault
    open_snapshots(vault, authority.private, tmp_path / "out", Scope(), "CASE", "judge")
    history = _audit_texts(vault)
    operator_key, index = (vault / "operator.key").read_bytes(), (vault / "index.sqlite").read_bytes()
    (vault / "vault.json").unlink()

    with pytest.raises(VaultError, match="is incomplete: it holds vault data but no vault.json; refusing"):
        CameraSealer.open(vault, authority.public_path, "cam1")  # what `run` does first
    assert (vault / "operator.key").read_bytes() == operator_key and (vault / "index.sqlite").read_bytes() == index
    assert _audit_texts(vault) == history and "opened" in [json.loads(t)["event"] for t in history]
    checked = cli("vault", "verify", "--vault", vault)
    assert checked.exit_code == 1 and "is incomplete" in checked.text and "vault OK" not in checked.text
    assert sorted(p.stem for p in (vault / "snapshots").iterdir()) == sorted(ids)

    restored = cli("vault", "restore-config", "--vault", vault)  # the documented recovery
    assert restored.exit_code == 0, restored.text
    assert verify_vault(vault).ok and _audit_texts(vault) == history
    assert cli("vault", "restore-config", "--vault", vault).exit_code == 4  # never over an existing vault.json
    with CameraSealer.open(vault, authority.public_path, "cam1") as sealer:
        assert sealer.recovered_count == 0


def test_keys_init_refuses_a_folder_that_holds_an_index(tmp_path, sealed_vault, cli):
    vault, _ = sealed_vault
    (vault / "vault.json").unlink()
    index = (vault / "index.sqlite").read_bytes()
    result = cli("keys", "init", "-n", 2, "-k", 2, "--out", tmp_path / "newkeys", "--vault", vault)
    assert result.exit_code == 4 and "is incomplete: it holds vault data but no vault.json" in result.text
    assert (vault / "index.sqlite").read_bytes() == index
    assert not (tmp_path / "newkeys").exists()  # refused before any key was written


def test_creating_a_vault_refuses_a_non_empty_folder(tmp_path, authority):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(VaultError, match="not empty and is not a vault"):
        CameraSealer.open(folder, authority.public_path, "cam1")
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg"]


# -- 2. camera keys: registration, rotation, races ---------------------------------------------------


def test_a_second_instance_with_another_key_fails_loudly_and_the_first_keeps_sealing(tmp_path, authority, make_snapshot, base_time):
    vault = tmp_path / "vault"
    with CameraSealer.open(vault, authority.public_path, "door") as first:
        seal(first, make_snapshot("door", 1, base_time))
        with pytest.raises(VaultError, match="registered in vault .* with another key"):
            CameraSealer.open(vault, authority.public_path, "door", camera_key=tmp_path / "new.key")
        seal(first, make_snapshot("door", 2, base_time + 1))
    report = verify_vault(vault)
    assert report.ok and report.snapshots == 2, report.problems


def test_rotation_is_a_signed_logged_event_and_stops_the_old_key(tmp_path, authority, make_snapshot, base_time, cli):
    vault, new_key = tmp_path / "vault", tmp_path / "door-new.key"
    with CameraSealer.open(vault, authority.public_path, "door") as old:
        before = seal(old, make_snapshot("door", 1, base_time))
        rotated = cli("vault", "camera", "rotate", "--vault", vault, "--camera", "door", "--new-key", new_key)
        assert rotated.exit_code == 0, rotated.text
        assert stat.S_IMODE(new_key.stat().st_mode) == 0o600
        with pytest.raises(VaultError, match="with another key"):
            seal(old, make_snapshot("door", 2, base_time + 1))  # the instance still running with the old key
    with CameraSealer.open(vault, authority.public_path, "door", camera_key=new_key) as new:
        after = seal(new, make_snapshot("door", 3, base_time + 2))
    entry = next(parse_entry(t) for t in _audit_texts(vault) if json.loads(t)["event"] == "camera-rotated")
    assert (entry.signer, entry.details["camera_id"]) == ("operator", "door")
    assert verify_vault(vault).ok
    result = open_snapshots(vault, authority.private, tmp_path / "out", Scope(("door",)), "C", "t")
    assert sorted(p.stem for p in result.written) == sorted([before, after]) and not result.failures
    with pytest.raises(VaultError, match="is not registered"):
        rotate_camera_key(vault, "nobody", tmp_path / "x.key", "t")


def test_a_forged_rotation_breaks_the_chain(tmp_path, sealed_vault):
    """A rotation signed by anything but the operator key (here: the new key itself) does not verify."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sealshot.vault.audit import rotation_proof_message
    from sealshot.vault.encoding import b64encode
    from sealshot.vault.keys import public_key_b64

    vault, _ = sealed_vault
    attacker = ed25519.Ed25519PrivateKey.generate()
    with Vault.open(vault) as opened:
        state, _ = opened.chain()
        previous = public_key_b64(state.cameras["cam1"])
        public = public_key_b64(attacker)
        details = {"camera_id": "cam1", "public_key": public, "previous_key": previous,
                   "proof": b64encode(attacker.sign(rotation_proof_message("cam1", public, previous)))}  # fmt: skip
        opened.append("camera-rotated", "mallory", "operator", details, attacker)
    assert "audit entry #8 (camera-rotated, signer operator): signature is invalid" in verify_vault(vault).problems[0]


CONCURRENT_FIRST_START = """
    import sys, time, numpy as np
    from pathlib import Path
    from sealshot.vault import CameraSealer
    vault, public, start = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    with CameraSealer.open(vault, public, "door") as sealer:
        crop = np.full((20, 20, 3), 7, np.uint8)
        print(sealer.seal(crop, {"camera_id": "door", "seen_at_utc": 1.7e9, "track_id": 1}))
"""


def test_two_first_starts_of_one_camera_do_not_race(tmp_path, authority):
    vault = tmp_path / "vault"
    start = time.time() + 1.5
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(CONCURRENT_FIRST_START), str(vault), str(authority.public_path), str(start)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    report = verify_vault(vault)
    assert report.ok and report.snapshots == 3, report.problems
    assert _events(vault).count("camera-registered") == 1


def test_a_broken_chain_blocks_seals_but_a_warrant_opens_what_verifies(tmp_path, sealed_vault, authority):
    vault, ids = sealed_vault  # 1 created, 2 registered cam1, 3-5 sealed cam1, 6 registered cam2, 7 sealed cam2
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("DROP TRIGGER audit_no_update")
    (text,) = connection.execute("SELECT entry FROM audit WHERE seq = 5").fetchone()
    body = json.loads(text)
    body["actor"] = "someone else"
    connection.execute("UPDATE audit SET entry = ? WHERE seq = 5", (json.dumps(body),))
    connection.close()

    with pytest.raises(VaultError, match="fails verification, refusing to add to it: audit entry #5"):
        CameraSealer.open(vault, authority.public_path, "cam1")
    warrant = Scope(("cam1", "cam2"), 1_700_000_000.0 - 10, 1_700_000_000.0 + 3 * 3600)
    private_shares = authority.shares[:3]
    result = open_warrant(vault, private_shares, warrant, "CASE-9", tmp_path / "out", "judge")
    assert sorted(p.stem for p in result.written) == sorted(ids[:2])  # sealed in entries #3 and #4, before the break
    assert len(result.failures) == 2 and all("no verified 'sealed' entry records it" in f for f in result.failures)
    last = parse_entry(_audit_texts(vault)[-1])
    assert last.event == "opened" and "audit entry #5" in last.details["verification_failed"][0]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["verification_failed"] == last.details["verification_failed"]


# -- 3. the warrant's scope comes from signed data ------------------------------------------------------


@pytest.mark.parametrize("column, value", [("camera_id", "'cam2'"), ("seen_at_utc", "seen_at_utc + 5400")])
def test_an_edited_index_row_does_not_move_a_snapshot_into_a_warrant(tmp_path, sealed_vault, authority, base_time, column, value):
    vault, ids = sealed_vault  # ids[0]: cam1 at base_time; ids[3]: cam2 at base_time + 1800
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute(f"UPDATE snapshots SET {column} = {value} WHERE snapshot_id = ?", (ids[0],))
    connection.close()
    warrant = Scope(("cam2",), base_time - 10, base_time + 6000) if column == "camera_id" else Scope(("cam1",), base_time + 5000, base_time + 6000)
    result = open_warrant(vault, authority.shares[:3], warrant, "CASE", tmp_path / "out", "judge")
    assert ids[0] not in {p.stem for p in result.written}
    assert any(ids[0] in failure and "outside the scope" in failure for failure in result.failures)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert all(item["camera_id"] in warrant.cameras for item in manifest["snapshots"])
    if column == "camera_id":
        assert [item["snapshot_id"] for item in manifest["snapshots"]] == [ids[3]]
    # the edited snapshot, opened under a warrant that covers its true scope, is refused too: the row disagrees
    true_scope = Scope(("cam1",), base_time - 1, base_time + 1)
    again = open_warrant(vault, authority.shares[:3], true_scope, "CASE", tmp_path / "out2", "judge")
    assert again.written == [] and any("index row disagrees with its signed 'sealed' audit entry" in f for f in again.failures)


# -- 4. purge obeys only the signed retention -----------------------------------------------------------


@pytest.mark.parametrize("edited", [0.0001, 100000.0])
def test_purge_refuses_a_retention_edited_in_vault_json(tmp_path, sealed_vault, cli, base_time, edited):
    vault, ids = sealed_vault  # retention 7 days, signed in entry #1
    config = json.loads((vault / "vault.json").read_text())
    config["retention_days"] = edited
    (vault / "vault.json").write_text(json.dumps(config))
    result = cli("vault", "purge", "--vault", vault, "--now", base_time + 3 * DAY)
    assert result.exit_code == 4 and "refusing to purge" in result.text and "signed audit entry #1 says 7" in result.text
    assert len(list((vault / "snapshots").iterdir())) == len(ids)


def test_purge_decides_expiry_from_the_signed_seen_time(tmp_path, sealed_vault, base_time):
    vault, ids = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("UPDATE snapshots SET seen_at_utc = 0 WHERE snapshot_id = ?", (ids[2],))  # an edit to get it purged early
    connection.close()
    assert purge(vault, "t", now=base_time + 3 * DAY).purged == []
    assert sorted(purge(vault, "t", now=base_time + 8 * DAY).purged) == sorted(ids)


# -- 5. clear errors instead of tracebacks -------------------------------------------------------------------


def test_a_vault_path_that_is_a_plain_file(tmp_path, authority, cli):
    plain = tmp_path / "vault"
    plain.write_text("not a folder")
    with pytest.raises(VaultError, match="is a file, not a folder"):
        CameraSealer.open(plain, authority.public_path, "cam1")
    for command in (["vault", "purge"], ["vault", "list"], ["vault", "camera", "rotate", "--camera", "c", "--new-key", tmp_path / "k"]):
        result = cli(*command, "--vault", plain)
        assert result.exit_code == 4 and "is a file, not a folder" in result.text, result.text
    checked = cli("vault", "verify", "--vault", plain)
    assert checked.exit_code == 1 and "is a file, not a folder" in checked.text
    created = cli("keygen", "--out", tmp_path / "keys", "--vault", plain)
    assert created.exit_code == 4 and "is a file, not a folder" in created.text
    assert plain.read_text() == "not a folder"


@contextmanager
def _immutable(*paths: Path):
    """A read-only vault as even root meets it: the immutable attribute (``chattr +i``)."""
    done = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("chattr +i is not available here")
            done.append(path)
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_vault_is_a_clear_error_for_run_and_purge(tmp_path, sealed_vault, authority, cli, base_time):
    vault, ids = sealed_vault
    with _immutable(vault / ".lock", vault / "index.sqlite", vault / "snapshots", vault):
        with pytest.raises(VaultError, match=r"writer lock .*Operation not permitted \(the vault is read-only"):
            CameraSealer.open(vault, authority.public_path, "cam1")
        result = cli("vault", "purge", "--vault", vault, "--now", base_time + 30 * DAY)
        assert result.exit_code == 4 and "read-only" in result.text, result.text
        assert cli("vault", "verify", "--vault", vault).exit_code == 0  # reading still works
    assert len(list((vault / "snapshots").iterdir())) == len(ids)


def test_a_deleted_snapshots_folder_is_named_by_verify_and_purge(sealed_vault, cli, base_time):
    vault, _ = sealed_vault
    for path in (vault / "snapshots").iterdir():
        path.unlink()
    (vault / "snapshots").rmdir()
    checked = cli("vault", "verify", "--vault", vault)
    assert checked.exit_code == 1 and "has no snapshots/ folder" in checked.text
    purged = cli("vault", "purge", "--vault", vault, "--now", base_time + 30 * DAY)
    assert purged.exit_code == 4 and "has no snapshots/ folder" in purged.text


def test_open_into_an_existing_file_is_refused_before_anything_is_logged(tmp_path, sealed_vault, authority, cli):
    vault, _ = sealed_vault
    target = tmp_path / "evidence.png"
    target.write_bytes(b"keep me")
    history = _audit_texts(vault)
    keyfile = tmp_path / "authority.key"
    authority.private.save(keyfile)
    result = cli("open", "--vault", vault, "--key", keyfile, "--out", target)
    assert result.exit_code == 4 and "is an existing file" in result.text
    assert _audit_texts(vault) == history and target.read_bytes() == b"keep me"
    first = cli("open", "--vault", vault, "--key", keyfile, "--out", tmp_path / "out")
    assert first.exit_code == 0
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    logged = _audit_texts(vault)
    second = cli("open", "--vault", vault, "--key", keyfile, "--out", tmp_path / "out")
    assert second.exit_code == 4 and "already holds an opening" in second.text and _audit_texts(vault) == logged


def test_a_full_index_is_a_clear_error_and_the_vault_still_verifies(tmp_path, authority, make_snapshot, base_time):
    """SQLite's own limit on the database size (``max_page_count``) provokes SQLITE_FULL for real."""
    vault = tmp_path / "vault"
    with CameraSealer.open(vault, authority.public_path, "cam1") as sealer:
        seal(sealer, make_snapshot("cam1", 1, base_time))
        (pages,) = sealer.vault.index.connection.execute("PRAGMA page_count").fetchone()
        sealer.vault.index.connection.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(VaultError, match="database or disk is full"):
            for track in range(2, 200):
                seal(sealer, make_snapshot("cam1", track, base_time + track))
    report = verify_vault(vault)
    assert report.ok, report.problems
    assert len(report.notes) == 1 and "not yet recorded" in report.notes[0]  # the file whose record did not fit
    with CameraSealer.open(vault, authority.public_path, "cam1") as sealer:
        assert sealer.recovered_count == 1  # adopted once there is room again: nothing sealed is lost


FULL_DISK = """
    import resource, signal, sys, numpy as np
    from pathlib import Path
    from sealshot.vault import CameraSealer, VaultError
    vault, public = Path(sys.argv[1]), Path(sys.argv[2])
    sealer = CameraSealer.open(vault, public, "cam1")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    crop = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)  # ~270 kB of PNG
    try:
        sealer.seal(crop, {"camera_id": "cam1", "seen_at_utc": 1.7e9})
    except VaultError as error:
        print(error)
        sys.exit(4)
"""


def test_a_full_disk_while_writing_a_sealed_file_is_a_clear_error(tmp_path, authority):
    """A real file-size limit (``RLIMIT_FSIZE``) in a child process makes the write fail as on a full disk."""
    vault = tmp_path / "vault"
    result = _python(FULL_DISK, vault, authority.public_path)
    assert result.returncode == 4, result.stderr
    assert "cannot write" in result.stdout and "the disk is full" in result.stdout and "Traceback" not in result.stderr
    assert list((vault / "snapshots").iterdir()) == []  # no half-written file left
    assert verify_vault(vault).ok


LOCK_WAITER = """
    import signal
    import sys
    from pathlib import Path
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell's background job starts with Ctrl-C ignored
    from sealshot.vault.store import VaultSettings, writer_lock
    from sealshot.vault import VaultError
    print("waiting", flush=True)
    try:
        with writer_lock(Path(sys.argv[1]), float(sys.argv[2])):
            print("locked")
    except VaultError as error:
        print(error)
        sys.exit(4)
"""


def test_waiting_for_the_writer_lock_times_out_and_yields_to_signals(tmp_path, sealed_vault):
    vault, _ = sealed_vault
    with writer_lock(vault):
        started = time.monotonic()
        timed_out = _python(LOCK_WAITER, vault, 0.5)
        assert timed_out.returncode == 4 and "is busy: another process has held its writer lock" in timed_out.stdout
        assert time.monotonic() - started < 30
        process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(LOCK_WAITER), str(vault), "600"], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) != 0  # interrupted at once, not after the 600 s wait
    with pytest.raises(VaultError, match="is busy"):
        with writer_lock(vault, 0.1), CameraSealer.open(vault, vault.parent / "keys" / "authority.pub", "cam1", settings=VaultSettings(lock_timeout_s=0.2)):
            pass


# -- 6. permissions -------------------------------------------------------------------------------------------


def test_existing_folders_keep_their_mode_and_created_ones_are_private(tmp_path, cli, authority):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    assert cli("keygen", "--out", shared).exit_code == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    empty = tmp_path / "empty"
    empty.mkdir()
    os.chmod(empty, 0o755)
    CameraSealer.open(empty, authority.public_path, "cam1").close()
    assert stat.S_IMODE(empty.stat().st_mode) == 0o755
    assert cli("keygen", "--out", tmp_path / "fresh" / "keys", "--vault", tmp_path / "fresh" / "vault").exit_code == 0
    for folder in ("fresh/keys", "fresh/vault", "fresh/vault/snapshots", "fresh/vault/cameras"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700, folder


# -- 7. what remains after a purge -------------------------------------------------------------------------------


def test_after_a_purge_only_the_documented_fields_remain_in_the_log(tmp_path, authority, make_snapshot, base_time):
    vault = tmp_path / "vault"
    with CameraSealer.open(vault, authority.public_path, "cam1", retention_days=1) as sealer:
        snapshot_id = seal(sealer, make_snapshot("cam1", 3, base_time, method="marker-method"))
    purge(vault, "t", now=base_time + 2 * DAY)
    everything = b"".join(p.read_bytes() for p in sorted(vault.rglob("*")) if p.is_file())
    for gone in (b"marker-method", b'"track_id"', b'"box"', b'"quality"'):
        assert gone not in everything
    connection = sqlite3.connect(vault / "index.sqlite")
    assert connection.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (0,)
    entries = [json.loads(text) for (text,) in connection.execute("SELECT entry FROM audit ORDER BY seq")]
    connection.close()
    naming = [entry for entry in entries if snapshot_id in json.dumps(entry)]
    assert [entry["event"] for entry in naming] == ["sealed", "purged"]
    assert set(naming[0]["details"]) == {"snapshot_id", "camera_id", "seen_at_utc", "file_sha256", "size"}
    assert naming[0]["details"]["camera_id"] == "cam1" and naming[0]["details"]["seen_at_utc"] == base_time
    assert set(naming[1]["details"]) == {"snapshot_ids", "cutoff_utc", "retention_days", "now_utc"}
    assert verify_vault(vault).ok


def test_a_folder_made_by_another_process_between_two_checks_is_taken_as_made(tmp_path, monkeypatch):
    """The race behind a flaky first start: the folder did not exist when looked at, then another camera made it."""
    from sealshot.vault.encoding import make_private_directory

    folder = tmp_path / "vault"
    real_is_dir = Path.is_dir
    looks: list[Path] = []

    def is_dir_made_meanwhile(path: Path) -> bool:
        if path == folder and not looks:
            looks.append(path)
            folder.mkdir()  # the other process, right after this one looked
            return False
        return real_is_dir(path)

    monkeypatch.setattr(Path, "is_dir", is_dir_made_meanwhile)
    assert make_private_directory(folder) is False
    assert real_is_dir(folder)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(VaultError, match="is a file, not a folder"):
        make_private_directory(tmp_path / "plain")


def test_a_vault_folder_deleted_while_a_camera_runs_is_not_made_again(tmp_path, authority, make_snapshot, base_time):
    """An operator removes the vault under a running camera: its seals fail clearly, and closing it must not leave
    a half-made folder (cameras/ID.chain.json) that later runs refuse as 'not empty and not a vault'."""
    vault = tmp_path / "vault"
    sealer = CameraSealer.open(vault, authority.public_path, "door")
    seal(sealer, make_snapshot("door", 1, base_time))
    shutil.rmtree(vault)
    with pytest.raises(VaultError):
        seal(sealer, make_snapshot("door", 2, base_time + 1))
    sealer.close()
    assert not vault.exists()
    with CameraSealer.open(vault, authority.public_path, "door") as fresh:  # a new vault can be made there at once
        seal(fresh, make_snapshot("door", 3, base_time + 2))
    assert verify_vault(vault).ok


@pytest.mark.parametrize(
    "command",
    [
        ["vault", "purge", "--now", "yesterday"],
        ["open", "--from", "2026-13-01"],
        ["open", "--from", "2026-02-01", "--to", "2026-01-01"],
    ],
)
def test_a_mistyped_time_is_bad_input(tmp_path, sealed_vault, cli, command):
    """A time a user typed that cannot be read, or a window that ends before it starts: exit 2 (bad input), one line."""
    extra = ["--vault", sealed_vault[0]] + (["--key", tmp_path / "none.key", "--out", tmp_path / "out"] if command[0] == "open" else [])
    result = cli(*command, *extra)
    assert result.exit_code == 2, result.text
    assert "neither an ISO-8601 time" in result.text or "after it ends" in result.text
    assert "Traceback" not in result.text
