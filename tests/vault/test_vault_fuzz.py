"""Fuzzing the parsers of everything a vault reads from disk: exactly the valid inputs are accepted,
everything else is refused with a ``VaultError`` (never a traceback), and nothing forged verifies or decrypts."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealshot.vault import VaultError
from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import make_entry, parse_entry, verify_chain
from sealshot.vault.keys import AuthorityPrivateKey, public_key_b64
from sealshot.vault.sealed import SEALED_FORMAT, SNAPSHOT_ID, SUITE_NAME, parse_sealed, seal, unseal
from sealshot.vault.shares import parse_share, reconstruct
from sealshot.vault.store import INDEX_COLUMNS, IndexRow, Vault, VaultConfig
from sealshot.vault.verify import verify_vault

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PRIVATE = AuthorityPrivateKey.generate()
OPERATOR = ed25519.Ed25519PrivateKey.generate()
CREATED_DETAILS = {"authority": PRIVATE.public().to_json(), "retention_days": 30.0, "operator_public": public_key_b64(OPERATOR)}
HEADER = {
    "format": SEALED_FORMAT, "suite": SUITE_NAME, "snapshot_id": "0" * 32, "authority": PRIVATE.public().fingerprint,
    "content_type": "image/png", "sealed_at_utc": 1.0, "metadata": {"camera_id": "c", "seen_at_utc": 2.0},
}  # fmt: skip
VALID_SEALED = seal(b"\x89PNG\r\n\x1a\n" + b"x" * 40, HEADER, PRIVATE.public())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _accepted(call) -> bool:
    """True if ``call`` accepts its input; a refusal must be a ``VaultError`` (anything else fails the test)."""
    try:
        call()
    except VaultError:
        return False
    return True


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_sealed_header(header: dict) -> bool:
    metadata = header.get("metadata")
    return (
        header.get("format") == SEALED_FORMAT
        and header.get("suite") == SUITE_NAME
        and isinstance(header.get("snapshot_id"), str)
        and SNAPSHOT_ID.match(header["snapshot_id"]) is not None
        and isinstance(header.get("authority"), str)
        and isinstance(metadata, dict)
        and isinstance(metadata.get("camera_id"), str)
        and _is_number(metadata.get("seen_at_utc"))
    )


def test_the_valid_sealed_file_is_accepted_and_decrypts():
    sealed = parse_sealed(VALID_SEALED, "valid")
    assert sealed.header == HEADER and unseal(sealed, PRIVATE, "valid").startswith(b"\x89PNG")


@FUZZ
@given(st.binary(max_size=400))
def test_sealed_parser_on_random_bytes(data):
    if not data.startswith(b"SEALSHT1"):
        assert not _accepted(lambda: parse_sealed(data, "fuzz"))
    spliced = VALID_SEALED[:12] + data  # the real magic and header length, then garbage
    if _accepted(lambda: parse_sealed(spliced, "fuzz")):
        sealed = parse_sealed(spliced, "fuzz")
        assert _valid_sealed_header(sealed.header)
        with pytest.raises(VaultError):
            unseal(sealed, PRIVATE, "fuzz")


@FUZZ
@given(st.integers(0, len(VALID_SEALED) - 1), st.integers(1, 255), st.integers(0, len(VALID_SEALED) - 1))
def test_sealed_file_with_a_flipped_byte_or_truncated_never_decrypts(position, flip, cut):
    damaged = bytearray(VALID_SEALED)
    damaged[position] ^= flip
    for data in (bytes(damaged), VALID_SEALED[:cut]):
        try:
            sealed = parse_sealed(data, "fuzz")
        except VaultError:
            continue
        with pytest.raises(VaultError):
            unseal(sealed, PRIVATE, "fuzz")


@FUZZ
@given(st.dictionaries(st.sampled_from(["format", "suite", "snapshot_id", "authority", "metadata", "x"]), json_values))
def test_sealed_parser_accepts_exactly_the_valid_headers(fields):
    header = dict(HEADER) | fields
    data = json.dumps(header).encode()
    accepted = _accepted(lambda: parse_sealed(b"SEALSHT1" + len(data).to_bytes(4, "big") + data + b"\0" * 48, "fuzz"))
    assert accepted == _valid_sealed_header(header)


VALID_ENTRY = make_entry(1, "vault-created", "a", "operator", {"k": 1}, "0" * 64, PRIVATE.signing)


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_audit_entry_parser_on_random_text(text):
    if _accepted(lambda: parse_entry(text)):
        entry = parse_entry(text)
        assert parse_entry(entry.text()) == entry  # whatever is accepted round-trips exactly
    assert parse_entry(VALID_ENTRY.text()) == VALID_ENTRY


@FUZZ
@given(st.dictionaries(st.sampled_from(["seq", "event", "time_utc", "actor", "signer", "details", "prev", "signature"]), json_values))
def test_audit_chain_refuses_every_forged_first_entry(fields):
    base = {"seq": 1, "event": "vault-created", "time_utc": 1.0, "actor": "a", "signer": "operator", "details": {}, "prev": "0" * 64, "signature": "A" * 86 + "=="}
    state, problem = verify_chain([(1, json.dumps(base | fields))])
    assert problem is not None and state.count == 0


@FUZZ
@given(st.sampled_from(["seq", "event", "time_utc", "actor", "signer", "details", "prev"]), json_values)
def test_any_change_to_a_signed_entry_is_refused(name, value):
    vault_created = make_entry(1, "vault-created", "a", "operator", CREATED_DETAILS, "0" * 64, OPERATOR)
    assert verify_chain([(1, vault_created.text())]) [1] is None
    body = json.loads(vault_created.text())
    if body[name] == value:
        return
    state, problem = verify_chain([(1, json.dumps(body | {name: value}))])
    assert problem is not None and state.count == 0


@FUZZ
@given(st.binary(max_size=300), st.dictionaries(st.sampled_from(["format", "authority_fingerprint", "index", "threshold", "holders", "protection", "share", "signature", "scrypt", "nonce", "ciphertext"]), json_values))
def test_share_parser_and_reconstruction_refuse_fuzzed_shares(data, fields):
    assert not _accepted(lambda: parse_share(data, "fuzz", "pass"))
    body = {"format": "sealshot-key-share-v1", "authority_fingerprint": "f" * 32, "index": 1, "threshold": 2, "holders": 3, "protection": "none"}
    body |= fields
    if _accepted(lambda: parse_share(json.dumps(body).encode(), "fuzz", "pass")):
        share = parse_share(json.dumps(body).encode(), "fuzz", "pass")
        assert (share.index, share.threshold, share.holders) == (body["index"], body["threshold"], body["holders"])
        with pytest.raises(VaultError):  # no fuzzed share is signed by the authority
            reconstruct([parse_share(json.dumps(body).encode(), "fuzz", "pass")], PRIVATE.public())


VALID_CONFIG = {"format": "sealshot-vault-v1", "created_utc": 1.0, "retention_days": 30.0,
                "authority": PRIVATE.public().to_json(), "operator_public": public_key_b64(OPERATOR)}  # fmt: skip


@FUZZ
@given(st.dictionaries(st.sampled_from(["format", "created_utc", "retention_days", "authority", "operator_public"]), json_values))
def test_vault_config_parser_accepts_exactly_the_valid_configs(fields):
    config = VALID_CONFIG | fields
    expected = (
        config["format"] == VALID_CONFIG["format"]
        and _is_number(config["created_utc"])
        and _is_number(config["retention_days"])
        and 0 < config["retention_days"] < 1e6
        and config["authority"] == VALID_CONFIG["authority"]
        and config["operator_public"] == VALID_CONFIG["operator_public"]
    )
    assert _accepted(lambda: VaultConfig.from_json(config, "fuzz")) == expected


@FUZZ
@given(st.lists(st.none() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=8), min_size=0, max_size=14))
def test_index_row_parser_accepts_exactly_well_typed_rows(values):
    row = dict(zip(INDEX_COLUMNS, values))
    expected = (
        len(values) == len(INDEX_COLUMNS)
        and all(isinstance(row[n], str) for n in ("snapshot_id", "camera_id", "quality_method", "file_name", "sha256"))
        and all(isinstance(row[n], int) for n in ("track_id", "frame_index", "size"))
        and all(_is_number(row[n]) and math.isfinite(row[n]) for n in ("seen_at_utc", "first_seen_utc", "last_seen_utc", "sealed_at_utc"))
        and (row["quality"] is None or (_is_number(row["quality"]) and math.isfinite(row["quality"])))
        and "/" not in row["file_name"] and not row["file_name"].startswith(".")
    )
    assert _accepted(lambda: IndexRow.from_sql(tuple(values))) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_a_garbage_index_file_is_a_clean_error(tmp_path_factory, sealed_vault_template, data):
    vault = tmp_path_factory.mktemp("garbage")
    (vault / "snapshots").mkdir()
    (vault / "vault.json").write_bytes(sealed_vault_template)
    (vault / "index.sqlite").write_bytes(data)
    assert not _accepted(lambda: Vault.open(vault).close())
    assert not verify_vault(vault).ok


@pytest.fixture(scope="module")
def sealed_vault_template(tmp_path_factory):
    from sealshot.vault.store import Vault as V

    folder = tmp_path_factory.mktemp("template")
    with V.create(folder / "v", PRIVATE.public(), 5, "t"):
        pass
    return (folder / "v" / "vault.json").read_bytes()


def test_index_with_wrong_column_types_is_a_clean_error(sealed_vault):
    vault, ids = sealed_vault
    connection = sqlite3.connect(vault / "index.sqlite", isolation_level=None)
    connection.execute("UPDATE snapshots SET seen_at_utc = 'yesterday', size = x'00' WHERE snapshot_id = ?", (ids[0],))
    connection.close()
    report = verify_vault(vault)
    assert report.problems == [f"index row {ids[0]}: size is not an integer"]
