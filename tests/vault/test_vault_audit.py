"""Tampering with the audit log or the index: every kind is detected and the first broken entry named."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sealshot.vault.verify import verify_vault

# sealed_vault's log: 1 vault-created, 2 camera-registered, 3-5 sealed (cam1), 6 camera-registered, 7 sealed (cam2)


def _tamper(vault, *statements):
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("DROP TRIGGER audit_no_update")  # an attacker with file access can drop the guard
    connection.execute("DROP TRIGGER audit_no_delete")
    for sql, params in statements:
        connection.execute(sql, params)
    connection.close()


def _entry(vault, seq):
    connection = sqlite3.connect(vault / "index.sqlite")
    (text,) = connection.execute("SELECT entry FROM audit WHERE seq = ?", (seq,)).fetchone()
    connection.close()
    return text


def test_an_untouched_vault_verifies(sealed_vault, cli):
    vault, _ = sealed_vault
    result = cli("vault", "verify", "--vault", vault)
    assert result.exit_code == 0 and "7 audit entries, 4 snapshots indexed" in result.text


def test_the_sqlite_guard_refuses_plain_edits(sealed_vault):
    vault, _ = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM audit WHERE seq = 3")


def test_an_edited_entry_is_named(sealed_vault, cli):
    vault, _ = sealed_vault
    body = json.loads(_entry(vault, 4))
    body["details"]["seen_at_utc"] += 3600
    _tamper(vault, ("UPDATE audit SET entry = ? WHERE seq = 4", (json.dumps(body),)))
    result = cli("vault", "verify", "--vault", vault)
    assert result.exit_code == 1
    assert "first broken entry: audit entry #4 (sealed, signer camera:cam1): signature is invalid" in result.text


def test_an_edited_actor_is_named(sealed_vault):
    vault, _ = sealed_vault
    body = json.loads(_entry(vault, 6))
    body["actor"] = "somebody else"
    _tamper(vault, ("UPDATE audit SET entry = ? WHERE seq = 6", (json.dumps(body),)))
    report = verify_vault(vault)
    assert not report.ok and "audit entry #6 (camera-registered, signer camera:cam2): signature is invalid" in report.problems[0]


def test_a_deleted_entry_is_named(sealed_vault):
    vault, _ = sealed_vault
    _tamper(vault, ("DELETE FROM audit WHERE seq = 3", ()))
    report = verify_vault(vault)
    assert report.problems[0] == "first broken entry: audit entry #3 is missing: it was deleted (the next stored entry is at position 4)"


def test_a_deleted_and_renumbered_entry_is_named(sealed_vault):
    vault, _ = sealed_vault
    statements = [("DELETE FROM audit WHERE seq = 3", ())]
    statements += [(f"UPDATE audit SET seq = {seq - 1} WHERE seq = {seq}", ()) for seq in range(4, 8)]
    _tamper(vault, *statements)
    report = verify_vault(vault)
    assert "stored at position 3 claims to be #4" in report.problems[0]


def test_reordered_entries_are_named(sealed_vault):
    vault, _ = sealed_vault
    fourth, fifth = _entry(vault, 4), _entry(vault, 5)
    _tamper(vault, ("UPDATE audit SET entry = ? WHERE seq = 4", (fifth,)), ("UPDATE audit SET entry = ? WHERE seq = 5", (fourth,)))
    report = verify_vault(vault)
    assert "the audit entry stored at position 4 claims to be #5: entries were reordered" in report.problems[0]


def test_a_forged_entry_resigned_by_a_new_camera_key_breaks_the_chain(sealed_vault, tmp_path):
    """Re-signing an edited entry with some key does not help: the signer must be the registered one."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sealshot.vault.audit import make_entry, parse_entry

    vault, _ = sealed_vault
    original = parse_entry(_entry(vault, 4))
    forged = make_entry(4, "sealed", original.actor, original.signer, original.details, original.prev, ed25519.Ed25519PrivateKey.generate())
    _tamper(vault, ("UPDATE audit SET entry = ? WHERE seq = 4", (forged.text(),)))
    assert "audit entry #4 (sealed, signer camera:cam1): signature is invalid" in verify_vault(vault).problems[0]


def test_an_edited_index_row_is_caught_against_the_signed_log(sealed_vault):
    vault, ids = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("UPDATE snapshots SET seen_at_utc = seen_at_utc + 86400 WHERE snapshot_id = ?", (ids[1],))
    connection.close()
    report = verify_vault(vault)
    assert report.problems == [f"snapshot {ids[1]}: the index row disagrees with its signed 'sealed' audit entry (index edited)"]


def test_a_deleted_index_row_is_caught(sealed_vault):
    vault, ids = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("DELETE FROM snapshots WHERE snapshot_id = ?", (ids[0],))
    connection.close()
    report = verify_vault(vault)
    assert f"snapshot {ids[0]} is recorded as sealed but missing from the index (row deleted)" in report.problems


def test_a_deleted_sealed_file_is_caught(sealed_vault):
    vault, ids = sealed_vault
    (vault / "snapshots" / f"{ids[3]}.seal").unlink()
    report = verify_vault(vault)
    assert report.problems == [f"snapshot {ids[3]}: sealed file {vault / 'snapshots' / (ids[3] + '.seal')} is missing"]


