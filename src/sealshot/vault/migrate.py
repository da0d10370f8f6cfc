"""``vault migrate``: copy a vault to another location (a folder to PostgreSQL + S3, or back) and verify it.

The copy is exact where it must be: the audit log entry by entry (so every signature and hash still
holds and the head is the same), the index rows, the console's accounts, warrants and approvals, every
sealed file byte for byte, and the key files this machine holds for the vault (operator key, camera
keys). The configuration is written last, so an interrupted copy is an incomplete vault, never a
vault that silently lacks part of its history. The source is only read; a source that fails
verification is refused (repair or restore it first), so a broken chain is never carried along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sealshot.vault.console_store import CONSOLE_SCHEMA, CONSOLE_TABLES
from sealshot.vault.encoding import create_exclusive, describe_os_error, make_private_directory
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import load_signing_key
from sealshot.vault.location import VaultLocationLike, parse_location
from sealshot.vault.sealed import parse_sealed
from sealshot.vault.store import CAMERAS_DIR, DEFAULTS, Vault, VaultSettings
from sealshot.vault.verify import VerifyReport, verify_vault


@dataclass
class MigrationResult:
    target: str
    entries: int = 0
    snapshots: int = 0
    objects: int = 0
    head: str = ""
    keys: list[str] = field(default_factory=list)
    verification: VerifyReport = field(default_factory=VerifyReport)


def migrate(
    source: VaultLocationLike,
    target: VaultLocationLike,
    *,
    settings: VaultSettings = DEFAULTS,
    on_object: Callable[[int, int], None] | None = None,
) -> MigrationResult:
    """Copy the vault at ``source`` into the empty ``target`` and verify the copy (see the module docstring)."""
    destination = parse_location(target)
    if str(parse_location(source)) == str(destination):
        raise VaultError("--from and --to are the same vault")
    result = MigrationResult(target=str(destination))
    with Vault.open(source, settings) as origin, origin.lock():
        state, problem = origin.chain()
        problem = problem or origin.config_problem(state)
        if problem is not None:
            raise VaultError(f"vault {origin.name} fails verification ({problem}); repair or restore it before migrating (nothing was copied)")
        operator = origin.operator_key()
        stored = origin.scan_files()
        if stored.temporary or stored.unexpected:
            raise VaultError(
                f"vault {origin.name} holds unfinished or unexpected files ({', '.join((stored.temporary + stored.unexpected)[:3])}); "
                "run `sealshot vault verify` and restart its cameras or purge first"
            )
        tables = [(table, columns) for table, columns in CONSOLE_TABLES if table in origin.index.tables()]
        with Vault.creating(destination, origin.config, operator, settings) as copy:
            if tables:
                copy.index.create_schema(CONSOLE_SCHEMA)
            for done, (snapshot_id, item) in enumerate(sorted(stored.sealed.items()), start=1):
                blob = origin.objects.read_name(item.name)
                camera_id = parse_sealed(blob, item.name).metadata.get("camera_id")
                if not isinstance(camera_id, str):
                    raise VaultError(f"sealed file {item.name} names no camera; nothing was copied to {destination} beyond this point")
                copy.write_sealed(snapshot_id, camera_id, blob)
                result.objects = done
                if on_object is not None:
                    on_object(done, len(stored.sealed))
            result.entries = copy.import_records(origin, tables)
            result.snapshots = len(copy.rows())
            result.keys = _copy_camera_keys(origin, copy)
        copy.close()  # its configuration was written as the block ended
        result.head = state.head
    result.keys.insert(0, "operator.key")
    result.verification = verify_vault(destination, expect_head=result.head, settings=settings)
    if result.verification.entries != result.entries:
        result.verification.problems.append(f"the copy has {result.verification.entries} audit entries, the source {result.entries}")
    return result


def _copy_camera_keys(origin: Vault, copy: Vault) -> list[str]:
    """The camera keys the source keeps on this machine (``cameras/ID.key``), into the copy's key folder."""
    folder = origin.local_folder / CAMERAS_DIR
    copied: list[str] = []
    if not folder.is_dir():
        return copied
    for path in sorted(folder.glob("*.key")):
        target = copy.camera_key_path(path.stem)
        load_signing_key(path, f"camera key {path.name}")  # only real keys are carried over
        make_private_directory(target.parent)
        try:
            create_exclusive(target, path.read_bytes(), mode=0o600)
        except FileExistsError as error:
            raise VaultError(f"{target} already exists; refusing to overwrite a camera key") from error
        except OSError as error:
            raise VaultError(f"cannot copy camera key {path}: {describe_os_error(error)}") from error
        copied.append(f"{CAMERAS_DIR}/{path.name}")
    return copied

