"""Sealing with only the public key, and opening under a warrant's scope, pixel for pixel."""

from __future__ import annotations

from tests.vault.conftest import seal

import json
import sqlite3
import struct

import cv2
import numpy as np
import pytest

from sealshot.vault import CameraSealer, VaultError
from sealshot.vault.audit import parse_entry
from sealshot.vault.opener import Scope, open_snapshots
from sealshot.vault.sealed import MAGIC, parse_sealed, unseal
from sealshot.vault.shares import parse_share, reconstruct
from sealshot.vault.store import Vault


def _decode(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_round_trip_restores_every_pixel_and_logs_the_opening(tmp_path, sealed_vault, authority, make_snapshot, base_time):
    vault, ids = sealed_vault
    out = tmp_path / "out"
    result = open_snapshots(vault, authority.private, out, Scope(), "CASE-1", "tester")
    assert sorted(p.stem for p in result.written) == sorted(ids)
    expected = {0: make_snapshot("cam1", 0).crop, 1: make_snapshot("cam1", 1).crop, 2: make_snapshot("cam1", 2).crop, 7: make_snapshot("cam2", 7).crop}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["case_id"] == "CASE-1"
    for item in manifest["snapshots"]:
        np.testing.assert_array_equal(_decode(out / item["image"]), expected[item["track_id"]])
    with Vault.open(vault) as opened:
        last = parse_entry(opened.audit_texts()[-1][1])
    assert (last.event, last.signer, last.details["case_id"]) == ("opened", "authority", "CASE-1")
    assert sorted(last.details["snapshot_ids"]) == sorted(ids)


def test_warrant_scope_opens_only_the_snapshots_inside_it(tmp_path, sealed_vault, authority, base_time):
    vault, ids = sealed_vault  # cam1 at +0h, +1h, +2h; cam2 at +0.5h
    private = reconstruct([parse_share(p.read_bytes(), str(p)) for p in authority.shares[1:4]], authority.public)
    scope = Scope(("cam1",), base_time + 1800, base_time + 2 * 3600 - 1)
    result = open_snapshots(vault, private, tmp_path / "out", scope, "CASE-2", "judge")
    assert [p.stem for p in result.written] == [ids[1]]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([f"{ids[1]}.png", "manifest.json"])
    with Vault.open(vault) as opened:
        entry = parse_entry(opened.audit_texts()[-1][1])
    assert entry.details["scope"]["cameras"] == ["cam1"] and entry.details["scope"]["from_utc"] == base_time + 1800


def test_a_key_of_another_authority_opens_nothing(tmp_path, sealed_vault, make_authority):
    vault, _ = sealed_vault
    stranger = make_authority(tmp_path / "stranger", 2, 2)
    with pytest.raises(VaultError, match="this key does not open vault"):
        open_snapshots(vault, stranger.private, tmp_path / "out", Scope(), "X", "t")
    assert not (tmp_path / "out").exists()


def test_output_inside_the_vault_is_refused(sealed_vault, authority):
    vault, _ = sealed_vault
    with pytest.raises(VaultError, match="outside the vault"):
        open_snapshots(vault, authority.private, vault / "plain", Scope(), "X", "t")


def test_edited_metadata_fails_decryption(tmp_path, sealed_vault, authority):
    vault, ids = sealed_vault
    path = vault / "snapshots" / f"{ids[0]}.seal"
    sealed = parse_sealed(path.read_bytes(), str(path))
    header = dict(sealed.header, metadata=dict(sealed.metadata, seen_at_utc=sealed.metadata["seen_at_utc"] + 86400))
    edited = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    forged = parse_sealed(MAGIC + struct.pack(">I", len(edited)) + edited + sealed.ciphertext, "forged")
    assert unseal(sealed, authority.private, "original").startswith(b"\x89PNG")
    with pytest.raises(VaultError, match="forged: decryption failed"):
        unseal(forged, authority.private, "forged")


def test_a_flipped_byte_is_named_by_open_and_verify(tmp_path, sealed_vault, authority, cli):
    vault, ids = sealed_vault
    path = vault / "snapshots" / f"{ids[2]}.seal"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x40
    path.write_bytes(bytes(data))
    result = open_snapshots(vault, authority.private, tmp_path / "out", Scope(), "C", "t")
    assert len(result.written) == 3 and len(result.failures) == 1 and ids[2] in result.failures[0]
    checked = cli("vault", "verify", "--vault", vault)
    assert checked.exit_code == 1
    assert f"snapshot {ids[2]}: sealed file" in checked.text and "does not match its recorded hash" in checked.text


def test_camera_cannot_seal_for_another_authority_or_change_retention(tmp_path, sealed_vault, make_authority, authority):
    vault, _ = sealed_vault
    other = make_authority(tmp_path / "other", 2, 2)
    with pytest.raises(VaultError, match="is sealed for authority key"):
        CameraSealer.open(vault, other.public_path, "cam1")
    with pytest.raises(VaultError, match="cannot be changed to 30"):
        CameraSealer.open(vault, authority.public_path, "cam1", retention_days=30)
    with pytest.raises(VaultError, match="camera id"):
        CameraSealer.open(vault, authority.public_path, "../etc")


def test_sealing_leaves_no_pixels_or_plaintext_metadata_tables_on_disk(tmp_path, authority, make_snapshot):
    vault = tmp_path / "vault"
    snapshot = make_snapshot("cam1", 3)
    with CameraSealer.open(vault, authority.public_path, "cam1") as sealer:
        seal(sealer, snapshot)
    rows = bytes(snapshot.crop[0])  # the first row of raw pixels, as a raw frame dump would hold it
    for path in vault.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"\x89PNG" not in data and b"\xff\xd8\xff" not in data and rows not in data, path


def test_index_is_metadata_only_and_camera_key_is_registered(sealed_vault):
    vault, ids = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite")
    columns = [row[1] for row in connection.execute("PRAGMA table_info(snapshots)")]
    assert "crop" not in columns and len(connection.execute("SELECT * FROM snapshots").fetchall()) == 4
    events = [json.loads(text)["event"] for (text,) in connection.execute("SELECT entry FROM audit ORDER BY seq")]
    assert events == ["vault-created", "camera-registered", "sealed", "sealed", "sealed", "camera-registered", "sealed"]
    assert (vault / "cameras" / "cam1.key").exists() and (vault / "cameras" / "cam2.key").exists()


def test_cli_keygen_run_sealer_open_with_key(tmp_path, cli, make_snapshot, base_time):
    keys, vault = tmp_path / "keys", tmp_path / "vault"
    assert cli("keygen", "--out", keys).exit_code == 0
    assert cli("keygen", "--out", keys).exit_code == 4  # never overwrites a key
    with CameraSealer.open(vault, keys / "authority.pub", "gate") as sealer:
        seal(sealer, make_snapshot("gate", 4, base_time))
    opened = cli("open", "--key", keys / "authority.key", "--vault", vault, "--out", tmp_path / "out")
    assert opened.exit_code == 0, opened.text
    assert len(list((tmp_path / "out").glob("*.png"))) == 1
    public_as_private = cli("open", "--key", keys / "authority.pub", "--vault", vault, "--out", tmp_path / "o2")
    assert public_as_private.exit_code == 4 and "is not a sealshot authority private key" in public_as_private.text
    verified = cli("vault", "verify", "--vault", vault)
    assert verified.exit_code == 0 and "vault OK" in verified.text


def test_an_unusable_public_key_is_a_clean_error(tmp_path, make_snapshot):
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

    from sealshot.vault.keys import AuthorityPublicKey

    degenerate = AuthorityPublicKey(x25519.X25519PublicKey.from_public_bytes(b"\0" * 32), ed25519.Ed25519PrivateKey.generate().public_key())
    degenerate.save(tmp_path / "zero.pub")
    with CameraSealer.open(tmp_path / "vault", tmp_path / "zero.pub", "cam1") as sealer:
        with pytest.raises(VaultError, match="is not a usable X25519 key"):
            seal(sealer, make_snapshot())
    assert list((tmp_path / "vault" / "snapshots").iterdir()) == []


def test_a_failure_to_assess_quality_is_sealed_with_a_null_quality(tmp_path, authority, make_snapshot):
    import dataclasses

    from sealshot.vault.store import Vault

    with CameraSealer.open(tmp_path / "vault", authority.public_path, "cam1") as sealer:
        seal(sealer, dataclasses.replace(make_snapshot(), quality=float("nan")))
    with Vault.open(tmp_path / "vault") as opened:
        assert [row.quality for row in opened.rows()] == [None]


def test_a_keyed_seal_is_idempotent(tmp_path, authority, make_snapshot) -> None:
    """Sealing twice under one key (a retried batch task) records one snapshot, once."""
    from sealshot.vault.sealer import snapshot_key
    from sealshot.vault.verify import verify_vault

    key = snapshot_key("archive/a.mp4", 0, 7)
    assert key == snapshot_key("archive/a.mp4", 0, 7) and key != snapshot_key("archive/a.mp4", 1, 7)
    snapshot = make_snapshot("cam1", 7)
    for _ in range(2):
        with CameraSealer.open(tmp_path / "v", authority.public_path, "cam1") as sealer:
            assert sealer.seal(snapshot.crop, snapshot.metadata(), snapshot_id=key) == key
    with CameraSealer.open(tmp_path / "v", authority.public_path, "cam1") as sealer:
        with pytest.raises(VaultError, match="32 lower-case hex"):
            sealer.seal(snapshot.crop, snapshot.metadata(), snapshot_id="../escape")
    with Vault.open(tmp_path / "v") as opened:
        assert [row.snapshot_id for row in opened.rows()] == [key]
        state, problem = opened.chain()
    assert problem is None and list(state.sealed) == [key]
    assert verify_vault(tmp_path / "v").ok
