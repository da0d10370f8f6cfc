"""A vault in PostgreSQL + S3, on real servers on loopback: seal, open, verify, purge, concurrency,
migration, tampering and crash recovery, exactly as with a folder vault."""

from __future__ import annotations

import multiprocessing
import re
import time
import uuid
from pathlib import Path

import boto3
import numpy as np
import psycopg
import pytest

from tests.vault.conftest import BASE_TIME, _make_snapshot, seal

from sealshot.vault import CameraSealer, VaultError
from sealshot.vault.audit import parse_entry
from sealshot.vault.console_store import ConsoleStore
from sealshot.vault.location import parse_location
from sealshot.vault.migrate import migrate
from sealshot.vault.opener import Scope, open_snapshots
from sealshot.vault.retention import purge
from sealshot.vault.store import Vault
from sealshot.vault.verify import verify_vault


def _s3_keys(location: str) -> list[str]:
    objects = parse_location(location).objects
    assert objects is not None
    listing = boto3.client("s3").list_objects_v2(Bucket=objects.bucket, Prefix=objects.prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _database(location: str) -> str:
    database = parse_location(location).database
    assert database is not None
    return database


def test_seal_open_verify_purge_in_postgres_and_s3(remote_vault, authority, tmp_path) -> None:
    ids = []
    with CameraSealer.open(remote_vault, authority.public_path, "cam1", retention_days=7) as sealer:
        for track in range(3):
            ids.append(seal(sealer, _make_snapshot("cam1", track, BASE_TIME + 3600 * track)))
    # Sealed files live in S3 under the camera's own prefix; nothing of the vault is on the local disk but keys.
    keys = _s3_keys(remote_vault)
    assert keys == sorted(f"vault/snapshots/cam1/{i}.seal" for i in ids)
    assert sorted(p.name for p in parse_location(remote_vault).local_keys.rglob("*") if p.is_file()) == ["cam1.chain.json", "cam1.key", "operator.key"]

    report = verify_vault(remote_vault)
    assert report.ok, report.problems
    assert (report.entries, report.snapshots) == (1 + 1 + 3, 3)

    out = tmp_path / "opened"
    result = open_snapshots(remote_vault, authority.private, out, Scope(("cam1",), BASE_TIME - 1, BASE_TIME + 3601), "CASE-9", "tester")
    assert sorted(p.stem for p in result.written) == sorted(ids[:2]) and not result.failures
    expected = _make_snapshot("cam1", 0, BASE_TIME).crop
    import cv2

    decoded = cv2.cvtColor(cv2.imread(str(out / f"{ids[0]}.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(decoded, expected)

    purged = purge(remote_vault, "operator", now=BASE_TIME + 7 * 86400 + 3600 * 1.5)
    assert sorted(purged.purged) == sorted(ids[:2]) and purged.removed_files == 2
    assert _s3_keys(remote_vault) == [f"vault/snapshots/cam1/{ids[2]}.seal"]
    with Vault.open(remote_vault) as vault:
        assert [row.snapshot_id for row in vault.rows()] == [ids[2]]
        events = [parse_entry(text).event for _, text in vault.audit_texts()]
    assert events[-2:] == ["opened", "purged"]
    assert verify_vault(remote_vault).ok


def _iso(utc: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(utc))


def test_the_cli_runs_a_clip_into_the_remote_vault_and_opens_it_under_a_warrant(remote_vault, authority, sample_clip, tmp_path, cli) -> None:
    start = int(time.time()) - 3600  # an hour ago: within the vault's 30 days of retention
    outcome = cli(
        "run", sample_clip, "--vault", remote_vault, "--recipient", authority.public_path, "--camera", "arcade",
        "--max-frames", "40", "--start-time", _iso(start), "--no-progress",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.text
    with Vault.open(remote_vault) as vault:
        rows = vault.rows()
    assert rows and all(row.camera_id == "arcade" for row in rows)
    assert cli("vault", "verify", "--vault", remote_vault).exit_code == 0
    listed = cli("vault", "list", "--vault", remote_vault)
    assert listed.exit_code == 0 and f"{len(rows)} sealed snapshot(s)" in listed.text
    opened = cli(
        "open", "--vault", remote_vault, "--out", tmp_path / "evidence", "--case", "C-1", "--camera", "arcade",
        "--from", _iso(start - 60), "--to", _iso(start + 60), "--shares", *authority.shares[:3],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.text
    assert len(list((tmp_path / "evidence").glob("*.png"))) == len(rows)


def _seal_many(location: str, public: str, camera: str, count: int, errors: "multiprocessing.Queue[str]") -> None:
    try:
        with CameraSealer.open(location, Path(public), camera) as sealer:
            for track in range(count):
                seal(sealer, _make_snapshot(camera, track, BASE_TIME + track))
    except BaseException as error:  # reported to the parent, which fails the test with it
        errors.put(f"{camera}: {error!r}")


def test_cameras_sealing_at_once_keep_one_chain_without_gap_or_fork(remote_vault, authority, s3_environment) -> None:
    with Vault.create(remote_vault, authority.public, 30, "operator"):
        pass
    context = multiprocessing.get_context("spawn")
    errors: multiprocessing.Queue[str] = context.Queue()
    cameras, per_camera = [f"cam{i}" for i in range(4)], 6
    workers = [context.Process(target=_seal_many, args=(remote_vault, str(authority.public_path), camera, per_camera, errors)) for camera in cameras]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    assert errors.empty(), errors.get()
    assert all(worker.exitcode == 0 for worker in workers)
    report = verify_vault(remote_vault)
    assert report.ok, report.problems
    assert report.entries == 1 + len(cameras) + len(cameras) * per_camera and report.snapshots == len(cameras) * per_camera
    with Vault.open(remote_vault) as vault:
        texts = vault.audit_texts()
    assert [seq for seq, _ in texts] == list(range(1, len(texts) + 1))
    prevs = [parse_entry(text).prev for _, text in texts]
    assert len(set(prevs)) == len(prevs)  # no two entries claim the same predecessor: no fork


def test_migration_round_trip_keeps_the_chain_and_the_console_records(sealed_vault, authority, remote_vault, tmp_path, cli) -> None:
    folder, ids = sealed_vault
    with ConsoleStore.open(folder) as store:
        store.add_account("ines", "investigator", "argon2-hash-placeholder-not-a-password", "cli:test")
    with Vault.open(folder) as vault:
        head = vault.chain()[0].head

    there = migrate(folder, remote_vault)
    assert there.verification.ok, there.verification.problems
    assert (there.objects, there.snapshots, there.head) == (len(ids), len(ids), head)
    with ConsoleStore.open(remote_vault) as store:
        assert store.account("ines") is not None and store.account("ines").role == "investigator"

    back = tmp_path / "back"
    returned = cli("vault", "migrate", "--from", remote_vault, "--to", back)
    assert returned.exit_code == 0, returned.text
    assert f"copied {len(ids) + 4} audit entries" in returned.text and f"head {head}" in returned.text and "the copy verifies" in returned.text
    result = open_snapshots(back, authority.private, tmp_path / "out", Scope(), "CASE-M", "tester")
    assert sorted(p.stem for p in result.written) == sorted(ids)
    with pytest.raises(VaultError, match="already holds a vault"):
        migrate(folder, back)


def test_tampering_with_a_row_or_an_object_is_caught(remote_vault, authority) -> None:
    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        first = seal(sealer, _make_snapshot("cam1", 1))
        second = seal(sealer, _make_snapshot("cam1", 2))
    with psycopg.connect(_database(remote_vault), autocommit=True) as connection:
        connection.execute("UPDATE snapshots SET seen_at_utc = seen_at_utc + 86400 WHERE snapshot_id = %s", (first,))
        with pytest.raises(psycopg.Error, match="append-only"):
            connection.execute("DELETE FROM audit WHERE seq = 3")
    objects = parse_location(remote_vault).objects
    assert objects is not None
    boto3.client("s3").put_object(Bucket=objects.bucket, Key=f"vault/snapshots/cam1/{second}.seal", Body=b"SEAL" + b"\0" * 64)
    problems = " ".join(verify_vault(remote_vault).problems)
    assert f"snapshot {first}: the index row disagrees with its signed 'sealed' audit entry" in problems
    assert f"snapshot {second}" in problems and "does not match its recorded hash" in problems

    # An administrator who disables the trigger can delete an entry, and the chain says so.
    with psycopg.connect(_database(remote_vault), autocommit=True) as connection:
        connection.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        connection.execute("DELETE FROM audit WHERE seq = 3")
    assert any("audit entry #3 is missing" in problem for problem in verify_vault(remote_vault).problems)


def test_an_object_written_but_not_indexed_is_adopted_by_its_camera(remote_vault, authority) -> None:
    """The state a crash between the S3 PUT and the index commit leaves, made with the store's own calls."""
    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        seal(sealer, _make_snapshot("cam1", 1))
        snapshot = _make_snapshot("cam1", 2)
        prepared = sealer.prepare(snapshot.crop, snapshot.metadata())
        sealer.vault.write_sealed(prepared.snapshot_id, "cam1", prepared.blob)
    notes = verify_vault(remote_vault).notes
    assert any("sealed but not yet recorded" in note for note in notes)
    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        assert sealer.recovered_count == 1
    report = verify_vault(remote_vault)
    assert report.ok and not report.notes and report.snapshots == 2


def test_a_bad_vault_url_is_a_clear_error(cli, authority, postgres_server, tmp_path) -> None:
    missing_objects = cli("vault", "list", "--vault", postgres_server.url())
    assert missing_objects.exit_code == 4 and "objects=s3://" in missing_objects.text
    bad_bucket = cli("vault", "list", "--vault", postgres_server.url() + "?objects=s3://A_B/x")
    assert bad_bucket.exit_code == 4 and "valid bucket name" in bad_bucket.text
    unreachable = cli("vault", "list", "--vault", f"postgresql://nobody@127.0.0.1:1/none?objects=s3://bucket/x&keys={tmp_path}")
    assert unreachable.exit_code == 4 and "cannot connect to the vault database" in unreachable.text
    assert "Traceback" not in unreachable.text


def test_a_password_in_the_url_is_never_printed(postgres_server) -> None:
    location = parse_location(postgres_server.url().replace("postgres@", "postgres:s3cret@") + "?objects=s3://bucket/p&keys=/k")
    assert "s3cret" not in str(location) and "s3cret" in location.url()


def test_the_console_serves_a_remote_vault(remote_vault, authority, cli, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from sealshot.console.app import create_app

    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        seal(sealer, _make_snapshot("cam1", 1))
    password = tmp_path / "pw"
    password.write_text("a long enough password\n")
    added = cli("console", "user", "add", "--vault", remote_vault, "--username", "alma", "--role", "auditor", "--password-file", password)
    assert added.exit_code == 0, added.text
    client = TestClient(create_app(remote_vault))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    page = client.post("/login", data={"csrf_token": token.group(1), "username": "alma", "password": "a long enough password"}, follow_redirects=False)
    assert page.status_code == 303, page.text
    audit = client.get("/audit")
    assert audit.status_code == 200 and "camera-registered" in audit.text


def test_postgres_float_columns_round_trip_exactly(remote_vault, authority) -> None:
    odd = BASE_TIME + 0.1 + 1e-7
    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        seal(sealer, _make_snapshot("cam1", 3, odd))
    with Vault.open(remote_vault) as vault:
        (row,) = vault.rows()
    assert row.seen_at_utc == odd
    assert verify_vault(remote_vault).ok



CAMERA_GRANTS = """
CREATE ROLE {role} LOGIN;
GRANT SELECT ON vault_config, audit TO {role};
GRANT INSERT ON audit, snapshots TO {role};
"""


def test_a_camera_role_with_the_documented_grants_seals_but_cannot_read_or_delete(remote_vault, authority) -> None:
    """The README's PostgreSQL grants for a camera: it can seal, it cannot read the index or delete anything."""
    with Vault.create(remote_vault, authority.public, 30, "operator"):
        pass
    role = f"camera_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_database(remote_vault), autocommit=True) as connection:
        connection.execute(CAMERA_GRANTS.format(role=role))
    camera_location = remote_vault.replace("postgresql://postgres@", f"postgresql://{role}@")
    with CameraSealer.open(camera_location, authority.public_path, "lobby") as sealer:
        snapshot_id = seal(sealer, _make_snapshot("lobby", 1))
        with pytest.raises(VaultError, match="permission denied"):
            sealer.vault.rows()
        with pytest.raises(VaultError, match="permission denied"):
            sealer.vault.index.query("DELETE FROM snapshots WHERE snapshot_id = ?", (snapshot_id,))
    report = verify_vault(remote_vault)
    assert report.ok and report.snapshots == 1


def test_a_database_restart_during_a_run_loses_no_snapshot(remote_vault, authority, postgres_server) -> None:
    """The database goes away between two seals and comes back 2 s later: the second seal waits, reconnects
    and lands; an outage longer than the retry window is a clear error (exit 4), never a silent loss."""
    import threading

    from sealshot.errors import VaultUnavailable
    from sealshot.vault.store import VaultSettings

    with CameraSealer.open(remote_vault, authority.public_path, "cam1") as sealer:
        first = seal(sealer, _make_snapshot("cam1", 1))
        postgres_server.stop_server()
        restart = threading.Timer(2.0, postgres_server.start_server)
        restart.start()
        try:
            second = seal(sealer, _make_snapshot("cam1", 2))
        finally:
            restart.join()
    with Vault.open(remote_vault) as vault:
        assert sorted(row.snapshot_id for row in vault.rows()) == sorted([first, second])
    assert verify_vault(remote_vault).ok

    with CameraSealer.open(remote_vault, authority.public_path, "cam1", settings=VaultSettings(outage_retry_s=1.0)) as sealer:
        postgres_server.stop_server()
        try:
            with pytest.raises(VaultUnavailable, match="cannot be reached"):
                seal(sealer, _make_snapshot("cam1", 3))
        finally:
            postgres_server.start_server()
