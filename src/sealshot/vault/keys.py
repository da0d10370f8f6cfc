"""Authority keys: the X25519 key snapshots are sealed to, and the Ed25519 key derived from it.

The authority's Ed25519 signing key is derived deterministically (HKDF-SHA256) from the
X25519 private key. So whoever can rebuild the private key from k shares can also sign
the audit log as the authority: an ``opened`` entry signed by that key proves that a
quorum of holders took part. Cameras only ever see the two public keys.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sealshot.vault.encoding import atomic_write, b64decode, b64encode, canonical_json, read_json_file
from sealshot.vault.errors import VaultError

PUBLIC_FORMAT = "sealshot-authority-public-v1"
PRIVATE_FORMAT = "sealshot-authority-private-v1"
_SIGNING_INFO = b"sealshot authority ed25519 signing key v1"


def raw_public(key: x25519.X25519PublicKey | ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private(key: x25519.X25519PrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def fingerprint_of(encryption_raw: bytes, signing_raw: bytes) -> str:
    return hashlib.sha256(b"sealshot-authority-v1\0" + encryption_raw + signing_raw).hexdigest()[:32]


@dataclass(frozen=True)
class AuthorityPublicKey:
    """What cameras and the vault know of the authority: two public keys and how they are held."""

    encryption: x25519.X25519PublicKey
    signing: ed25519.Ed25519PublicKey
    holders: int | None = None
    threshold: int | None = None
    created_utc: float = 0.0

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(raw_public(self.encryption), raw_public(self.signing))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PUBLIC_FORMAT,
            "x25519_public": b64encode(raw_public(self.encryption)),
            "ed25519_public": b64encode(raw_public(self.signing)),
            "fingerprint": self.fingerprint,
            "holders": self.holders,
            "threshold": self.threshold,
            "created_utc": self.created_utc,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], what: str) -> "AuthorityPublicKey":
        if data.get("format") != PUBLIC_FORMAT:
            raise VaultError(f"{what} is not a sealshot authority public key (format {data.get('format')!r})")
        encryption = x25519.X25519PublicKey.from_public_bytes(b64decode(data.get("x25519_public"), f"{what}: x25519_public", 32))
        signing = ed25519.Ed25519PublicKey.from_public_bytes(b64decode(data.get("ed25519_public"), f"{what}: ed25519_public", 32))
        holders, threshold, created = data.get("holders"), data.get("threshold"), data.get("created_utc", 0.0)
        for name, value in (("holders", holders), ("threshold", threshold)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise VaultError(f"{what}: {name} must be a positive integer")
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            raise VaultError(f"{what}: created_utc must be a number")
        key = cls(encryption, signing, holders, threshold, float(created))
        if data.get("fingerprint") != key.fingerprint:
            raise VaultError(f"{what}: fingerprint does not match its keys (file edited or corrupt)")
        return key

    def save(self, path: Path) -> None:
        atomic_write(path, canonical_json(self.to_json()) + b"\n", mode=0o644)

    def matches(self, private: "AuthorityPrivateKey") -> bool:
        return raw_public(private.encryption.public_key()) == raw_public(self.encryption) and raw_public(
            private.signing.public_key()
        ) == raw_public(self.signing)


@dataclass(frozen=True)
class AuthorityPrivateKey:
    """The authority's secret; in warrant mode it exists only in memory, rebuilt from shares."""

    encryption: x25519.X25519PrivateKey

    @classmethod
    def generate(cls) -> "AuthorityPrivateKey":
        return cls(x25519.X25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> "AuthorityPrivateKey":
        if len(raw) != 32:
            raise VaultError(f"an authority private key has 32 bytes, got {len(raw)}")
        return cls(x25519.X25519PrivateKey.from_private_bytes(raw))

    @property
    def raw(self) -> bytes:
        return raw_private(self.encryption)

    @property
    def signing(self) -> ed25519.Ed25519PrivateKey:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SIGNING_INFO).derive(self.raw)
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)

    def public(self, holders: int | None = None, threshold: int | None = None, created_utc: float | None = None) -> AuthorityPublicKey:
        return AuthorityPublicKey(
            self.encryption.public_key(),
            self.signing.public_key(),
            holders,
            threshold,
            time.time() if created_utc is None else created_utc,
        )

    def save(self, path: Path) -> None:
        """Single-key mode (``sealshot keygen``): the whole private key in one 0600 file."""
        public = self.public()
        data = {"format": PRIVATE_FORMAT, "x25519_private": b64encode(self.raw), "fingerprint": public.fingerprint}
        atomic_write(path, canonical_json(data) + b"\n", mode=0o600)

    @classmethod
    def load(cls, path: Path) -> "AuthorityPrivateKey":
        what = f"authority private key {path}"
        data = read_json_file(path, "authority private key")
        if data.get("format") != PRIVATE_FORMAT:
            raise VaultError(f"{what} is not a sealshot authority private key (format {data.get('format')!r})")
        key = cls.from_raw(b64decode(data.get("x25519_private"), f"{what}: x25519_private", 32))
        if key.public().fingerprint != data.get("fingerprint"):
            raise VaultError(f"{what}: fingerprint does not match the key (file edited or corrupt)")
        return key


def load_signing_key(path: Path, what: str) -> ed25519.Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise VaultError(f"cannot read {what} {path}: {error.strerror}") from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise VaultError(f"{what} {path} is not an unencrypted PEM private key") from error
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise VaultError(f"{what} {path} is not an Ed25519 key")
    return key


def generate_signing_key_pem(key: ed25519.Ed25519PrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM of an Ed25519 key, as the vault stores operator and camera keys."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_key_b64(key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    return b64encode(raw_public(public))


def ed25519_public_from_b64(text: object, what: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(b64decode(text, what, 32))
