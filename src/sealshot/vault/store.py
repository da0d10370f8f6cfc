"""The vault folder: its configuration, the SQLite index and audit log, the sealed files, the writer lock.

Layout::

    VAULT/
      vault.json        format, creation time, retention period, authority public keys, operator public key
      index.sqlite      table ``snapshots`` (metadata, no pixels) and table ``audit`` (the signed chain)
      operator.key      the vault's Ed25519 operator key (signs vault-created, purged and camera-rotated entries)
      cameras/ID.key    a camera's Ed25519 key, unless the camera keeps its own elsewhere
      snapshots/ID.seal one sealed file per snapshot
      .lock             writers hold an exclusive flock on it while they write

``Vault`` is the one owner of this layout: every SQL statement, every path and every read of a
sealed file is here; sealing, opening, retention and verification are policies over its methods.

Index and log live in one SQLite database so that a snapshot's index row and its ``sealed``
entry are committed in one transaction: after a crash both exist or neither does.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import GENESIS, AuditEntry, ChainState, make_entry, parse_entry, verify_chain
from sealshot.vault.encoding import (
    TEMP_PREFIX,
    atomic_write,
    canonical_json,
    create_exclusive,
    describe_os_error,
    fsync_directory,
    make_private_directory,
    read_json_file,
    shred,
)
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import (
    AuthorityPublicKey,
    ed25519_public_from_b64,
    generate_signing_key_pem,
    load_signing_key,
    public_key_b64,
)
from sealshot.vault.scope import Scope
from sealshot.vault.sealed import SEALED_SUFFIX, SealedFile, parse_sealed

CONFIG_FORMAT = "sealshot-vault-v1"
CONFIG_NAME, INDEX_NAME, LOCK_NAME, OPERATOR_KEY_NAME = "vault.json", "index.sqlite", ".lock", "operator.key"
SNAPSHOTS_DIR, CAMERAS_DIR = "snapshots", "cameras"


@dataclass(frozen=True)
class VaultSettings:
    """Defaults of the vault, in one place; the command options refer to these."""

    retention_days: float = 30.0
    lock_timeout_s: float = 60.0  # how long a writer waits for another writer (the vault's lock, SQLite's lock) before giving up


DEFAULTS = VaultSettings()

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

    def matches_sealed(self, details: dict[str, Any]) -> bool:
        """Whether this row says what the camera-signed ``sealed`` entry says (camera, seen time, file hash)."""
        return (self.camera_id, self.seen_at_utc, self.sha256) == (details.get("camera_id"), details.get("seen_at_utc"), details.get("file_sha256"))

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




class VaultExists(VaultError):
    """``create`` found a vault already there (another process may just have created it)."""


def _sqlite_error(path: Path, error: sqlite3.Error) -> VaultError:
    text = str(error)
    if "readonly" in text or "read-only" in text:
        text += " (the vault is read-only for this user)"
    return VaultError(f"index {path}: {text}")


def _connect(path: Path, create: bool, busy_timeout_s: float) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    try:
        connection = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=busy_timeout_s, isolation_level=None)
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


@dataclass(frozen=True)
class SnapshotFiles:
    """What the snapshots folder holds: sealed files by snapshot id, unfinished writes, anything else."""

    sealed: dict[str, Path]
    temporary: list[Path]
    unexpected: list[Path]


class Vault:
    """An open vault folder: its layout, index, audit log and sealed files.

    Use :meth:`open`, :meth:`create` or :meth:`open_or_create`; close it (or use ``with``).
    """

    def __init__(self, root: Path, config: VaultConfig, connection: sqlite3.Connection, settings: VaultSettings = DEFAULTS) -> None:
        self.root = root
        self.config = config
        self.connection = connection
        self.settings = settings

    # -- layout -----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    @property
    def snapshots_dir(self) -> Path:
        return self.root / SNAPSHOTS_DIR

    @property
    def cameras_dir(self) -> Path:
        return self.root / CAMERAS_DIR

    @property
    def operator_key_path(self) -> Path:
        return self.root / OPERATOR_KEY_NAME

    @property
    def authority(self) -> AuthorityPublicKey:
        return self.config.authority

    def sealed_path(self, snapshot_id: str) -> Path:
        return self.snapshots_dir / f"{snapshot_id}{SEALED_SUFFIX}"

    # -- opening ------------------------------------------------------------------------------
    @staticmethod
    def _check_folder(root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise VaultError(f"vault {root} is a file, not a folder")

    @classmethod
    def open(cls, root: Path, settings: VaultSettings = DEFAULTS) -> "Vault":
        """Open an existing, complete vault; an incomplete one is reported, never repaired silently."""
        root = Path(root)
        cls._check_folder(root)
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            if root.is_dir() and _holds_vault_data(root):
                raise _incomplete(root)
            raise VaultError(f"{root} is not a sealshot vault (no {CONFIG_NAME})")
        if not (root / INDEX_NAME).exists():
            raise VaultError(f"vault {root} is incomplete: {INDEX_NAME} is missing (restore it from a backup)")
        config = VaultConfig.from_json(read_json_file(config_path, "vault configuration"), f"{config_path}")
        return cls(root, config, _connect(root / INDEX_NAME, create=False, busy_timeout_s=settings.lock_timeout_s), settings)

    @classmethod
    def create(
        cls, root: Path, authority: AuthorityPublicKey, retention_days: float, actor: str, settings: VaultSettings = DEFAULTS
    ) -> "Vault":
        """Create a vault in a new or empty folder; a folder with anything in it is refused."""
        root = Path(root)
        if not math.isfinite(retention_days) or not 0 < retention_days < 1e6:
            raise VaultError(f"retention must be a positive number of days, got {retention_days}")
        cls._check_folder(root)
        foreign = sorted(name for name in (_listing(root) if root.is_dir() else []) if not _is_vault_name(name))
        if foreign:  # checked before taking the lock, which would leave a .lock file in someone else's folder
            raise _not_empty(root, foreign)
        make_private_directory(root)  # the index says who was seen when: personal data, even without pixels
        with writer_lock(root, settings.lock_timeout_s):
            cls.refuse_unless_creatable(root)
            for name in (SNAPSHOTS_DIR, CAMERAS_DIR):
                make_private_directory(root / name)
            operator = ed25519.Ed25519PrivateKey.generate()
            atomic_write(root / OPERATOR_KEY_NAME, generate_signing_key_pem(operator), mode=0o600)
            config = VaultConfig(round(time.time(), 6), float(retention_days), authority, operator.public_key())
            vault = cls(root, config, _connect(root / INDEX_NAME, create=True, busy_timeout_s=settings.lock_timeout_s), settings)
            os.chmod(root / INDEX_NAME, 0o600)
            details = {
                "authority": authority.to_json(),
                "retention_days": config.retention_days,
                "operator_public": public_key_b64(operator),
            }
            vault.append("vault-created", actor, "operator", details, operator)
            # vault.json is written last: without it the folder is reported as incomplete, never reused.
            atomic_write(root / CONFIG_NAME, canonical_json(config.to_json()) + b"\n", mode=0o644)
        return vault

    @classmethod
    def restore_config(cls, root: Path, settings: VaultSettings = DEFAULTS) -> VaultConfig:
        """Rebuild a lost ``vault.json`` from the signed ``vault-created`` entry (authority, retention, operator key)."""
        root = Path(root)
        cls._check_folder(root)
        if (root / CONFIG_NAME).exists():
            raise VaultError(f"vault {root} has its {CONFIG_NAME}; nothing to restore")
        if not (root / INDEX_NAME).exists():
            raise VaultError(f"vault {root} has no {INDEX_NAME}; {CONFIG_NAME} can only be rebuilt from its audit log")
        connection = _connect(root / INDEX_NAME, create=False, busy_timeout_s=settings.lock_timeout_s)
        try:
            with writer_lock(root, settings.lock_timeout_s):
                first = connection.execute("SELECT seq, entry FROM audit WHERE seq = 1").fetchall()
                state, problem = verify_chain(first)
                if state.authority is None or state.operator is None or state.retention_days is None:
                    raise VaultError(f"vault {root}: audit entry #1 does not verify ({problem or 'missing'}); {CONFIG_NAME} cannot be rebuilt")
                config = VaultConfig(parse_entry(first[0][1]).time_utc, state.retention_days, state.authority, state.operator)
                atomic_write(root / CONFIG_NAME, canonical_json(config.to_json()) + b"\n", mode=0o644)
        except sqlite3.Error as error:
            raise _sqlite_error(root / INDEX_NAME, error) from error
        finally:
            connection.close()
        return config

    @classmethod
    def refuse_unless_creatable(cls, root: Path) -> None:
        """Raise unless ``root`` is a missing or empty folder: never create over a vault, an incomplete one, or other files."""
        root = Path(root)
        cls._check_folder(root)
        if not root.is_dir():
            return
        if (root / CONFIG_NAME).exists():
            raise VaultExists(f"{root} already holds a vault")
        if _holds_vault_data(root):
            raise _incomplete(root)
        leftovers = sorted(set(_listing(root)) - {LOCK_NAME})
        if leftovers:
            raise _not_empty(root, leftovers)

    @classmethod
    def open_or_create(
        cls, root: Path, authority: AuthorityPublicKey, retention_days: float | None, actor: str, settings: VaultSettings = DEFAULTS
    ) -> tuple["Vault", bool]:
        """Open the vault at ``root``, creating it for ``authority`` if the folder is missing or empty."""
        root = Path(root)
        cls._check_folder(root)
        if not (root / CONFIG_NAME).exists():
            try:
                return cls.create(root, authority, settings.retention_days if retention_days is None else retention_days, actor, settings), True
            except VaultExists:
                pass  # another process created it meanwhile: open theirs
        vault = cls.open(root, settings)
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

    @contextmanager
    def lock(self) -> Iterator[None]:
        with writer_lock(self.root, self.settings.lock_timeout_s):
            yield

    # -- keys -----------------------------------------------------------------------------------
    def operator_key(self) -> ed25519.Ed25519PrivateKey:
        key = load_signing_key(self.operator_key_path, "vault operator key")
        if public_key_b64(key) != public_key_b64(self.config.operator_public):
            raise VaultError(f"{self.operator_key_path} does not match the operator key in {CONFIG_NAME}")
        return key

    def camera_key_path(self, camera_id: str) -> Path:
        return self.cameras_dir / f"{camera_id}.key"

    @staticmethod
    def load_or_create_signing_key(path: Path, what: str) -> ed25519.Ed25519PrivateKey:
        """Read the key at ``path``, or create it there; of two racing creators one wins, both use its key."""
        if not path.exists():
            make_private_directory(path.parent)
            create_exclusive(path, generate_signing_key_pem(ed25519.Ed25519PrivateKey.generate()), mode=0o600)
        return load_signing_key(path, what)

    # -- the audit log --------------------------------------------------------------------------
    def audit_texts(self, after_seq: int = 0) -> list[tuple[int, str]]:
        rows = self._query("SELECT seq, entry FROM audit WHERE seq > ? ORDER BY seq", (after_seq,))
        result = []
        for position, text in rows:
            if not isinstance(position, int) or not isinstance(text, str):
                raise VaultError(f"index {self.index_path}: audit row {position!r} is malformed")
            result.append((position, text))
        return result

    def chain(self, state: ChainState | None = None) -> tuple[ChainState, str | None]:
        """Verify the log (continuing ``state`` if given); what it proves and its first problem."""
        return verify_chain(self.audit_texts(state.count if state is not None else 0), state)

    def signed_origin(self) -> tuple[ChainState, str | None]:
        """Verify the signed ``vault-created`` entry #1 alone: the authority, retention and operator key
        the vault was created with (``authority`` is None, with the problem, when it does not verify).
        Cheaper than ``chain()`` where only the origin matters; ``chain()`` still checks the whole log."""
        return verify_chain(self._query("SELECT seq, entry FROM audit WHERE seq = 1"))

    def config_problem(self, state: ChainState) -> str | None:
        """How ``vault.json`` disagrees with the signed ``vault-created`` entry, if it does."""
        config = self.config
        if state.authority is None:
            return None
        if (
            state.authority.fingerprint != config.authority.fingerprint
            or state.retention_days != config.retention_days
            or state.operator is None
            or public_key_b64(state.operator) != public_key_b64(config.operator_public)
        ):
            return f"{CONFIG_NAME} disagrees with audit entry #1 (authority, retention or operator key was changed)"
        return None

    def append(
        self,
        event: str,
        actor: str,
        signer: str,
        details: dict[str, Any],
        key: ed25519.Ed25519PrivateKey,
        insert: "IndexRow | None" = None,
        delete: Iterable[str] = (),
        statements: Iterable[tuple[str, tuple[Any, ...]]] = (),
    ) -> AuditEntry:
        """Append one signed entry; insert the index row ``insert``, delete the rows of ``delete`` and run
        ``statements`` (SQL with bound parameters) in the same transaction (after a crash, all happened or none)."""
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                last = connection.execute("SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, _entry_hash(last[1]))
                entry = make_entry(seq, event, actor, signer, details, prev, key)
                connection.execute("INSERT INTO audit (seq, entry) VALUES (?, ?)", (seq, entry.text()))
                if insert is not None:
                    placeholders = ", ".join("?" for _ in INDEX_COLUMNS)
                    connection.execute(f"INSERT INTO snapshots ({', '.join(INDEX_COLUMNS)}) VALUES ({placeholders})", insert.to_sql())
                connection.executemany("DELETE FROM snapshots WHERE snapshot_id = ?", [(i,) for i in delete])
                for sql, params in statements:
                    connection.execute(sql, params)
                connection.execute("COMMIT")
            except BaseException:
                # SQLite already rolled back on some errors (a full disk): rolling back again would hide the cause.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise _sqlite_error(self.index_path, error) from error
        return entry

    # -- the index ------------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise _sqlite_error(self.index_path, error) from error

    def rows(self, scope: Scope | None = None, ids: Iterable[str] | None = None) -> list[IndexRow]:
        """Index rows, optionally those a scope selects or with given ids (both ``AND``)."""
        clauses: list[str] = []
        params: list[Any] = []
        if scope is not None and scope.cameras:
            clauses.append(f"camera_id IN ({', '.join('?' for _ in scope.cameras)})")
            params.extend(scope.cameras)
        if scope is not None and scope.start_utc is not None:
            clauses.append("seen_at_utc >= ?")
            params.append(scope.start_utc)
        if scope is not None and scope.end_utc is not None:
            clauses.append("seen_at_utc <= ?")
            params.append(scope.end_utc)
        if ids is not None:
            wanted = list(ids)
            clauses.append(f"snapshot_id IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(INDEX_COLUMNS)} FROM snapshots {where} ORDER BY seen_at_utc, snapshot_id"
        return [IndexRow.from_sql(row) for row in self._query(sql, tuple(params))]

    def vacuum(self) -> None:
        try:
            self.connection.execute("VACUUM")
        except sqlite3.Error as error:
            raise _sqlite_error(self.index_path, error) from error

    # -- sealed files -----------------------------------------------------------------------------
    def write_sealed(self, snapshot_id: str, blob: bytes) -> str:
        """Durably write a sealed file (hold the lock); its file name."""
        path = self.sealed_path(snapshot_id)
        atomic_write(path, blob, mode=0o600)
        return path.name

    def read_sealed(self, snapshot_id: str, expected_sha256: str | None = None) -> tuple[SealedFile, str]:
        """Read, hash-check and parse one sealed file; ``(parsed file, its SHA-256)``, or a ``VaultError``."""
        path = self.sealed_path(snapshot_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError as error:
            raise VaultError(f"sealed file {path} is missing") from error
        except OSError as error:
            raise VaultError(f"sealed file {path} cannot be read: {describe_os_error(error)}") from error
        digest = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise VaultError(f"sealed file {path} does not match its recorded hash (altered or corrupt)")
        sealed = parse_sealed(data, str(path))
        if sealed.snapshot_id != snapshot_id:
            raise VaultError(f"sealed file {path} holds snapshot {sealed.snapshot_id}, not {snapshot_id}")
        return sealed, digest

    def scan_files(self) -> SnapshotFiles:
        """Everything in the snapshots folder, sorted by name; a missing folder is a ``VaultError``."""
        try:
            paths = sorted(self.snapshots_dir.iterdir())
        except FileNotFoundError as error:
            raise VaultError(f"vault {self.root} has no {SNAPSHOTS_DIR}/ folder (it was deleted or moved)") from error
        except OSError as error:
            raise VaultError(f"cannot read {self.snapshots_dir}: {describe_os_error(error)}") from error
        sealed: dict[str, Path] = {}
        temporary: list[Path] = []
        unexpected: list[Path] = []
        for path in paths:
            if path.name.startswith(TEMP_PREFIX):
                temporary.append(path)
            elif path.name.endswith(SEALED_SUFFIX) and path.is_file():
                sealed[path.name.removesuffix(SEALED_SUFFIX)] = path
            else:
                unexpected.append(path)
        return SnapshotFiles(sealed, temporary, unexpected)

    def remove_files(self, paths: Iterable[Path]) -> int:
        """Overwrite and unlink files of the snapshots folder; how many."""
        count = 0
        for path in paths:
            shred(path)
            count += 1
        if count:
            fsync_directory(self.snapshots_dir)
        return count


def _entry_hash(text: object) -> str:
    """The chain hash of a stored entry; a damaged last entry still gets a hash, so an opening can be logged after it."""
    try:
        return parse_entry(text).hash  # type: ignore[arg-type]
    except VaultError:
        raw = text if isinstance(text, str) else repr(text)
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _holds_vault_data(root: Path) -> bool:
    return any(name in {INDEX_NAME, OPERATOR_KEY_NAME, SNAPSHOTS_DIR} for name in _listing(root))


def _incomplete(root: Path) -> VaultError:
    return VaultError(
        f"vault {root} is incomplete: it holds vault data but no {CONFIG_NAME}; refusing to use or re-create it "
        f"(rebuild it from the signed log with `sealshot vault restore-config`; see the README, 'Recovery')"
    )


def _is_vault_name(name: str) -> bool:
    return name in {CONFIG_NAME, INDEX_NAME, f"{INDEX_NAME}-journal", LOCK_NAME, OPERATOR_KEY_NAME, SNAPSHOTS_DIR, CAMERAS_DIR} or name.startswith(TEMP_PREFIX)


def _not_empty(root: Path, names: list[str]) -> VaultError:
    return VaultError(
        f"cannot create a vault in {root}: the folder is not empty and is not a vault "
        f"(holds {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
    )


def _listing(root: Path) -> list[str]:
    try:
        return [path.name for path in root.iterdir()]
    except OSError as error:
        raise VaultError(f"cannot read folder {root}: {describe_os_error(error)}") from error


@contextmanager
def writer_lock(root: Path, timeout_s: float = DEFAULTS.lock_timeout_s) -> Iterator[None]:
    """Exclusive advisory lock on ``root/.lock``; the kernel drops it if the holder dies (even kill -9).

    Polls instead of blocking, so that a signal handler runs at once and a stuck holder is
    reported after ``timeout_s`` instead of hanging the caller.
    """
    try:
        descriptor = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise VaultError(f"cannot take the writer lock {root / LOCK_NAME}: {describe_os_error(error)}") from error
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise VaultError(
                        f"vault {root} is busy: another process has held its writer lock for over {timeout_s:g} s; "
                        "try again later, or stop the other sealshot process"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)
