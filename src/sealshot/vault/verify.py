"""``vault verify``: the whole hash chain, every signature, and every indexed file against its record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sealshot.vault.audit import GENESIS, verify_chain
from sealshot.vault.encoding import TEMP_PREFIX
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import public_key_b64
from sealshot.vault.sealed import SEALED_SUFFIX, parse_sealed
from sealshot.vault.store import Vault


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: int = 0
    snapshots: int = 0
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_vault(vault_dir: Path, expect_head: str | None = None) -> VerifyReport:
    report = VerifyReport()
    try:
        vault = Vault.open(Path(vault_dir))
    except VaultError as error:
        report.problems.append(str(error))
        return report
    try:
        _verify(vault, report, expect_head)
    except VaultError as error:
        report.problems.append(str(error))
    finally:
        vault.close()
    return report


def _verify(vault: Vault, report: VerifyReport, expect_head: str | None) -> None:
    state, problem = verify_chain(vault.audit_texts())
    chain_complete = problem is None
    if problem is not None:
        report.problems.append(f"first broken entry: {problem}")
    report.entries, report.head = state.count, state.head
    if expect_head is not None and expect_head not in state.hashes:
        report.problems.append(f"the log does not contain the expected head {expect_head} (entries were cut off or rewritten)")
    config = vault.config
    if state.authority is not None and (
        state.authority.fingerprint != config.authority.fingerprint
        or state.retention_days != config.retention_days
        or state.operator is None
        or public_key_b64(state.operator) != public_key_b64(config.operator_public)
    ):
        report.problems.append("vault.json disagrees with audit entry #1 (authority, retention or operator key was changed)")

    rows = vault.rows()
    report.snapshots = len(rows)
    indexed = {row.snapshot_id for row in rows}
    for row in rows:
        name = f"snapshot {row.snapshot_id}"
        if chain_complete:
            details = state.sealed.get(row.snapshot_id)
            if details is None:
                report.problems.append(f"{name} is indexed but no audit entry records its sealing")
            elif (
                details.get("file_sha256") != row.sha256
                or details.get("camera_id") != row.camera_id
                or details.get("seen_at_utc") != row.seen_at_utc
            ):
                report.problems.append(f"{name}: the index row disagrees with its signed 'sealed' audit entry (index edited)")
            if row.snapshot_id in state.purged:
                report.problems.append(f"{name} was purged but is still indexed")
        path = vault.snapshots_dir / row.file_name
        if row.file_name != f"{row.snapshot_id}{SEALED_SUFFIX}":
            report.problems.append(f"{name}: index names an unexpected file {row.file_name!r}")
            continue
        try:
            data = path.read_bytes()
        except OSError:
            report.problems.append(f"{name}: sealed file {path} is missing")
            continue
        if hashlib.sha256(data).hexdigest() != row.sha256:
            report.problems.append(f"{name}: sealed file {path} does not match its recorded hash (altered or corrupt)")
            continue
        try:
            sealed = parse_sealed(data, str(path))
        except VaultError as error:
            report.problems.append(f"{name}: {error}")
            continue
        if sealed.snapshot_id != row.snapshot_id or sealed.metadata.get("camera_id") != row.camera_id:
            report.problems.append(f"{name}: sealed file {path} holds another snapshot")

    if chain_complete:
        for snapshot_id in sorted(set(state.sealed) - state.purged - indexed):
            report.problems.append(f"snapshot {snapshot_id} is recorded as sealed but missing from the index (row deleted)")

    for path in sorted(vault.snapshots_dir.iterdir()):
        snapshot_id = path.name.removesuffix(SEALED_SUFFIX)
        if path.name.startswith(TEMP_PREFIX):
            report.notes.append(f"{path.name}: unfinished write left by a crash (ciphertext only); removed on the next camera start or purge")
        elif not path.name.endswith(SEALED_SUFFIX):
            report.problems.append(f"unexpected file in the vault: {path}")
        elif snapshot_id in indexed:
            continue
        elif snapshot_id in state.purged:
            report.notes.append(f"{path.name}: purged in the log but not yet deleted (interrupted purge); rerun `sealshot vault purge`")
        elif snapshot_id not in state.sealed:
            report.notes.append(f"{path.name}: sealed but not yet recorded (a crash before the index commit); its camera adopts it on restart")
