"""Retention: expired snapshots are gone from the folder and the index, byte for byte, and the purge is logged."""

from __future__ import annotations

from tests.vault.conftest import seal

import sqlite3

from sealshot.vault import CameraSealer
from sealshot.vault.audit import parse_entry
from sealshot.vault.retention import purge
from sealshot.vault.store import Vault
from sealshot.vault.verify import verify_vault

DAY = 86400.0


def _all_bytes(folder):
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_purge_removes_every_trace_of_expired_snapshots(tmp_path, authority, make_snapshot, base_time, cli):
    vault = tmp_path / "vault"
    with CameraSealer.open(vault, authority.public_path, "cam1", retention_days=7) as sealer:
        old = [seal(sealer, make_snapshot("cam1", t, base_time, method=f"old-marker-{t}")) for t in range(3)]
        fresh = seal(sealer, make_snapshot("cam1", 9, base_time + 6 * DAY, method="fresh-marker"))
    ciphertexts = [(vault / "snapshots" / f"{i}.seal").read_bytes()[-64:] for i in old]
    before = _all_bytes(vault)
    assert all(c in before for c in ciphertexts) and b"old-marker-1" in before

    result = cli("vault", "purge", "--vault", vault, "--now", base_time + 8 * DAY)
    assert result.exit_code == 0 and "purged 3 snapshot(s)" in result.text

    after = _all_bytes(vault)
    for snapshot_id, ciphertext in zip(old, ciphertexts):
        assert ciphertext not in after
        assert f"{snapshot_id}.seal".encode() not in after
    assert b"old-marker" not in after  # their metadata (index rows and sealed headers) is gone too
    assert b"fresh-marker" in after and (vault / "snapshots" / f"{fresh}.seal").exists()
    assert sorted(p.name for p in (vault / "snapshots").iterdir()) == [f"{fresh}.seal"]
    assert not list(vault.glob("index.sqlite-*"))  # no journal left behind
    with Vault.open(vault) as opened:
        assert [row.snapshot_id for row in opened.rows()] == [fresh]
        entry = parse_entry(opened.audit_texts()[-1][1])
    assert (entry.event, entry.signer, sorted(entry.details["snapshot_ids"])) == ("purged", "operator", sorted(old))
    assert verify_vault(vault).ok


def test_purge_keeps_what_is_within_retention_and_logs_nothing_when_idle(tmp_path, sealed_vault):
    vault, ids = sealed_vault
    entries_before = verify_vault(vault).entries
    result = purge(vault, "tester", now=1_700_000_000.0 + 3600)
    assert result.purged == [] and verify_vault(vault).entries == entries_before
    assert len(list((vault / "snapshots").iterdir())) == len(ids)


def test_an_interrupted_purge_is_finished_by_the_next_one(tmp_path, authority, make_snapshot, base_time):
    """Crash after the purge was committed but before the files were deleted: verify accepts, purge finishes."""
    vault = tmp_path / "vault"
    with CameraSealer.open(vault, authority.public_path, "cam1", retention_days=1) as sealer:
        snapshot_id = seal(sealer, make_snapshot("cam1", 1, base_time))
    sealed = vault / "snapshots" / f"{snapshot_id}.seal"
    kept = sealed.read_bytes()
    purge(vault, "tester", now=base_time + 2 * DAY)
    sealed.write_bytes(kept)  # as if the process died between the commit and the unlink
    report = verify_vault(vault)
    assert report.ok and any("interrupted purge" in note for note in report.notes)
    purge(vault, "tester", now=base_time + 2 * DAY)
    assert not sealed.exists()
    connection = sqlite3.connect(vault / "index.sqlite")
    assert connection.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (0,)


def test_a_camera_refuses_exactly_what_a_purge_at_the_same_time_would_delete(tmp_path, authority, make_snapshot, base_time):
    """The pipeline does not seal a snapshot whose retention has already ended (``CameraSealer.retention_ended``):
    that must be the purge's own rule, neither keeping what it deletes nor dropping what it keeps."""
    vault = tmp_path / "vault"
    now = base_time + 7 * DAY
    offsets = (-3600.0, -1.0, -0.001, 0.0, 0.001, 1.0, 3600.0)  # around the moment retention ends
    with CameraSealer.open(vault, authority.public_path, "cam1", retention_days=7) as sealer:
        seen = {seal(sealer, make_snapshot("cam1", t, base_time + offset)): base_time + offset for t, offset in enumerate(offsets)}
        refused = {snapshot_id for snapshot_id, seen_at in seen.items() if sealer.retention_ended(seen_at, now_utc=now) is not None}
        assert {sealer.retention_ended(seen_at, now_utc=now) for seen_at in seen.values()} == {7.0, None}
    assert set(purge(vault, "operator", now=now).purged) == refused
    assert 0 < len(refused) < len(seen)
