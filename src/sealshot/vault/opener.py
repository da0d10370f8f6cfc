"""Opening sealed snapshots: with the single private key, or under a warrant with k-of-n shares.

Which snapshots a warrant opens is decided from signed data only: the camera-signed ``sealed``
entries (camera id, seen time, file hash) of the verified part of the audit log. An index row
must agree with its entry, and the sealed file's hash and header with both, before anything is
decrypted; a snapshot that fails any check is reported and not opened, the others still are.
If the vault fails verification, what still verifies is opened and the ``opened`` entry records
the failure (see the README, "What a verification failure blocks").

The authority private key exists only in this process's memory. Decrypted images are written only
to the output folder the user named (never inside the vault), after the ``opened`` entry, signed
with the authority key, has been committed to the audit log; the folder is checked before that.
A snapshot sealed with a clip gives, beside ``ID.png``, ``ID.clip.mp4`` (its JPEG frames as sealed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sealshot.vault.audit import AuditEntry
from sealshot.vault.clip import CLIP_VIDEO_SUFFIX, ClipFrame, clip_video
from sealshot.vault.encoding import atomic_write, describe_os_error, make_private_directory, plain
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.scope import Scope, iso
from sealshot.vault.sealed import SealedFile, unseal_with_clip
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.store import DEFAULTS, IndexRow, Vault, VaultSettings

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class OpenedImage:
    """One decrypted snapshot, in memory: its PNG, its authenticated metadata (from the sealed header) and
    its clip's frames, if it was sealed with one."""

    snapshot_id: str
    png: bytes
    metadata: dict[str, Any]
    clip: tuple[ClipFrame, ...] = ()


@dataclass
class OpenResult:
    written: list[Path] = field(default_factory=list)
    """The PNG of each opened snapshot."""
    clips: list[Path] = field(default_factory=list)
    """The clip video of each opened snapshot that was sealed with one."""
    failures: list[str] = field(default_factory=list)
    verification_problems: list[str] = field(default_factory=list)
    entry: AuditEntry | None = None
    images: list[OpenedImage] = field(default_factory=list)


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def prepare_output(out_dir: Path, vault_root: Path) -> Path:
    """Make sure decrypted images can be written to ``out_dir`` before the opening is logged.

    A folder this creates gets mode 0700; an existing one is used as it is, unless it already
    holds the evidence of an earlier opening (its manifest), which is never overwritten.
    """
    out = Path(out_dir)
    if _is_inside(out, vault_root):
        raise VaultError("the output folder must be outside the vault, so no plaintext ever lands in it")
    if out.exists() and not out.is_dir():
        raise VaultError(f"--out {out} is an existing file, not a folder; nothing was opened or logged")
    make_private_directory(out)
    if (out / MANIFEST_NAME).exists():
        raise VaultError(f"--out {out} already holds an opening ({MANIFEST_NAME}); choose a new folder")
    probe = out / ".sealshot-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise VaultError(f"cannot write to --out {out}: {describe_os_error(error)}; nothing was opened or logged") from error
    return out


def _check_against_entry(snapshot_id: str, details: dict[str, Any], row: IndexRow | None) -> None:
    if row is None:
        raise VaultError(f"snapshot {snapshot_id}: its index row is missing (deleted); not opened")
    if not row.matches_sealed(details):
        raise VaultError(f"snapshot {snapshot_id}: the index row disagrees with its signed 'sealed' audit entry (index edited); not opened")


def open_snapshots(
    vault_location: VaultLocationLike,
    private: AuthorityPrivateKey,
    out_dir: Path,
    scope: Scope,
    case_id: str | None,
    actor: str,
    *,
    settings: VaultSettings = DEFAULTS,
) -> OpenResult:
    """Decrypt the snapshots in ``scope`` to ``out_dir`` and log the opening; see the module docstring."""
    prepared: list[Path] = []

    def check_output(vault: Vault) -> None:
        prepared.append(prepare_output(Path(out_dir), vault.local_folder))

    result = open_in_memory(vault_location, private, scope, case_id, actor, settings=settings, before_logging=check_output)
    out = prepared[0]
    manifest = []
    for image in result.images:
        target = out / f"{image.snapshot_id}.png"
        atomic_write(target, image.png, mode=0o600)
        result.written.append(target)
        entry = image.metadata | {"image": target.name}
        if image.clip:
            clip_target = out / f"{image.snapshot_id}{CLIP_VIDEO_SUFFIX}"
            atomic_write(clip_target, clip_video(image.clip), mode=0o600)
            result.clips.append(clip_target)
            index = [{"frame_index": f.frame_index, "timestamp": f.timestamp, "region": list(f.region)} for f in image.clip]
            entry |= {"clip": clip_target.name, "clip_index": index}
        manifest.append(entry)
    assert result.entry is not None
    body = {"case_id": case_id, "scope": scope.to_json(), "audit_seq": result.entry.seq, "snapshots": manifest}
    if result.verification_problems:
        body["verification_failed"] = result.verification_problems
    atomic_write(out / MANIFEST_NAME, json.dumps(body, indent=2).encode(), mode=0o600)
    return result


