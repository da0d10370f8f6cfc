"""``CameraSealer``: what ``sealshot run`` uses to seal each snapshot, with only the public key.

Order of one seal, chosen so that a kill -9 at any point leaves a vault that verifies:

1. encode the crop as PNG and HPKE-encrypt it, all in memory;
2. under the vault's writer lock, check that this camera's key is still the one registered in the log
   (a second instance with another key, or a rotation, makes this instance refuse, loudly), then write
   ``snapshots/ID.seal`` atomically (temp file, fsync, rename, fsync dir);
3. in one database transaction, insert the index row and append the camera-signed ``sealed`` entry.

In S3 (a remote vault) the object is PUT before the lock is taken: a PUT is atomic, so cameras upload
in parallel and only step 3 is serialised; a snapshot that another process recorded meanwhile (a
retried batch task, or a recovery that adopted the upload) is not recorded twice.

A crash inside 2 leaves a ``.tmp-*`` file (ciphertext only); a crash between 2 and 3 leaves a sealed
file with no record. The next ``CameraSealer.open`` of that camera removes the former and adopts the
latter (index row plus a ``sealed`` entry marked ``recovered``), so nobody sealed is lost;
``vault verify`` reports both as notes, not failures, until then.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import CAMERA_ID, AuditEntry, ChainState, checkpoint_json, checkpoint_state, links_intact, rotation_proof_message
from sealshot.vault.clip import CLIP_CONTENT_TYPE, ClipFrameLike, pack_snapshot
from sealshot.vault.encoding import atomic_write, b64encode, canonical_json, make_private_directory, plain
from sealshot.vault.errors import VaultError, VaultUnavailable
from sealshot.vault.keys import public_key_b64
from sealshot.vault.sealed import SEALED_FORMAT, SUITE_NAME, encode_png, seal
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.recipient import load_recipient
from sealshot.vault.retention import expiry_cutoff
from sealshot.vault.objects import sealed_file_name
from sealshot.vault.store import DEFAULTS, IndexRow, Vault, VaultSettings


logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 256  # seals between two saves of a long-running camera's chain checkpoint

SNAPSHOT_ID = re.compile(r"^[0-9a-f]{32}$")


def snapshot_key(*parts: object) -> str:
    """A deterministic snapshot id for what identifies a snapshot (source, chunk, track): sealing it
    twice under the same key seals it once (``CameraSealer.seal(..., snapshot_id=...)``)."""
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


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


@dataclass(frozen=True)
class PreparedSeal:
    """A crop encrypted for the authority, in memory, not yet stored or recorded."""

    snapshot_id: str
    metadata: dict[str, Any]
    sealed_at: float
    blob: bytes


class CameraSealer:
    """Seals snapshots of one camera into one vault. Holds no private authority key, ever."""

    def __init__(
        self, vault: Vault, camera_id: str, camera_key: ed25519.Ed25519PrivateKey, actor: str, chain: ChainState
    ) -> None:
        self.vault = vault
        self.camera_id = camera_id
        self._camera_key = camera_key
        self.actor = actor
        self._chain = chain
        self.recovered_count = 0
        self._seals_since_checkpoint = 0

    @classmethod
    def open(
        cls,
        vault_location: VaultLocationLike,
        recipient: Path,
        camera_id: str,
        camera_key: Path | None = None,
        retention_days: float | None = None,
        *,
        settings: VaultSettings = DEFAULTS,
    ) -> "CameraSealer":
        """Open (or create) the vault at ``vault_location`` (a folder or a PostgreSQL + S3 URL) for sealing to the authority public key in ``recipient``
        (any other file there, the private key above all, is an ``InputError``: see ``load_recipient``).

        The camera's Ed25519 key is read from ``camera_key`` (created there if missing), or kept in
        the vault's ``cameras/`` folder. Its public half is registered in the audit log on the first
        start; a different key later is refused until ``rotate_camera_key`` logs the change.
        """
        if not CAMERA_ID.match(camera_id):
            raise VaultError(f"camera id {camera_id!r} must be 1-64 letters, digits, '.', '_' or '-'")
        authority = load_recipient(Path(recipient))
        actor = current_actor()
        vault, _ = Vault.open_or_create(vault_location, authority, retention_days, actor, settings)
        try:
            with vault.lock():
                key_path = Path(camera_key) if camera_key is not None else vault.camera_key_path(camera_id)
                key = Vault.load_or_create_signing_key(key_path, f"camera key of {camera_id!r}")
                state = writable_chain(vault, camera_id, resume_from=read_checkpoint(vault, camera_id))
                sealer = cls(vault, camera_id, key, actor, state)
                if camera_id not in state.cameras:
                    public = public_key_b64(key)
                    vault.append("camera-registered", actor, f"camera:{camera_id}", {"camera_id": camera_id, "public_key": public}, key)
                sealer._check_registration()
                sealer._recover()
                sealer.save_checkpoint()
        except BaseException:
            vault.close()
            raise
        return sealer

    def _check_registration(self) -> None:
        """Bring the chain up to date (we hold the lock) and refuse unless our key is the registered one."""
        state, problem = self.vault.chain(self._chain)
        if problem is not None:
            raise VaultError(f"vault {self.vault.name} fails verification, refusing to add to it: {problem}")
        registered = state.cameras.get(self.camera_id)
        if registered is None or public_key_b64(registered) != public_key_b64(self._camera_key):
            raise VaultError(
                f"camera {self.camera_id!r} is registered in vault {self.vault.name} with another key "
                f"({key_fingerprint(registered)}); this key is {key_fingerprint(self._camera_key)}. "
                "Refusing to seal: a key change must be logged first with `sealshot vault camera rotate`, "
                "and every instance of the camera restarted with the new key"
            )

    def _recover(self) -> None:
        """Clean what a crash left (we hold the writer lock, so no other writer is mid-write): adopt this
        camera's sealed files that were never recorded; where the store lets a camera delete (a folder),
        remove unfinished writes and files of purged snapshots (in S3 that is left to ``purge``)."""
        files = self.vault.scan_files(self.camera_id)
        recorded, purged = set(self._chain.sealed), self._chain.purged
        if self.vault.objects.cameras_may_delete:
            self.vault.remove_files(files.temporary)
            self.vault.remove_files(stored.name for snapshot_id, stored in files.sealed.items() if snapshot_id in recorded and snapshot_id in purged)
        for snapshot_id in sorted(set(files.sealed) - recorded):
            stored = files.sealed[snapshot_id]
            try:
                sealed, digest = self.vault.read_stored(stored)
            except VaultError:
                continue  # not ours to judge; verify reports it
            if sealed.metadata.get("camera_id") != self.camera_id or sealed.header.get("authority") != self.vault.authority.fingerprint:
                continue
            sealed_at = sealed.header.get("sealed_at_utc")
            sealed_at = float(sealed_at) if isinstance(sealed_at, (int, float)) and not isinstance(sealed_at, bool) else 0.0
            self._record(index_row(snapshot_id, sealed.metadata, sealed_at, sealed_file_name(snapshot_id), digest, stored.size), recovered=True)
            self.recovered_count += 1
        self._chain, _ = self.vault.chain(self._chain)

    def _record(self, row: IndexRow, recovered: bool = False) -> None:
        self.vault.append("sealed", self.actor, f"camera:{self.camera_id}", sealed_details(row, recovered), self._camera_key, insert=row)

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any], snapshot_id: str | None = None, clip: Sequence[ClipFrameLike] = ()) -> str:
        """Seal one RGB crop with its metadata (no pixels: ids, times, quality, box); when this returns
        it is durably in the vault, indexed and logged.

        ``snapshot_id`` (32 hex digits, e.g. ``snapshot_key(...)``) makes sealing idempotent: if a
        snapshot with that id is already recorded (a retried batch task), nothing is sealed again and
        the id is returned. Without it a random id is used. ``clip`` (JPEG frames of the person's region,
        ``sealshot.vault.clip``) is sealed in the same file; without one the file holds the PNG alone, as always."""
        if metadata.get("camera_id") != self.camera_id:
            raise VaultError(f"snapshot of camera {metadata.get('camera_id')!r} given to the sealer of camera {self.camera_id!r}")
        if snapshot_id is not None and not SNAPSHOT_ID.match(snapshot_id):
            raise VaultError(f"snapshot id {snapshot_id!r} must be 32 lower-case hex digits")
        if snapshot_id is not None and snapshot_id in self._chain.sealed:  # known sealed already: spare the encryption
            return snapshot_id
        return self._store(self.prepare(crop, metadata, snapshot_id, clip))

    def retention_ended(self, seen_at_utc: float, now_utc: float | None = None) -> float | None:
        """The vault's retention period, in days, when a snapshot seen at ``seen_at_utc`` has already outlived it
        (a purge now would delete it at once, so the pipeline does not seal it); None while it may be kept."""
        retention_days = self.vault.config.retention_days
        now_utc = time.time() if now_utc is None else now_utc
        return retention_days if seen_at_utc < expiry_cutoff(now_utc, retention_days) else None

    def _store(self, prepared: "PreparedSeal") -> str:
        """Store and record a prepared seal; while a remote vault cannot be reached (a database restart, a
        network outage), try again with back-off for up to ``outage_retry_s`` instead of losing the snapshot.
        A retry is safe: a seal that was committed before the connection dropped is found in the chain."""
        deadline = time.monotonic() + self.vault.settings.outage_retry_s
        pause = 0.25
        while True:
            try:
                return self._store_once(prepared)
            except VaultUnavailable as error:
                if time.monotonic() + pause > deadline:
                    raise
                logger.warning("camera %s: vault unavailable, retrying in %.1f s: %s", self.camera_id, pause, error)
                time.sleep(pause)
                pause = min(2 * pause, 8.0)

    def _store_once(self, prepared: "PreparedSeal") -> str:
        uploaded = None if self.vault.objects.writes_need_lock else self.vault.write_sealed(prepared.snapshot_id, self.camera_id, prepared.blob)
        with self.vault.lock():
            self._check_registration()
            if prepared.snapshot_id in self._chain.sealed:  # sealed by another process, or adopted by its recovery, meanwhile
                return prepared.snapshot_id
            file_name = uploaded or self.vault.write_sealed(prepared.snapshot_id, self.camera_id, prepared.blob)
            digest = hashlib.sha256(prepared.blob).hexdigest()
            self._record(index_row(prepared.snapshot_id, prepared.metadata, prepared.sealed_at, file_name, digest, len(prepared.blob)))
        self._seals_since_checkpoint += 1
        if self._seals_since_checkpoint >= CHECKPOINT_EVERY:
            self.save_checkpoint()
        return prepared.snapshot_id

    def prepare(
        self, crop: np.ndarray, metadata: Mapping[str, Any], snapshot_id: str | None = None, clip: Sequence[ClipFrameLike] = ()
    ) -> "PreparedSeal":
        """Encode and HPKE-encrypt one crop (and its clip, if any) in memory (nothing stored yet): the first step of ``seal``."""
        plain_metadata = plain(dict(metadata))
        snapshot_id = snapshot_id or uuid.uuid4().hex
        sealed_at = round(time.time(), 6)
        header = {
            "format": SEALED_FORMAT,
            "suite": SUITE_NAME,
            "snapshot_id": snapshot_id,
            "authority": self.vault.authority.fingerprint,
            "content_type": CLIP_CONTENT_TYPE if clip else "image/png",
            "sealed_at_utc": sealed_at,
            "metadata": plain_metadata,
        }
        png = encode_png(crop)
        plaintext = pack_snapshot(png, clip) if clip else png
        return PreparedSeal(snapshot_id, plain_metadata, sealed_at, seal(plaintext, header, self.vault.authority))

    def save_checkpoint(self) -> None:
        """Remember the verified chain (``cameras/ID.chain.json`` beside the camera keys), so that the next
        start verifies only what was appended since instead of the whole log; failing to write it is harmless."""
        path = checkpoint_path(self.vault, self.camera_id)
        self._seals_since_checkpoint = 0
        try:
            _, problem = self.vault.chain(self._chain)  # up to date, this camera's own last entries included
            if problem is not None:
                return
            folder = self.vault.location.folder
            if folder is not None and not folder.is_dir():
                return  # the vault's folder was deleted under the running camera: never make part of it again
            make_private_directory(path.parent)
            atomic_write(path, canonical_json(checkpoint_json(self._chain)), mode=0o600)
        except (OSError, VaultError) as error:
            logger.info("no chain checkpoint for camera %s: %s", self.camera_id, error)

    def close(self) -> None:
        try:
            self.save_checkpoint()
        finally:
            self.vault.close()

    def __enter__(self) -> "CameraSealer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checkpoint_path(vault: Vault, camera_id: str) -> Path:
    return vault.camera_key_path(camera_id).with_suffix(".chain.json")


def read_checkpoint(vault: Vault, camera_id: str) -> ChainState | None:
    """The camera's last verified view of the chain, if the log still holds exactly the entries it was
    made from (``links_intact``: hashes only, no signatures); otherwise None, and the whole log is
    verified again (an edited log is then refused as before)."""
    path = checkpoint_path(vault, camera_id)
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    state = checkpoint_state(data, camera_id) if isinstance(data, dict) else None
    if state is None:
        return None
    if not links_intact(vault.audit_pages(up_to=state.count), state.count, state.head):
        return None
    return state


def writable_chain(vault: Vault, camera_id: str | None = None, resume_from: ChainState | None = None) -> ChainState:
    """The verified chain of a vault that may be added to (``camera_id``'s view, see ``ChainState``,
    continuing from a checkpoint ``resume_from`` if given); a broken chain or a changed ``vault.json`` is refused."""
    state, problem = vault.chain(resume_from if resume_from is not None else ChainState(camera=camera_id))
    if problem is None:
        problem = vault.config_problem(state)
    if problem is not None:
        raise VaultError(
            f"vault {vault.name} fails verification, refusing to add to it: {problem} "
            "(snapshots that verify can still be opened under a warrant; see the README, 'Recovery')"
        )
    return state


def key_fingerprint(key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey | None) -> str:
    if key is None:
        return "none"
    return hashlib.sha256(public_key_b64(key).encode()).hexdigest()[:16]


def rotate_camera_key(vault_location: VaultLocationLike, camera_id: str, new_key_path: Path, actor: str, *, settings: VaultSettings = DEFAULTS) -> AuditEntry:
    """Log that ``camera_id`` now seals with the key at ``new_key_path`` (created there if missing).

    Signed by the vault's operator key, with the new key's proof of possession; from this entry on,
    instances still holding the old key are refused at their next seal.
    """
    with Vault.open(vault_location, settings) as vault, vault.lock():
        state = writable_chain(vault)
        previous = state.cameras.get(camera_id)
        if previous is None:
            raise VaultError(f"camera {camera_id!r} is not registered in vault {vault.name}; its first run registers it")
        new_key = Vault.load_or_create_signing_key(Path(new_key_path), f"new camera key of {camera_id!r}")
        public, previous_public = public_key_b64(new_key), public_key_b64(previous)
        if public == previous_public:
            raise VaultError(f"{new_key_path} is already the registered key of camera {camera_id!r}")
        details = {
            "camera_id": camera_id,
            "public_key": public,
            "previous_key": previous_public,
            "proof": b64encode(new_key.sign(rotation_proof_message(camera_id, public, previous_public))),
        }
        return vault.append("camera-rotated", actor, "operator", details, vault.operator_key())
