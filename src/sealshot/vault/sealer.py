"""``CameraSealer``: what ``sealshot run`` uses to seal each snapshot, with only the public key.

Order of one seal, chosen so that a kill -9 at any point leaves a vault that verifies:

1. encode the crop as PNG and HPKE-encrypt it, all in memory;
2. under the vault's writer lock, write ``snapshots/ID.seal`` atomically (temp file, fsync, rename, fsync dir);
3. in one SQLite transaction, insert the index row and append the camera-signed ``sealed`` entry.

A crash inside 2 leaves a ``.tmp-*`` file (ciphertext only); a crash between 2 and 3 leaves a sealed
file with no record. The next ``CameraSealer.open`` of that camera removes the former and adopts the
latter (index row plus a ``sealed`` entry marked ``recovered``), so nobody sealed is lost;
``vault verify`` reports both as notes, not failures, until then.
"""

from __future__ import annotations

import getpass
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import CAMERA_ID, verify_chain
from sealshot.vault.encoding import TEMP_PREFIX, atomic_write, plain, shred
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPublicKey, load_or_create_signing_key, public_key_b64
from sealshot.vault.sealed import SEALED_FORMAT, SEALED_SUFFIX, SUITE_NAME, encode_png, parse_sealed, seal
from sealshot.vault.store import IndexRow, Vault


def current_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def index_row(snapshot_id: str, metadata: dict[str, Any], sealed_at: float, file_name: str, digest: str, size: int) -> IndexRow:
    def number(name: str, default: float = 0.0) -> float:
        value = metadata.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default

    quality = metadata.get("quality")
    return IndexRow(
        snapshot_id=snapshot_id,
        camera_id=str(metadata.get("camera_id")),
        track_id=int(number("track_id")),
        seen_at_utc=number("seen_at_utc"),
        first_seen_utc=number("first_seen_utc", number("seen_at_utc")),
        last_seen_utc=number("last_seen_utc", number("seen_at_utc")),
        sealed_at_utc=sealed_at,
        quality=float(quality) if isinstance(quality, (int, float)) and not isinstance(quality, bool) else None,
        quality_method=str(metadata.get("quality_method", "")),
        frame_index=int(number("frame_index")),
        file_name=file_name,
        sha256=digest,
        size=size,
    )


def sealed_details(row: IndexRow, recovered: bool = False) -> dict[str, Any]:
    details: dict[str, Any] = {
        "snapshot_id": row.snapshot_id,
        "camera_id": row.camera_id,
        "seen_at_utc": row.seen_at_utc,
        "file_sha256": row.sha256,
        "size": row.size,
    }
    if recovered:
        details["recovered"] = True
    return details


