"""k-of-n holders: round trips for several (k, n), and clear refusals for everything else."""

from __future__ import annotations

from tests.vault.conftest import seal

import json
from pathlib import Path

import pytest

from sealshot.vault import VaultError
from sealshot.vault.encoding import b64decode, b64encode
from sealshot.vault.shares import parse_share, reconstruct


def _load(paths: list[Path], passphrases: list[str | None] | None = None):
    return [parse_share(p.read_bytes(), str(p), passphrases[i] if passphrases else None) for i, p in enumerate(paths)]


@pytest.mark.parametrize("threshold, holders", [(1, 2), (2, 2), (2, 3), (3, 5), (4, 7)])
def test_any_k_shares_rebuild_exactly_the_key(tmp_path, make_authority, threshold, holders):
    authority = make_authority(tmp_path, holders, threshold)
    subsets = [authority.shares[:threshold], authority.shares[-threshold:], authority.shares[::-1][:threshold], authority.shares]
    for subset in subsets:
        rebuilt = reconstruct(_load(subset), authority.public)
        assert rebuilt.raw == authority.private.raw


@pytest.mark.parametrize("threshold, holders", [(2, 3), (3, 5), (4, 7)])
def test_k_minus_one_shares_are_refused(tmp_path, make_authority, threshold, holders):
    authority = make_authority(tmp_path, holders, threshold)
    with pytest.raises(VaultError, match=rf"{threshold - 1} distinct share\(s\) given, but this key needs {threshold} of {holders}"):
        reconstruct(_load(authority.shares[: threshold - 1]), authority.public)


def test_the_same_share_twice_does_not_count_twice(tmp_path, make_authority):
    authority = make_authority(tmp_path, 3, 2)
    copy = tmp_path / "copy.json"
    copy.write_bytes(authority.shares[0].read_bytes())
    with pytest.raises(VaultError, match="are the same share"):
        reconstruct(_load([authority.shares[0], copy]), authority.public)


def test_an_altered_share_is_refused_by_name(tmp_path, make_authority):
    authority = make_authority(tmp_path, 5, 3)
    body = json.loads(authority.shares[1].read_text())
    value = bytearray(b64decode(body["share"], "share"))
    value[5] ^= 0x01
    body["share"] = b64encode(bytes(value))
    authority.shares[1].write_text(json.dumps(body))
    with pytest.raises(VaultError, match=rf"share file {authority.shares[1]} is not signed by this vault's authority key"):
        reconstruct(_load(authority.shares[:3]), authority.public)


def test_a_share_with_a_forged_threshold_is_refused(tmp_path, make_authority):
    authority = make_authority(tmp_path, 5, 3)
    forged = []
    for path in authority.shares[:2]:
        body = json.loads(path.read_text())
        body["threshold"] = 2
        path.write_text(json.dumps(body))
        forged.append(path)
    with pytest.raises(VaultError, match="is not signed by this vault's authority key"):
        reconstruct(_load(forged), authority.public)


def test_a_share_of_another_key_is_refused(tmp_path, make_authority):
    ours = make_authority(tmp_path / "ours", 5, 3)
    theirs = make_authority(tmp_path / "theirs", 5, 3)
    mixed = [ours.shares[0], ours.shares[1], theirs.shares[2]]
    with pytest.raises(VaultError, match=rf"share file {theirs.shares[2]} belongs to authority key {theirs.public.fingerprint}"):
        reconstruct(_load(mixed), ours.public)


def test_a_share_of_another_key_relabelled_as_ours_is_still_refused(tmp_path, make_authority):
    ours = make_authority(tmp_path / "ours", 5, 3)
    theirs = make_authority(tmp_path / "theirs", 5, 3)
    body = json.loads(theirs.shares[2].read_text())
    body["authority_fingerprint"] = ours.public.fingerprint
    theirs.shares[2].write_text(json.dumps(body))
    with pytest.raises(VaultError, match="is not signed by this vault's authority key"):
        reconstruct(_load([ours.shares[0], ours.shares[1], theirs.shares[2]]), ours.public)


def test_passphrase_protected_shares(tmp_path, make_authority):
    passphrases = ["correct horse", None, "battery staple"]
    authority = make_authority(tmp_path, 3, 2, passphrases)
    protected = authority.shares[0].read_text()
    assert '"share"' not in protected and "scrypt" in protected  # the share value is not stored in clear
    assert reconstruct(_load(authority.shares[:2], passphrases), authority.public).raw == authority.private.raw
    with pytest.raises(VaultError, match="wrong passphrase"):
        parse_share(authority.shares[0].read_bytes(), "s1", "wrong horse")
    with pytest.raises(VaultError, match="protected by a passphrase; none was given"):
        parse_share(authority.shares[2].read_bytes(), "s3", None)


def test_cli_keys_init_and_warrant_open_with_passphrases(tmp_path, cli, make_snapshot, base_time):
    from sealshot.vault import CameraSealer

    keys, vault, out = tmp_path / "keys", tmp_path / "vault", tmp_path / "out"
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("alpha one\n\ngamma three\n")
    created = cli("keys", "init", "--holders", 3, "--threshold", 2, "--out", keys, "--passphrase-file", phrases, "--vault", vault, "--retention-days", 10)
    assert created.exit_code == 0, created.text
    assert sorted(p.name for p in keys.iterdir()) == ["authority.pub", "share-1-of-3.json", "share-2-of-3.json", "share-3-of-3.json"]
    with CameraSealer.open(vault, keys / "authority.pub", "door") as sealer:
        seal(sealer, make_snapshot("door", 1, base_time))
    given = tmp_path / "given.txt"
    given.write_text("gamma three\nalpha one\n")
    opened = cli("open", "--vault", vault, "--shares", keys / "share-3-of-3.json", keys / "share-1-of-3.json",
                 "--passphrase-file", given, "--case", "C-1", "--camera", "door", "--from", "2023-11-14", "--to", "2023-11-15", "--out", out)  # fmt: skip
    assert opened.exit_code == 0, opened.text
    assert len(list(out.glob("*.png"))) == 1
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("gamma three\nnot alpha\n")
    refused = cli("open", "--vault", vault, "--shares", keys / "share-3-of-3.json", keys / "share-1-of-3.json",
                  "--passphrase-file", wrong, "--case", "C-1", "--camera", "door", "--from", "2023-11-14", "--to", "2023-11-15", "--out", tmp_path / "o2")  # fmt: skip
    assert refused.exit_code == 4 and "wrong passphrase" in refused.text
    too_few = cli("open", "--vault", vault, "--shares", keys / "share-2-of-3.json", "--case", "C-1", "--camera", "door",
                  "--from", "2023-11-14", "--to", "2023-11-15", "--out", tmp_path / "o3")  # fmt: skip
    assert too_few.exit_code == 4 and "1 distinct share(s) given, but this key needs 2 of 3" in too_few.text
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
