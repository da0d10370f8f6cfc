"""The vault folder: its configuration, the SQLite index and audit log, the sealed files, the writer lock.

Layout::

    VAULT/
      vault.json        format, creation time, retention period, authority public keys, operator public key
      index.sqlite      table ``snapshots`` (metadata, no pixels) and table ``audit`` (the signed chain)
      operator.key      the vault's Ed25519 operator key (signs vault-created and purged entries)
      cameras/ID.key    a camera's Ed25519 key, unless the camera keeps its own elsewhere
      snapshots/ID.seal one sealed file per snapshot
      .lock             writers hold an exclusive flock on it while they write

Index and log live in one SQLite database so that a snapshot's index row and its ``sealed``
entry are committed in one transaction: after a crash both exist or neither does.
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import AuditEntry, make_entry, parse_entry, GENESIS
from sealshot.vault.encoding import atomic_write, canonical_json, read_json_file
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import (
    AuthorityPublicKey,
    ed25519_public_from_b64,
    load_signing_key,
    public_key_b64,
    save_signing_key,
)

CONFIG_FORMAT = "sealshot-vault-v1"
DEFAULT_RETENTION_DAYS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    track_id INTEGER NOT NULL,
    seen_at_utc REAL NOT NULL,
    first_seen_utc REAL NOT NULL,
    last_seen_utc REAL NOT NULL,
    sealed_at_utc REAL NOT NULL,
    quality REAL,
    quality_method TEXT NOT NULL,
    frame_index INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_camera_time ON snapshots (camera_id, seen_at_utc);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

INDEX_COLUMNS = (
    "snapshot_id", "camera_id", "track_id", "seen_at_utc", "first_seen_utc", "last_seen_utc", "sealed_at_utc",
    "quality", "quality_method", "frame_index", "file_name", "sha256", "size",
)  # fmt: skip


@dataclass(frozen=True)
class IndexRow:
    """One snapshot's metadata as the index holds it (never any pixel)."""

    snapshot_id: str
    camera_id: str
    track_id: int
    seen_at_utc: float
    first_seen_utc: float
    last_seen_utc: float
    sealed_at_utc: float
    quality: float | None
    quality_method: str
    frame_index: int
    file_name: str
    sha256: str
    size: int

    @classmethod
    def from_sql(cls, row: tuple[Any, ...]) -> "IndexRow":
        """Validate a row's types; a malformed row is a ``VaultError``, not a crash later on."""
        if len(row) != len(INDEX_COLUMNS):
            raise VaultError("index row has the wrong number of columns")
        values = dict(zip(INDEX_COLUMNS, row))
        label = values["snapshot_id"] if isinstance(values["snapshot_id"], str) else "?"
        for name in ("snapshot_id", "camera_id", "quality_method", "file_name", "sha256"):
            if not isinstance(values[name], str):
                raise VaultError(f"index row {label}: {name} is not text")
        for name in ("track_id", "frame_index", "size"):
            if not isinstance(values[name], int):
                raise VaultError(f"index row {label}: {name} is not an integer")
        for name in ("seen_at_utc", "first_seen_utc", "last_seen_utc", "sealed_at_utc", "quality"):
            value = values[name]
            if value is None and name == "quality":
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise VaultError(f"index row {label}: {name} is not a finite number")
            values[name] = float(value)
        if "/" in values["file_name"] or values["file_name"].startswith("."):
            raise VaultError(f"index row {label}: file name {values['file_name']!r} is not a plain file name")
        return cls(**values)

    def to_sql(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in INDEX_COLUMNS)


@dataclass(frozen=True)
class VaultConfig:
    created_utc: float
    retention_days: float
    authority: AuthorityPublicKey
    operator_public: ed25519.Ed25519PublicKey

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "created_utc": self.created_utc,
            "retention_days": self.retention_days,
            "authority": self.authority.to_json(),
            "operator_public": public_key_b64(self.operator_public),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], what: str) -> "VaultConfig":
        if data.get("format") != CONFIG_FORMAT:
            raise VaultError(f"{what} is not a sealshot vault configuration (format {data.get('format')!r})")
        created, retention, authority = data.get("created_utc"), data.get("retention_days"), data.get("authority")
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            raise VaultError(f"{what}: created_utc must be a number")
        if not isinstance(retention, (int, float)) or isinstance(retention, bool) or not 0 < retention < 1e6:
            raise VaultError(f"{what}: retention_days must be a positive number")
        if not isinstance(authority, dict):
            raise VaultError(f"{what}: missing authority public key")
        return cls(
            float(created),
            float(retention),
            AuthorityPublicKey.from_json(authority, f"{what}: authority"),
            ed25519_public_from_b64(data.get("operator_public"), f"{what}: operator_public"),
        )


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    try:
        connection = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30.0, isolation_level=None)
        # secure_delete zeroes freed pages, so purged rows do not linger in the file.
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute("PRAGMA journal_mode = DELETE")
        connection.execute("PRAGMA synchronous = FULL")
        if create:
            connection.executescript(SCHEMA)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise VaultError(f"index {path} cannot be opened: {error}") from error
    if not {"snapshots", "audit"} <= tables:
        connection.close()
        raise VaultError(f"index {path} is not a sealshot index (tables missing)")
    return connection


