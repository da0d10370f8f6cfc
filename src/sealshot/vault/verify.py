"""``vault verify``: the whole hash chain, every signature, and every indexed file against its record."""

from __future__ import annotations

from dataclasses import dataclass, field

from sealshot.vault.audit import GENESIS, ChainState
from sealshot.vault.errors import VaultError
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.objects import sealed_file_name
from sealshot.vault.store import DEFAULTS, IndexRow, Vault, VaultSettings


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


def verify_vault(vault_location: VaultLocationLike, expect_head: str | None = None, *, settings: VaultSettings = DEFAULTS) -> VerifyReport:
    """Check everything; a problem is reported, never raised (a vault that cannot be opened is one)."""
    report = VerifyReport()
    try:
        with Vault.open(vault_location, settings) as vault:
            _verify(vault, report, expect_head)
    except VaultError as error:
        report.problems.append(str(error))
    return report


def _verify(vault: Vault, report: VerifyReport, expect_head: str | None) -> None:
    state, problem = vault.chain()
    chain_complete = problem is None
    if problem is not None:
        report.problems.append(f"first broken entry: {problem}")
    report.entries, report.head = state.count, state.head
    if expect_head is not None and expect_head not in state.hashes:
        report.problems.append(f"the log does not contain the expected head {expect_head} (entries were cut off or rewritten)")
    config_problem = vault.config_problem(state)
    if config_problem is not None:
        report.problems.append(config_problem)

    rows = vault.rows()
    report.snapshots = len(rows)
    indexed = {row.snapshot_id for row in rows}
    for row in rows:
        name = f"snapshot {row.snapshot_id}"
        if chain_complete:
            _check_row_against_log(name, row, state, report)
        if row.file_name != sealed_file_name(row.snapshot_id):
            report.problems.append(f"{name}: index names an unexpected file {row.file_name!r}")
            continue
        try:
            sealed, _ = vault.read_sealed(row.snapshot_id, row.camera_id, row.sha256)
        except VaultError as error:
            report.problems.append(f"{name}: {error}")
            continue
        if sealed.metadata.get("camera_id") != row.camera_id:
            report.problems.append(f"{name}: sealed file {vault.describe_sealed(row.snapshot_id, row.camera_id)} holds another camera's snapshot")

    if chain_complete:
        for snapshot_id in sorted(set(state.sealed) - state.purged - indexed):
            report.problems.append(f"snapshot {snapshot_id} is recorded as sealed but missing from the index (row deleted)")

    files = vault.scan_files()
    for name in files.temporary:
        report.notes.append(f"{name}: unfinished write left by a crash (ciphertext only); removed on the next camera start or purge")
    for name in files.unexpected:
        report.problems.append(f"unexpected file in the vault: {name}")
    for snapshot_id, stored in files.sealed.items():
        if snapshot_id in indexed:
            continue
        if snapshot_id in state.purged:
            report.notes.append(f"{stored.name}: purged in the log but not yet deleted (interrupted purge); rerun `sealshot vault purge`")
        elif snapshot_id not in state.sealed:
            report.notes.append(f"{stored.name}: sealed but not yet recorded (a crash before the index commit); its camera adopts it on restart")


def _check_row_against_log(name: str, row: IndexRow, state: ChainState, report: VerifyReport) -> None:
    snapshot_id = row.snapshot_id
    details = state.sealed.get(snapshot_id)
    if details is None:
        report.problems.append(f"{name} is indexed but no audit entry records its sealing")
    elif not row.matches_sealed(details):
        report.problems.append(f"{name}: the index row disagrees with its signed 'sealed' audit entry (index edited)")
    if snapshot_id in state.purged:
        report.problems.append(f"{name} was purged but is still indexed")