class CameraSealer:
    """Seals snapshots of one camera into one vault. Holds no private authority key, ever."""

    def __init__(self, vault: Vault, camera_id: str, camera_key: ed25519.Ed25519PrivateKey, actor: str) -> None:
        self.vault = vault
        self.camera_id = camera_id
        self._camera_key = camera_key
        self.actor = actor
        self.sealed_count = 0
        self.recovered_count = 0

    @classmethod
    def open(
        cls,
        vault_dir: Path,
        recipient: Path,
        camera_id: str,
        camera_key: Path | None = None,
        retention_days: float | None = None,
    ) -> "CameraSealer":
        """Open (or create) ``vault_dir`` for sealing to the authority public key in ``recipient``.

        The camera's Ed25519 key is read from ``camera_key`` (created there if missing), or kept in
        the vault's ``cameras/`` folder. Its public half is registered in the audit log once.
        """
        if not CAMERA_ID.match(camera_id):
            raise VaultError(f"camera id {camera_id!r} must be 1-64 letters, digits, '.', '_' or '-'")
        authority = AuthorityPublicKey.load(Path(recipient))
        actor = current_actor()
        vault, _ = Vault.open_or_create(Path(vault_dir), authority, retention_days, actor)
        try:
            key_path = Path(camera_key) if camera_key is not None else vault.cameras_dir / f"{camera_id}.key"
            key = load_or_create_signing_key(key_path, f"camera key of {camera_id!r}")
            sealer = cls(vault, camera_id, key, actor)
            sealer._register_and_recover()
        except BaseException:
            vault.close()
            raise
        return sealer

    def _register_and_recover(self) -> None:
        with self.vault.lock():
            state, problem = verify_chain(self.vault.audit_texts())
            if problem is not None:
                raise VaultError(f"vault {self.vault.root} fails verification, refusing to add to it: {problem}")
            public = public_key_b64(self._camera_key)
            registered = state.cameras.get(self.camera_id)
            if registered is None or public_key_b64(registered) != public:
                self.vault.append(
                    "camera-registered",
                    self.actor,
                    f"camera:{self.camera_id}",
                    {"camera_id": self.camera_id, "public_key": public, "replaces_key": registered is not None},
                    self._camera_key,
                )
            self._recover(set(state.sealed), state.purged)

    def _recover(self, recorded: set[str], purged: set[str]) -> None:
        """Clean what a crash left (we hold the writer lock, so no other writer is mid-write)."""
        directory = self.vault.snapshots_dir
        for path in sorted(directory.iterdir()):
            if path.name.startswith(TEMP_PREFIX):
                shred(path)
                continue
            if not path.name.endswith(SEALED_SUFFIX):
                continue
            snapshot_id = path.name.removesuffix(SEALED_SUFFIX)
            if snapshot_id in recorded:
                if snapshot_id in purged:
                    shred(path)  # a purge was interrupted after recording it
                continue
            try:
                data = path.read_bytes()
                sealed = parse_sealed(data, str(path))
            except VaultError:
                continue  # not ours to judge; verify reports it
            if sealed.snapshot_id != snapshot_id or sealed.metadata.get("camera_id") != self.camera_id:
                continue
            if sealed.header.get("authority") != self.vault.authority.fingerprint:
                continue
            row = index_row(snapshot_id, sealed.metadata, float(sealed.header.get("sealed_at_utc", 0.0) or 0.0),
                            path.name, hashlib.sha256(data).hexdigest(), len(data))
            self._record(row, recovered=True)
            self.recovered_count += 1

    def _record(self, row: IndexRow, recovered: bool = False) -> None:
        placeholders = ", ".join("?" for _ in row.to_sql())
        self.vault.append(
            "sealed",
            self.actor,
            f"camera:{self.camera_id}",
            sealed_details(row, recovered),
            self._camera_key,
            also=lambda connection: connection.execute(f"INSERT INTO snapshots VALUES ({placeholders})", row.to_sql()),
        )

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any]) -> str:
        """Seal one RGB crop with its metadata (no pixels: ids, times, quality, box); when this returns
        it is durably in the vault, indexed and logged."""
        if metadata.get("camera_id") != self.camera_id:
            raise VaultError(f"snapshot of camera {metadata.get('camera_id')!r} given to the sealer of camera {self.camera_id!r}")
        metadata = plain(dict(metadata))
        snapshot_id = uuid.uuid4().hex
        sealed_at = round(time.time(), 6)
        header = {
            "format": SEALED_FORMAT,
            "suite": SUITE_NAME,
            "snapshot_id": snapshot_id,
            "authority": self.vault.authority.fingerprint,
            "content_type": "image/png",
            "sealed_at_utc": sealed_at,
            "metadata": metadata,
        }
        blob = seal(encode_png(crop), header, self.vault.authority)
        file_name = f"{snapshot_id}{SEALED_SUFFIX}"
        row = index_row(snapshot_id, metadata, sealed_at, file_name, hashlib.sha256(blob).hexdigest(), len(blob))
        with self.vault.lock():
            atomic_write(self.vault.snapshots_dir / file_name, blob, mode=0o600)
            self._record(row)
        self.sealed_count += 1
        return snapshot_id

    def close(self) -> None:
        self.vault.close()

    def __enter__(self) -> "CameraSealer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