def test_a_cut_off_tail_is_caught_against_a_noted_head(sealed_vault):
    vault, _ = sealed_vault
    head = verify_vault(vault).head
    _tamper(vault, ("DELETE FROM audit WHERE seq = 7", ()), ("DELETE FROM snapshots WHERE camera_id = 'cam2'", ()))
    report = verify_vault(vault, expect_head=head)
    assert report.problems == [f"the log does not contain the expected head {head} (entries were cut off or rewritten)"]


def test_changed_retention_in_vault_json_is_caught(sealed_vault):
    vault, _ = sealed_vault
    config = json.loads((vault / "vault.json").read_text())
    config["retention_days"] = 3650
    (vault / "vault.json").write_text(json.dumps(config))
    assert "vault.json disagrees with audit entry #1" in verify_vault(vault).problems[0]


def test_a_broken_vault_refuses_new_seals(sealed_vault, authority):
    from sealshot.vault import CameraSealer, VaultError

    vault, _ = sealed_vault
    _tamper(vault, ("DELETE FROM audit WHERE seq = 2", ()))
    with pytest.raises(VaultError, match="fails verification, refusing to add to it: audit entry #2 is missing"):
        CameraSealer.open(vault, authority.public_path, "cam1")


def test_a_legacy_key_re_registration_still_verifies_but_a_new_one_does_not(sealed_vault):
    """Vaults written before `camera rotate` existed re-registered a changed key with replaces_key: still
    accepted as history. A second registration without it (a fork of the camera's identity) is not."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sealshot.vault.keys import public_key_b64
    from sealshot.vault.store import Vault

    vault, _ = sealed_vault
    legacy, forked = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    with Vault.open(vault) as opened:
        opened.append("camera-registered", "t", "camera:cam1", {"camera_id": "cam1", "public_key": public_key_b64(legacy), "replaces_key": True}, legacy)
    assert verify_vault(vault).ok
    with Vault.open(vault) as opened:
        opened.append("camera-registered", "t", "camera:cam1", {"camera_id": "cam1", "public_key": public_key_b64(forked)}, forked)
    report = verify_vault(vault)
    assert "audit entry #9 (camera-registered, signer camera:cam1): camera 'cam1' is already registered" in report.problems[0]


def test_a_cameras_view_of_the_chain_keeps_only_its_own_snapshots(sealed_vault) -> None:
    """A sealing camera verifies every entry but remembers only its own snapshots (bounded memory)."""
    from sealshot.vault.audit import ChainState
    from sealshot.vault.store import Vault

    vault_dir, ids = sealed_vault
    with Vault.open(vault_dir) as vault:
        full, problem = vault.chain()
        view, view_problem = vault.chain(ChainState(camera="cam2"))
    assert problem is None and view_problem is None
    assert len(full.sealed) == 4 and len(full.hashes) == full.count
    assert list(view.sealed) == [ids[3]] and view.hashes == [] and (view.count, view.head) == (full.count, full.head)
    assert set(view.cameras) == {"cam1", "cam2"}


def test_a_camera_resumes_verification_from_its_checkpoint_and_never_trusts_a_stale_one(sealed_vault, authority, make_snapshot) -> None:
    """A restart verifies only what was appended since the camera's checkpoint; a checkpoint that no
    longer fits the log is ignored (full verification), and a chain broken after it is still refused."""
    import json

    from sealshot.vault import CameraSealer, VaultError
    from sealshot.vault.sealer import checkpoint_path, read_checkpoint
    from sealshot.vault.store import Vault

    vault_dir, _ = sealed_vault
    with Vault.open(vault_dir) as vault:
        checkpoint = read_checkpoint(vault, "cam2")
        full, _ = vault.chain()
        path = checkpoint_path(vault, "cam2")
    assert checkpoint is not None and (checkpoint.count, checkpoint.head) == (full.count, full.head)
    with CameraSealer.open(vault_dir, authority.public_path, "cam1") as sealer:  # appends after cam2's checkpoint
        sealer.seal(make_snapshot("cam1", 5).crop, make_snapshot("cam1", 5).metadata())
    with CameraSealer.open(vault_dir, authority.public_path, "cam2") as sealer:
        assert sealer._chain.count == full.count + 1
    stale = json.loads(path.read_text()) | {"head": "0" * 64}
    path.write_text(json.dumps(stale))
    with Vault.open(vault_dir) as vault:
        assert read_checkpoint(vault, "cam2") is None
    with CameraSealer.open(vault_dir, authority.public_path, "cam2"):
        pass  # the whole log was verified again, and a fresh checkpoint written
    with Vault.open(vault_dir) as vault:
        assert read_checkpoint(vault, "cam2") is not None
    # An entry appended after the checkpoint and then edited is still caught at the next start.
    import sqlite3

    connection = sqlite3.connect(vault_dir / "index.sqlite")
    connection.execute("DROP TRIGGER audit_no_update")
    (last,) = connection.execute("SELECT max(seq) FROM audit").fetchone()
    with CameraSealer.open(vault_dir, authority.public_path, "cam1") as sealer:
        sealer.seal(make_snapshot("cam1", 6).crop, make_snapshot("cam1", 6).metadata())
    connection.execute("UPDATE audit SET entry = replace(entry, '\"cam1\"', '\"cam9\"') WHERE seq = ?", (last + 1,))
    connection.commit()
    connection.close()
    with pytest.raises(VaultError, match="fails verification"):
        CameraSealer.open(vault_dir, authority.public_path, "cam2")