def open_in_memory(
    vault_location: VaultLocationLike,
    private: AuthorityPrivateKey,
    scope: Scope,
    case_id: str | None,
    actor: str,
    *,
    extra_details: dict[str, Any] | None = None,
    settings: VaultSettings = DEFAULTS,
    before_logging: Callable[[Vault], None] | None = None,
) -> OpenResult:
    """Decrypt the snapshots in ``scope`` into memory (``result.images``), after committing the signed
    ``opened`` entry; nothing is written to disk. ``extra_details`` go into that entry (a warrant id,
    its approvers); ``before_logging`` runs after the key checks and before the entry is committed."""
    with Vault.open(vault_location, settings) as vault:
        vault_dir = vault.name
        state, chain_problem = vault.chain()
        if state.authority is None:
            raise VaultError(f"vault {vault_dir}: audit entry #1 does not verify ({chain_problem}); the vault's authority is unknown, nothing can be opened")
        if not state.authority.matches(private):
            raise VaultError(f"this key does not open vault {vault_dir} (sealed for authority {state.authority.fingerprint})")
        result = OpenResult()
        result.verification_problems = [p for p in (chain_problem, vault.config_problem(state)) if p is not None]
        if before_logging is not None:
            before_logging(vault)

        in_scope = {
            snapshot_id: details
            for snapshot_id, details in state.sealed.items()
            if snapshot_id not in state.purged and scope.contains(details.get("camera_id"), details.get("seen_at_utc"))
        }
        rows = {row.snapshot_id: row for row in vault.rows(ids=in_scope)}
        for row in vault.rows(scope):  # rows that only an edited or unverified index puts in scope
            if row.snapshot_id not in in_scope:
                reason = "its signed 'sealed' entry puts it outside the scope (index edited)" if row.snapshot_id in state.sealed else "no verified 'sealed' entry records it"
                result.failures.append(f"snapshot {row.snapshot_id}: the index puts it in scope but {reason}; not opened")
        images: list[tuple[str, SealedFile, tuple[bytes, tuple[ClipFrame, ...]]]] = []
        for snapshot_id in sorted(in_scope, key=lambda i: (float(in_scope[i].get("seen_at_utc") or 0.0), i)):
            details = in_scope[snapshot_id]
            try:
                _check_against_entry(snapshot_id, details, rows.get(snapshot_id))
                camera_id = str(details.get("camera_id"))
                sealed, _ = vault.read_sealed(snapshot_id, camera_id, details.get("file_sha256"))
                if (sealed.metadata.get("camera_id"), sealed.metadata.get("seen_at_utc")) != (details.get("camera_id"), details.get("seen_at_utc")):
                    raise VaultError(f"snapshot {snapshot_id}: the sealed file's header disagrees with its signed entry; not opened")
                images.append((snapshot_id, sealed, unseal_with_clip(sealed, private, vault.describe_sealed(snapshot_id, camera_id))))
            except VaultError as error:
                result.failures.append(str(error))

        entry_details: dict[str, Any] = {
            "case_id": case_id,
            "scope": scope.to_json(),
            "snapshot_ids": [snapshot_id for snapshot_id, _, _ in images],
            "failed": len(result.failures),
        }
        if result.verification_problems:
            entry_details["verification_failed"] = result.verification_problems
        entry_details |= extra_details or {}
        # The opening is on the record before any image leaves this function.
        result.entry = vault.append("opened", actor, "authority", entry_details, private.signing)

    for snapshot_id, sealed, (png, clip) in images:
        metadata = plain(sealed.metadata)  # authenticated by the decryption, unlike the index row
        metadata |= {"snapshot_id": snapshot_id, "sealed_at_utc": sealed.header.get("sealed_at_utc"), "seen_at": iso(float(metadata["seen_at_utc"]))}
        result.images.append(OpenedImage(snapshot_id, png, metadata, clip))
    return result
