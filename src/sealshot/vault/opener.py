"""Opening sealed snapshots: with the single private key, or under a warrant with k-of-n shares.

The authority private key exists only in this process's memory. Decrypted images are written only
to the output folder the user named (never inside the vault), after the ``opened`` entry, signed
with the authority key, has been committed to the audit log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sealshot.vault.audit import AuditEntry, verify_chain
from sealshot.vault.encoding import atomic_write, plain
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.sealed import parse_sealed, unseal
from sealshot.vault.store import IndexRow, Vault


def parse_time(text: str) -> float:
    """ISO-8601 (``2024-05-01T12:00:00Z``; no zone means UTC) or UNIX seconds, to UNIX seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise VaultError(f"{text!r} is neither an ISO-8601 time nor UNIX seconds") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()


@dataclass(frozen=True)
class Scope:
    """Which snapshots a warrant covers: cameras (empty: all) and a time window on ``seen_at_utc``."""

    cameras: tuple[str, ...] = ()
    start_utc: float | None = None
    end_utc: float | None = None

    def __post_init__(self) -> None:
        if self.start_utc is not None and self.end_utc is not None and self.start_utc > self.end_utc:
            raise VaultError(f"the scope starts ({iso(self.start_utc)}) after it ends ({iso(self.end_utc)})")

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.cameras:
            clauses.append(f"camera_id IN ({', '.join('?' for _ in self.cameras)})")
            params.extend(self.cameras)
        if self.start_utc is not None:
            clauses.append("seen_at_utc >= ?")
            params.append(self.start_utc)
        if self.end_utc is not None:
            clauses.append("seen_at_utc <= ?")
            params.append(self.end_utc)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def to_json(self) -> dict[str, Any]:
        return {
            "cameras": list(self.cameras),
            "from_utc": self.start_utc,
            "to_utc": self.end_utc,
            "from": iso(self.start_utc) if self.start_utc is not None else None,
            "to": iso(self.end_utc) if self.end_utc is not None else None,
        }


@dataclass
class OpenResult:
    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    entry: AuditEntry | None = None


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def open_snapshots(
    vault_dir: Path, private: AuthorityPrivateKey, out_dir: Path, scope: Scope, case_id: str | None, actor: str
) -> OpenResult:
    """Decrypt the snapshots in ``scope`` to ``out_dir`` and log the opening; see the module docstring."""
    vault = Vault.open(Path(vault_dir))
    try:
        if not vault.authority.matches(private):
            raise VaultError(f"this key does not open vault {vault_dir} (sealed for authority {vault.authority.fingerprint})")
        if _is_inside(Path(out_dir), vault.root):
            raise VaultError("the output folder must be outside the vault, so no plaintext ever lands in it")
        _, problem = verify_chain(vault.audit_texts())
        if problem is not None:
            raise VaultError(f"vault {vault_dir} fails verification, refusing to open it: {problem}")
        where, params = scope.sql()
        result = OpenResult()
        images: list[tuple[IndexRow, bytes]] = []
        for row in vault.rows(where, params):
            path = vault.snapshots_dir / row.file_name
            try:
                try:
                    data = path.read_bytes()
                except OSError as error:
                    raise VaultError(f"sealed file {path} cannot be read: {error.strerror}") from error
                if hashlib.sha256(data).hexdigest() != row.sha256:
                    raise VaultError(f"sealed file {path} does not match its recorded hash (altered or corrupt)")
                sealed = parse_sealed(data, str(path))
                if sealed.snapshot_id != row.snapshot_id:
                    raise VaultError(f"sealed file {path} holds snapshot {sealed.snapshot_id}, not {row.snapshot_id}")
                images.append((row, unseal(sealed, private, str(path))))
            except VaultError as error:
                result.failures.append(str(error))
        details = {
            "case_id": case_id,
            "scope": scope.to_json(),
            "snapshot_ids": [row.snapshot_id for row, _ in images],
            "failed": len(result.failures),
        }
        # The opening is on the record before any image leaves memory.
        result.entry = vault.append("opened", actor, "authority", details, private.signing)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        manifest = []
        for row, png in images:
            target = out / f"{row.snapshot_id}.png"
            atomic_write(target, png, mode=0o600)
            result.written.append(target)
            manifest.append(plain(row.__dict__) | {"image": target.name, "seen_at": iso(row.seen_at_utc)})
        atomic_write(
            out / "manifest.json",
            json.dumps({"case_id": case_id, "scope": scope.to_json(), "audit_seq": result.entry.seq, "snapshots": manifest}, indent=2).encode(),
            mode=0o600,
        )
        return result
    finally:
        vault.close()
