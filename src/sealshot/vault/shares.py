"""k-of-n holders: Shamir secret sharing of the authority key (pycryptodome), optional passphrases.

pycryptodome's ``Shamir`` shares 16-byte secrets over GF(2^128), so the 32-byte X25519
key is split as two halves with the same x-coordinates (share ``i`` holds both y values).
Each share file carries the authority fingerprint and an Ed25519 signature by the
authority's signing key over its content, so a share from another key, an edited share
or a share with a forged threshold is refused by name before any reconstruction; and the
rebuilt key is checked against the public key, so no silently wrong key is ever used.
A passphrase-protected share is encrypted with AES-256-GCM under a scrypt-derived key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sealshot.vault.encoding import atomic_write, b64decode, b64encode, canonical_json, load_json_object
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPrivateKey, AuthorityPublicKey

SHARE_FORMAT = "sealshot-key-share-v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_HOLDERS = 255


@dataclass(frozen=True)
class Share:
    """One holder's share, decrypted: x-coordinate ``index`` and the two 16-byte y values."""

    authority_fingerprint: str
    index: int
    threshold: int
    holders: int
    value: bytes  # 32 bytes: y of the first half, then y of the second half
    source: str
    signature: bytes = b""  # the authority's Ed25519 signature over signed_part(), checked by reconstruct

    def signed_part(self) -> bytes:
        return canonical_json(
            {
                "format": SHARE_FORMAT,
                "authority_fingerprint": self.authority_fingerprint,
                "index": self.index,
                "threshold": self.threshold,
                "holders": self.holders,
                "share": b64encode(self.value),
            }
        )