class Vault:
    """An open vault folder. Use :meth:`open`, :meth:`create` or :meth:`open_or_create`."""

    def __init__(self, root: Path, config: VaultConfig, connection: sqlite3.Connection) -> None:
        self.root = root
        self.config = config
        self.connection = connection

    # -- layout -----------------------------------------------------------------------------
    @staticmethod
    def config_path(root: Path) -> Path:
        return root / "vault.json"

    @property
    def index_path(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def cameras_dir(self) -> Path:
        return self.root / "cameras"

    @property
    def operator_key_path(self) -> Path:
        return self.root / "operator.key"

    @property
    def authority(self) -> AuthorityPublicKey:
        return self.config.authority

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path) -> "Vault":
        root = Path(root)
        if not cls.config_path(root).exists():
            raise VaultError(f"{root} is not a sealshot vault (no vault.json)")
        config = VaultConfig.from_json(read_json_file(cls.config_path(root), "vault configuration"), f"{cls.config_path(root)}")
        return cls(root, config, _connect(root / "index.sqlite", create=False))

    @classmethod
    def create(cls, root: Path, authority: AuthorityPublicKey, retention_days: float, actor: str) -> "Vault":
        root = Path(root)
        if not 0 < retention_days < 1e6 or not math.isfinite(retention_days):
            raise VaultError(f"retention must be a positive number of days, got {retention_days}")
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # the index says who was seen when: personal data, even without pixels
        with writer_lock(root):
            if cls.config_path(root).exists():
                raise VaultError(f"{root} already holds a vault")
            # vault.json is written last, so leftovers of a create that crashed are simply redone.
            (root / "index.sqlite").unlink(missing_ok=True)
            (root / "index.sqlite-journal").unlink(missing_ok=True)
            for name in ("snapshots", "cameras"):
                (root / name).mkdir(mode=0o700, exist_ok=True)
            operator = ed25519.Ed25519PrivateKey.generate()
            save_signing_key(root / "operator.key", operator)
            config = VaultConfig(round(time.time(), 6), float(retention_days), authority, operator.public_key())
            vault = cls(root, config, _connect(root / "index.sqlite", create=True))
            os.chmod(root / "index.sqlite", 0o600)
            details = {
                "authority": authority.to_json(),
                "retention_days": config.retention_days,
                "operator_public": public_key_b64(operator),
            }
            vault.append("vault-created", actor, "operator", details, operator)
            atomic_write(cls.config_path(root), canonical_json(config.to_json()) + b"\n", mode=0o644)
        return vault

    @classmethod
    def open_or_create(
        cls, root: Path, authority: AuthorityPublicKey, retention_days: float | None, actor: str
    ) -> tuple["Vault", bool]:
        """Open the vault at ``root``, creating it for ``authority`` if missing; ``(vault, created)``."""
        root = Path(root)
        if not cls.config_path(root).exists():
            try:
                return cls.create(root, authority, DEFAULT_RETENTION_DAYS if retention_days is None else retention_days, actor), True
            except VaultError:
                if not cls.config_path(root).exists():
                    raise  # otherwise another process created it meanwhile: open theirs
        vault = cls.open(root)
        if vault.authority.fingerprint != authority.fingerprint:
            vault.close()
            raise VaultError(
                f"vault {root} is sealed for authority key {vault.authority.fingerprint}; "
                f"the given key is {authority.fingerprint}"
            )
        if retention_days is not None and retention_days != vault.config.retention_days:
            vault.close()
            raise VaultError(
                f"vault {root} keeps snapshots {vault.config.retention_days:g} days (set at creation); "
                f"it cannot be changed to {retention_days:g}"
            )
        return vault, False

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def operator_key(self) -> ed25519.Ed25519PrivateKey:
        key = load_signing_key(self.operator_key_path, "vault operator key")
        if public_key_b64(key) != public_key_b64(self.config.operator_public):
            raise VaultError(f"{self.operator_key_path} does not match the operator key in vault.json")
        return key

    @contextmanager
    def lock(self) -> Iterator[None]:
        with writer_lock(self.root):
            yield

    # -- index and log ------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise VaultError(f"index {self.index_path}: {error}") from error

    def audit_texts(self) -> list[tuple[int, str]]:
        rows = self._query("SELECT seq, entry FROM audit ORDER BY seq")
        result = []
        for position, text in rows:
            if not isinstance(position, int) or not isinstance(text, str):
                raise VaultError(f"index {self.index_path}: audit row {position!r} is malformed")
            result.append((position, text))
        return result

    def rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[IndexRow]:
        sql = f"SELECT {', '.join(INDEX_COLUMNS)} FROM snapshots {where} ORDER BY seen_at_utc, snapshot_id"
        return [IndexRow.from_sql(row) for row in self._query(sql, params)]

    def append(
        self,
        event: str,
        actor: str,
        signer: str,
        details: dict[str, Any],
        key: ed25519.Ed25519PrivateKey,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> AuditEntry:
        """Append one signed entry, and run ``also`` (index changes) in the same transaction."""
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                last = connection.execute("SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                if last is None:
                    seq, prev = 1, GENESIS
                else:
                    if not isinstance(last[1], str):
                        raise VaultError(f"the last audit entry in {self.index_path} is malformed; run `sealshot vault verify`")
                    seq, prev = last[0] + 1, parse_entry(last[1]).hash
                entry = make_entry(seq, event, actor, signer, details, prev, key)
                connection.execute("INSERT INTO audit (seq, entry) VALUES (?, ?)", (seq, entry.text()))
                if also is not None:
                    also(connection)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise VaultError(f"index {self.index_path}: {error}") from error
        return entry


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``root/.lock``; the kernel drops it if the holder dies (even kill -9)."""
    descriptor = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
