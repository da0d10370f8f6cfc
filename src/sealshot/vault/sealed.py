"""The sealed snapshot file: a plaintext header of metadata (no pixels) and an HPKE ciphertext.

Layout: ``MAGIC`` (8 bytes) | header length (4 bytes, big endian) | header (canonical JSON) | HPKE ciphertext.
The ciphertext is RFC 9180 single-shot base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-256-GCM, as ``cryptography``'s ``hpke.Suite`` returns it (encapsulated key, then AEAD output).
Its plaintext is the PNG crop, or, when the header's ``content_type`` is ``CLIP_CONTENT_TYPE``, the PNG
and a short clip of the person's region (``sealshot.vault.clip``).
That API has no separate AAD argument, so the header (which holds the metadata) is bound through
HPKE's ``info``, which RFC 9180 section 8.1 names for exactly this in single-shot use: it enters the
key schedule, so any edited byte of the header makes decryption fail.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from sealshot.vault.clip import CLIP_CONTENT_TYPE, ClipFrame, unpack_snapshot
from sealshot.vault.encoding import canonical_json, load_json_object
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPrivateKey, AuthorityPublicKey

MAGIC = b"SEALSHT1"
SEALED_FORMAT = "sealshot-sealed-v1"
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO_PREFIX = b"sealshot sealed snapshot v1\0"
MAX_HEADER = 64 * 1024
MIN_CIPHERTEXT = 32 + 16  # encapsulated X25519 key + GCM tag
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{32}$")
SEALED_SUFFIX = ".seal"


@dataclass(frozen=True)
class SealedFile:
    header: dict[str, Any]
    header_bytes: bytes
    ciphertext: bytes

    @property
    def snapshot_id(self) -> str:
        return self.header["snapshot_id"]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.header["metadata"]


def encode_png(crop: np.ndarray) -> bytes:
    """PNG-encode an RGB uint8 crop in memory; nothing touches the disk."""
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or crop.size == 0:
        raise VaultError(f"a snapshot crop must be a non-empty RGB uint8 array, got {getattr(crop, 'shape', None)}")
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR))
    if not ok:
        raise VaultError("PNG encoding of the crop failed")
    return buffer.tobytes()


def seal(plaintext: bytes, header: dict[str, Any], authority: AuthorityPublicKey) -> bytes:
    """The sealed file of ``plaintext`` (the PNG, or ``clip.pack_snapshot``'s container) under ``header``."""
    header_bytes = canonical_json(header)
    try:
        ciphertext = SUITE.encrypt(plaintext, authority.encryption, info=INFO_PREFIX + header_bytes)
    except ValueError as error:  # e.g. a low-order X25519 point: no shared secret can be derived
        raise VaultError(f"authority public key {authority.fingerprint} is not a usable X25519 key") from error
    return MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes + ciphertext


def parse_sealed(data: bytes, source: str) -> SealedFile:
    """Parse a sealed file without decrypting it; any malformation is a ``VaultError`` naming ``source``."""
    what = f"sealed file {source}"
    if len(data) < len(MAGIC) + 4 or data[: len(MAGIC)] != MAGIC:
        raise VaultError(f"{what} is not a sealshot sealed snapshot (bad magic)")
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if length > MAX_HEADER or start + length + MIN_CIPHERTEXT > len(data):
        raise VaultError(f"{what} is truncated or has a bad header length")
    header_bytes = data[start : start + length]
    header = load_json_object(header_bytes, f"{what} header")
    if header.get("format") != SEALED_FORMAT:
        raise VaultError(f"{what}: unknown format {header.get('format')!r}")
    if header.get("suite") != SUITE_NAME:
        raise VaultError(f"{what}: unsupported cipher suite {header.get('suite')!r}")
    snapshot_id = header.get("snapshot_id")
    if not isinstance(snapshot_id, str) or not SNAPSHOT_ID.match(snapshot_id):
        raise VaultError(f"{what}: malformed snapshot id")
    if not isinstance(header.get("authority"), str):
        raise VaultError(f"{what}: missing authority fingerprint")
    metadata = header.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("camera_id"), str):
        raise VaultError(f"{what}: missing metadata")
    seen = metadata.get("seen_at_utc")
    if not isinstance(seen, (int, float)) or isinstance(seen, bool):
        raise VaultError(f"{what}: metadata has no seen_at_utc time")
    return SealedFile(header, header_bytes, data[start + length :])


def unseal(sealed: SealedFile, private: AuthorityPrivateKey, source: str) -> bytes:
    """Decrypt to the PNG bytes (a clip, if any, left out), or raise if the ciphertext, the header or the key is wrong."""
    png, _ = unseal_with_clip(sealed, private, source)
    return png


def unseal_with_clip(sealed: SealedFile, private: AuthorityPrivateKey, source: str) -> tuple[bytes, tuple[ClipFrame, ...]]:
    """Decrypt to the PNG bytes and the clip's frames (none for a snapshot sealed without a clip)."""
    try:
        plaintext = SUITE.decrypt(sealed.ciphertext, private.encryption, info=INFO_PREFIX + sealed.header_bytes)
    except (InvalidTag, ValueError) as error:
        raise VaultError(
            f"sealed file {source}: decryption failed; the file or its metadata was altered, or the key is wrong"
        ) from error
    png, clip = unpack_snapshot(plaintext, source) if sealed.header.get("content_type") == CLIP_CONTENT_TYPE else (plaintext, ())
    if not png.startswith(PNG_SIGNATURE):
        raise VaultError(f"sealed file {source}: decrypted content is not a PNG image")
    return png, clip