def _header(fingerprint: str, index: int, threshold: int, holders: int) -> dict[str, Any]:
    return {"format": SHARE_FORMAT, "authority_fingerprint": fingerprint, "index": index, "threshold": threshold, "holders": holders}


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def split_key(
    private: AuthorityPrivateKey, holders: int, threshold: int, passphrases: Sequence[str | None] | None = None
) -> tuple[AuthorityPublicKey, list[bytes]]:
    """Split ``private`` into ``holders`` share files (as bytes), any ``threshold`` of which rebuild it."""
    if not 2 <= holders <= MAX_HOLDERS:
        raise VaultError(f"holders must be between 2 and {MAX_HOLDERS}, got {holders}")
    if not 1 <= threshold <= holders:
        raise VaultError(f"threshold must be between 1 and the number of holders ({holders}), got {threshold}")
    if passphrases is not None and len(passphrases) != holders:
        raise VaultError(f"{len(passphrases)} passphrases given for {holders} holders")
    public = private.public(holders=holders, threshold=threshold)
    raw = private.raw
    if threshold == 1:
        # Shamir with k=1 is a copy of the secret; pycryptodome needs k >= 2, and the result is the same.
        halves = [[(i, raw[:16]) for i in range(1, holders + 1)], [(i, raw[16:]) for i in range(1, holders + 1)]]
    else:
        halves = [Shamir.split(threshold, holders, raw[:16]), Shamir.split(threshold, holders, raw[16:])]
    signing = private.signing
    files = []
    for position in range(holders):
        (index, low), (index_high, high) = halves[0][position], halves[1][position]
        assert index == index_high == position + 1
        share = Share(public.fingerprint, index, threshold, holders, low + high, source="")
        header = _header(public.fingerprint, index, threshold, holders)
        signature = b64encode(signing.sign(share.signed_part()))
        passphrase = passphrases[position] if passphrases is not None else None
        if passphrase:
            salt, nonce = os.urandom(16), os.urandom(12)
            key = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            secret = canonical_json({"share": b64encode(share.value), "signature": signature})
            body = header | {
                "protection": "scrypt+aes-256-gcm",
                "scrypt": {"salt": b64encode(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
                "nonce": b64encode(nonce),
                "ciphertext": b64encode(AESGCM(key).encrypt(nonce, secret, canonical_json(header))),
            }
        else:
            body = header | {"protection": "none", "share": b64encode(share.value), "signature": signature}
        files.append(canonical_json(body) + b"\n")
    return public, files


def write_shares(directory: Path, files: Sequence[bytes]) -> list[Path]:
    paths = []
    for position, data in enumerate(files, start=1):
        path = directory / f"share-{position}-of-{len(files)}.json"
        if path.exists():
            raise VaultError(f"{path} already exists; refusing to overwrite a key share")
        atomic_write(path, data, mode=0o600)
        paths.append(path)
    return paths


def share_needs_passphrase(data: bytes, source: str) -> bool:
    return load_json_object(data, f"share file {source}").get("protection") != "none"


def _positive_int(body: dict[str, Any], name: str, what: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_HOLDERS:
        raise VaultError(f"{what}: {name} must be an integer between 1 and {MAX_HOLDERS}")
    return value


def parse_share(data: bytes, source: str, passphrase: str | None = None) -> Share:
    """Read one share file (decrypting it with ``passphrase`` if protected), with its signature.

    Every malformation is a ``VaultError`` naming ``source``; the signature is checked later,
    against the vault's authority key, by :func:`reconstruct`.
    """
    what = f"share file {source}"
    body = load_json_object(data, what)
    if body.get("format") != SHARE_FORMAT:
        raise VaultError(f"{what} is not a sealshot key share (format {body.get('format')!r})")
    fingerprint = body.get("authority_fingerprint")
    if not isinstance(fingerprint, str) or len(fingerprint) != 32:
        raise VaultError(f"{what}: missing or malformed authority fingerprint")
    index, threshold, holders = (_positive_int(body, name, what) for name in ("index", "threshold", "holders"))
    if not (index <= holders and threshold <= holders):
        raise VaultError(f"{what}: inconsistent index/threshold/holders ({index}, {threshold}, {holders})")
    header = _header(fingerprint, index, threshold, holders)
    protection = body.get("protection")
    if protection == "none":
        value_text, signature_text = body.get("share"), body.get("signature")
    elif protection == "scrypt+aes-256-gcm":
        if not passphrase:
            raise VaultError(f"{what} is protected by a passphrase; none was given")
        params = body.get("scrypt")
        if not isinstance(params, dict):
            raise VaultError(f"{what}: missing scrypt parameters")
        salt = b64decode(params.get("salt"), f"{what}: scrypt salt", 16)
        n, r, p = params.get("n"), params.get("r"), params.get("p")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)) or not (
            2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16
        ):
            raise VaultError(f"{what}: scrypt parameters out of range")
        nonce = b64decode(body.get("nonce"), f"{what}: nonce", 12)
        ciphertext = b64decode(body.get("ciphertext"), f"{what}: ciphertext")
        try:
            secret = AESGCM(_scrypt(passphrase, salt, n, r, p)).decrypt(nonce, ciphertext, canonical_json(header))
        except InvalidTag as error:
            raise VaultError(f"{what}: wrong passphrase, or the file was altered") from error
        inner = load_json_object(secret, what)
        value_text, signature_text = inner.get("share"), inner.get("signature")
    else:
        raise VaultError(f"{what}: unknown protection {protection!r}")
    value = b64decode(value_text, f"{what}: share", 32)
    signature = b64decode(signature_text, f"{what}: signature", 64)
    return Share(fingerprint, index, threshold, holders, value, source, signature)


def verify_share(share: Share, authority: AuthorityPublicKey) -> None:
    """Refuse a share of another key, or one not signed by ``authority`` (edited or forged), by name."""
    if share.authority_fingerprint != authority.fingerprint:
        raise VaultError(
            f"share file {share.source} belongs to authority key {share.authority_fingerprint}, "
            f"but this vault is sealed for {authority.fingerprint}"
        )
    try:
        authority.signing.verify(share.signature, share.signed_part())
    except InvalidSignature as error:
        raise VaultError(
            f"share file {share.source} is not signed by this vault's authority key: it was altered or forged"
        ) from error


def reconstruct(shares: Sequence[Share], authority: AuthorityPublicKey) -> AuthorityPrivateKey:
    """Rebuild the authority private key from at least ``threshold`` verified shares, or refuse clearly."""
    if not shares:
        raise VaultError("no key shares given")
    for share in shares:
        verify_share(share, authority)
    thresholds = {share.threshold for share in shares}
    if len(thresholds) != 1 or (authority.threshold is not None and thresholds != {authority.threshold}):
        raise VaultError("the shares disagree about the threshold")
    threshold = thresholds.pop()
    by_index: dict[int, Share] = {}
    for share in shares:
        if share.index in by_index:
            raise VaultError(f"share files {by_index[share.index].source} and {share.source} are the same share (#{share.index})")
        by_index[share.index] = share
    if len(by_index) < threshold:
        raise VaultError(f"{len(by_index)} distinct share(s) given, but this key needs {threshold} of {shares[0].holders}")
    chosen = sorted(by_index.values(), key=lambda s: s.index)[:threshold]
    if threshold == 1:
        raw = chosen[0].value
    else:
        low = Shamir.combine([(s.index, s.value[:16]) for s in chosen])
        high = Shamir.combine([(s.index, s.value[16:]) for s in chosen])
        raw = low + high
    private = AuthorityPrivateKey.from_raw(raw)
    if not authority.matches(private):
        raise VaultError("the shares do not rebuild this vault's authority key (a share is wrong or missing)")
    return private
