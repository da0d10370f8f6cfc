"""Retention: delete every snapshot older than the vault's retention period, and record it.

The period is the one fixed in the signed ``vault-created`` entry; if ``vault.json`` says otherwise
the purge is refused (an edited configuration must neither delete early nor keep forever). Which
snapshots have expired is decided from the signed ``seen_at_utc`` of their ``sealed`` entries.

Order, so that a crash never leaves a sealed file nobody will delete: (1) one transaction deletes the
index rows and appends the operator-signed ``purged`` entry naming them; (2) the files are overwritten
and unlinked; (3) the index is vacuumed (with ``secure_delete`` on, freed pages are zeroed anyway).
A file named in a ``purged`` entry that is still present (crash between 1 and 2) is deleted by the next
purge or camera start.

What remains of a purged snapshot: its ``sealed`` entry in the log (snapshot id, camera id, seen time,
file size and SHA-256), which cannot be removed without breaking the signed chain, and its id in the
``purged`` entry. Its pixels, its sealed file and its index row (track, quality, box, frame) are gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sealshot.vault.errors import VaultError
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.store import DEFAULTS, Vault, VaultSettings


def expiry_cutoff(now_utc: float, retention_days: float) -> float:
    """Snapshots seen before this UNIX time have outlived the retention period at ``now_utc``: ``purge`` deletes
    them, and a camera does not seal them (``CameraSealer.retention_ended``)."""
    return now_utc - retention_days * 86400.0


@dataclass
class PurgeResult:
    cutoff_utc: float
    purged: list[str] = field(default_factory=list)
    removed_files: int = 0


def purge(vault_location: VaultLocationLike, actor: str, now: float | None = None, *, settings: VaultSettings = DEFAULTS) -> PurgeResult:
    """Purge what has expired at ``now`` (default: the current time)."""
    with Vault.open(vault_location, settings) as vault:
        vault_dir = vault.name
        operator = vault.operator_key()
        now = time.time() if now is None else now
        with vault.lock():
            # Deletion goes on even if a later entry is damaged: retention is a duty, not a privilege.
            state, problem = vault.chain()
            if state.retention_days is None:
                raise VaultError(f"vault {vault_dir}: audit entry #1 does not verify ({problem}); the retention period is unknown, refusing to purge")
            if state.retention_days != vault.config.retention_days:
                raise VaultError(
                    f"vault {vault_dir}: vault.json says retention {vault.config.retention_days:g} days but the signed "
                    f"audit entry #1 says {state.retention_days:g}; refusing to purge (restore vault.json)"
                )
            files = vault.scan_files()
            result = PurgeResult(cutoff_utc=expiry_cutoff(now, state.retention_days))
            indexed = {row.snapshot_id: row for row in vault.rows()}
            expired = set()
            for snapshot_id, row in indexed.items():
                signed = state.sealed.get(snapshot_id)
                seen = signed.get("seen_at_utc") if signed is not None else row.seen_at_utc
                if isinstance(seen, (int, float)) and seen < result.cutoff_utc:
                    expired.add(snapshot_id)
            stray = set()  # sealed files that a crash left unrecorded, past retention
            for snapshot_id in set(files.sealed) - set(indexed) - set(state.sealed):
                try:
                    sealed, _ = vault.read_stored(files.sealed[snapshot_id])
                except VaultError:
                    continue
                if sealed.metadata["seen_at_utc"] < result.cutoff_utc:
                    stray.add(snapshot_id)
            result.purged = sorted(expired) + sorted(stray)
            if result.purged:
                details = {
                    "snapshot_ids": result.purged,
                    "cutoff_utc": result.cutoff_utc,
                    "retention_days": state.retention_days,
                    "now_utc": now,
                }
                vault.append("purged", actor, "operator", details, operator, delete=sorted(expired))
            doomed = set(result.purged) | (state.purged - set(indexed))
            result.removed_files = vault.remove_files(
                files.temporary + [stored.name for snapshot_id, stored in files.sealed.items() if snapshot_id in doomed]
            )
            vault.vacuum()
        return result
