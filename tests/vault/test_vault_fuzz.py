"""Fuzzing the parsers of everything a vault reads from disk: a clean ``VaultError``, never a traceback."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealshot.vault import VaultError
from sealshot.vault.audit import parse_entry, verify_chain
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.sealed import SEALED_FORMAT, SUITE_NAME, parse_sealed, seal, unseal
from sealshot.vault.shares import parse_share
from sealshot.vault.store import IndexRow, Vault, VaultConfig
from sealshot.vault.verify import verify_vault

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PRIVATE = AuthorityPrivateKey.generate()
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


def _clean(call):
    try:
        call()
    except VaultError:
        pass


@FUZZ
@given(st.binary(max_size=400))
def test_sealed_parser_on_random_bytes(data):
    _clean(lambda: parse_sealed(data, "fuzz"))
    _clean(lambda: parse_sealed(VALID_SEALED[:12] + data, "fuzz"))


@FUZZ
@given(st.integers(0, len(VALID_SEALED) - 1), st.integers(1, 255), st.integers(0, len(VALID_SEALED)))
def test_sealed_file_with_a_flipped_byte_or_truncated_never_decrypts(position, flip, cut):
    damaged = bytearray(VALID_SEALED)
    damaged[position] ^= flip
    for data in (bytes(damaged), VALID_SEALED[:cut] if cut < len(VALID_SEALED) else bytes(damaged)):
        try:
            sealed = parse_sealed(data, "fuzz")
        except VaultError:
            continue
        with pytest.raises(VaultError):
            unseal(sealed, PRIVATE, "fuzz")


@FUZZ
@given(st.dictionaries(st.sampled_from(["format", "suite", "snapshot_id", "authority", "metadata", "x"]), json_values))
def test_sealed_parser_on_random_headers(fields):
    header = json.dumps(dict(HEADER) | fields).encode()
    _clean(lambda: parse_sealed(b"SEALSHT1" + len(header).to_bytes(4, "big") + header + b"\0" * 48, "fuzz"))


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_audit_entry_parser_on_random_text(text):
    _clean(lambda: parse_entry(text))


@FUZZ
@given(st.dictionaries(st.sampled_from(["seq", "event", "time_utc", "actor", "signer", "details", "prev", "signature"]), json_values))
def test_audit_chain_on_random_entries(fields):
    base = {"seq": 1, "event": "vault-created", "time_utc": 1.0, "actor": "a", "signer": "operator", "details": {}, "prev": "0" * 64, "signature": "A" * 86 + "=="}
    state, problem = verify_chain([(1, json.dumps(base | fields))])
    assert problem is not None and state.count == 0


@FUZZ
@given(st.binary(max_size=300), st.dictionaries(st.sampled_from(["format", "authority_fingerprint", "index", "threshold", "holders", "protection", "share", "signature", "scrypt", "nonce", "ciphertext"]), json_values))
def test_share_parser(data, fields):
    _clean(lambda: parse_share(data, "fuzz", "pass"))
    body = {"format": "sealshot-key-share-v1", "authority_fingerprint": "f" * 32, "index": 1, "threshold": 2, "holders": 3, "protection": "none"}
    _clean(lambda: parse_share(json.dumps(body | fields).encode(), "fuzz", "pass"))


@FUZZ
@given(st.dictionaries(st.sampled_from(["format", "created_utc", "retention_days", "authority", "operator_public"]), json_values))
def test_vault_config_parser(fields):
    _clean(lambda: VaultConfig.from_json({"format": "sealshot-vault-v1"} | fields, "fuzz"))


@FUZZ
@given(st.lists(st.none() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=8), min_size=0, max_size=14))
def test_index_row_parser(values):
    _clean(lambda: IndexRow.from_sql(tuple(values)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_a_garbage_index_file_is_a_clean_error(tmp_path_factory, sealed_vault_template, data):
    vault = tmp_path_factory.mktemp("garbage")
    (vault / "snapshots").mkdir()
    (vault / "vault.json").write_bytes(sealed_vault_template)
    (vault / "index.sqlite").write_bytes(data)
    _clean(lambda: Vault.open(vault).close())
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
