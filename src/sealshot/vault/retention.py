"""Retention: delete every snapshot older than the vault's retention period, and record it.

Order, so that a crash never leaves a sealed file nobody will delete: (1) one transaction deletes the
index rows and appends the operator-signed ``purged`` entry naming them; (2) the files are overwritten
and unlinked; (3) the index is vacuumed (with ``secure_delete`` on, freed pages are zeroed anyway).
A file named in a ``purged`` entry that is still present (crash between 1 and 2) is deleted by the next
purge or camera start. Only the log keeps the snapshot id, its file hash and when it was purged; never
its metadata or pixels.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from sealshot.vault.audit import verify_chain
from sealshot.vault.encoding import TEMP_PREFIX, fsync_directory, shred
from sealshot.vault.errors import VaultError
from sealshot.vault.sealed import SEALED_SUFFIX, parse_sealed
from sealshot.vault.store import Vault


@dataclass
class PurgeResult:
    cutoff_utc: float
    purged: list[str] = field(default_factory=list)
    removed_files: int = 0


def purge(vault_dir: Path, actor: str, now: float | None = None) -> PurgeResult:
    vault = Vault.open(Path(vault_dir))
    try:
        operator = vault.operator_key()
        now = time.time() if now is None else now
        result = PurgeResult(cutoff_utc=now - vault.config.retention_days * 86400.0)
        with vault.lock():
            state, _ = verify_chain(vault.audit_texts())  # deletion must go on even if the log is damaged
            expired = [row.snapshot_id for row in vault.rows("WHERE seen_at_utc < ?", (result.cutoff_utc,))]
            indexed = {row.snapshot_id for row in vault.rows()}
            stray: list[str] = []  # sealed files that a crash left unrecorded, past retention
            for path in vault.snapshots_dir.iterdir():
                snapshot_id = path.name.removesuffix(SEALED_SUFFIX)
                if not path.name.endswith(SEALED_SUFFIX) or snapshot_id in indexed or snapshot_id in state.sealed:
                    continue
                try:
                    seen = parse_sealed(path.read_bytes(), str(path)).metadata["seen_at_utc"]
                except VaultError:
                    continue
                if seen < result.cutoff_utc:
                    stray.append(snapshot_id)
            result.purged = sorted(expired) + sorted(stray)
            if result.purged:
                details = {
                    "snapshot_ids": result.purged,
                    "cutoff_utc": result.cutoff_utc,
                    "retention_days": vault.config.retention_days,
                    "now_utc": now,
                }

                def delete_rows(connection: sqlite3.Connection) -> None:
                    connection.executemany("DELETE FROM snapshots WHERE snapshot_id = ?", [(i,) for i in expired])

                vault.append("purged", actor, "operator", details, operator, also=delete_rows)
            doomed = set(result.purged) | (state.purged - indexed)
            for path in list(vault.snapshots_dir.iterdir()):
                if path.name.startswith(TEMP_PREFIX) or path.name.removesuffix(SEALED_SUFFIX) in doomed:
                    shred(path)
                    result.removed_files += 1
            fsync_directory(vault.snapshots_dir)
            try:
                vault.connection.execute("VACUUM")
            except sqlite3.Error as error:
                raise VaultError(f"index {vault.index_path}: vacuum failed: {error}") from error
        return result
    finally:
        vault.close()
