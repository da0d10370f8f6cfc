"""A vault: its configuration, index, audit log, sealed files and writer lock, wherever they live.

An embedded vault is a folder::

    VAULT/
      vault.json        format, creation time, retention period, authority public keys, operator public key
      index.sqlite      table ``snapshots`` (metadata, no pixels) and table ``audit`` (the signed chain)
      operator.key      the vault's Ed25519 operator key (signs vault-created, purged and camera-rotated entries)
      cameras/ID.key    a camera's Ed25519 key, unless the camera keeps its own elsewhere
      snapshots/ID.seal one sealed file per snapshot
      .lock             writers hold an exclusive flock on it while they write

A remote vault (``postgresql://…?objects=s3://…``, see ``sealshot.vault.location``) keeps the same
tables in PostgreSQL (plus ``vault_config``, the document of ``vault.json``), the sealed files in S3
(``sealshot.vault.objects``) and this machine's keys in a local folder; its writer lock is a
PostgreSQL advisory lock.

``Vault`` is the one owner of this layout: every SQL statement, every path and every read of a
sealed file is here; sealing, opening, retention and verification are policies over its methods.

Index and log live in one database so that a snapshot's index row and its ``sealed`` entry are
committed in one transaction: after a crash both exist or neither does.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import GENESIS, AuditEntry, ChainState, make_entry, parse_entry, verify_chain
from sealshot.vault.encoding import (
    TEMP_PREFIX,
    atomic_write,
    canonical_json,
    create_exclusive,
    describe_os_error,
    load_json_object,
    make_private_directory,
    read_json_file,
)
from sealshot.vault.index_db import WRITER_LOCK_KEY, IndexDatabase, PostgresIndex, SQLiteIndex
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import (
    AuthorityPublicKey,
    ed25519_public_from_b64,
    generate_signing_key_pem,
    load_signing_key,
    public_key_b64,
)
from sealshot.vault.location import VaultLocation, VaultLocationLike, parse_location
from sealshot.vault.objects import SNAPSHOTS_DIR, FolderObjects, ObjectStore, S3Objects, SnapshotFiles, StoredObject
from sealshot.vault.scope import Scope
from sealshot.vault.sealed import SealedFile, parse_sealed

CONFIG_FORMAT = "sealshot-vault-v1"
AUDIT_PAGE = 5000  # entries read per query when walking the log
CONFIG_NAME, INDEX_NAME, LOCK_NAME, OPERATOR_KEY_NAME = "vault.json", "index.sqlite", ".lock", "operator.key"
CAMERAS_DIR = "cameras"


@dataclass(frozen=True)
class VaultSettings:
    """Defaults of the vault, in one place; the command options refer to these."""

    retention_days: float = 30.0
    lock_timeout_s: float = 60.0  # how long a writer waits for another writer (the vault's lock, SQLite's lock) before giving up
    outage_retry_s: float = 60.0  # how long a seal keeps retrying while a remote vault's database or S3 cannot be reached


DEFAULTS = VaultSettings()

INDEX_COLUMNS = (
    "snapshot_id", "camera_id", "track_id", "seen_at_utc", "first_seen_utc", "last_seen_utc", "sealed_at_utc",
    "quality", "quality_method", "frame_index", "file_name", "sha256", "size",
)  # fmt: skip


INSERT_ROW = f"INSERT INTO snapshots ({', '.join(INDEX_COLUMNS)}) VALUES ({', '.join('?' for _ in INDEX_COLUMNS)})"


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


CONFIG_ROW = "vault.json"  # the name of the configuration document in a remote vault's vault_config table


class Vault:
    """An open vault: its layout, index, audit log and sealed files, in a folder or remote.

    Use :meth:`open`, :meth:`create` or :meth:`open_or_create` with a folder or a
    ``postgresql://…?objects=s3://…`` location; close it (or use ``with``).
    """

    def __init__(
        self, location: VaultLocation, config: VaultConfig, index: IndexDatabase, objects: ObjectStore, settings: VaultSettings = DEFAULTS
    ) -> None:
        self.location = location
        self.config = config
        self.index = index
        self.objects = objects
        self.settings = settings

    # -- layout -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The vault's location for messages (a folder, or its URL without password)."""
        return str(self.location)

    @property
    def local_folder(self) -> Path:
        """The vault folder, or the local key folder of a remote vault (decrypted output never goes inside)."""
        return self.location.local_keys

    @property
    def root(self) -> Path:
        """The vault folder of an embedded vault (a ``VaultError`` for a remote one)."""
        if self.location.folder is None:
            raise VaultError(f"vault {self.name} is not a folder")
        return self.location.folder

    @property
    def snapshots_dir(self) -> Path:
        return self.root / SNAPSHOTS_DIR

    @property
    def operator_key_path(self) -> Path:
        return self.location.local_keys / OPERATOR_KEY_NAME

    @property
    def authority(self) -> AuthorityPublicKey:
        return self.config.authority

    def camera_key_path(self, camera_id: str) -> Path:
        return self.location.local_keys / CAMERAS_DIR / f"{camera_id}.key"

    def describe_sealed(self, snapshot_id: str, camera_id: str) -> str:
        """Where a snapshot's sealed file is (a path or an s3:// URL), for messages."""
        return self.objects.describe(snapshot_id, camera_id)

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, location: VaultLocationLike, settings: VaultSettings = DEFAULTS) -> "Vault":
        """Open an existing, complete vault; an incomplete one is reported, never repaired silently."""
        where = parse_location(location)
        if where.folder is None:
            return cls._open_remote(where, settings)
        root = where.folder
        _check_folder(root)
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            if root.is_dir() and _holds_vault_data(root):
                raise _incomplete(root)
            raise VaultError(f"{root} is not a sealshot vault (no {CONFIG_NAME})")
        if not (root / INDEX_NAME).exists():
            raise VaultError(f"vault {root} is incomplete: {INDEX_NAME} is missing (restore it from a backup)")
        config = VaultConfig.from_json(read_json_file(config_path, "vault configuration"), f"{config_path}")
        index = SQLiteIndex(root / INDEX_NAME, create=False, busy_timeout_s=settings.lock_timeout_s)
        return cls(where, config, index, FolderObjects(root / SNAPSHOTS_DIR), settings)

    @classmethod
    def _connect_remote(cls, where: VaultLocation, settings: VaultSettings, create: bool = False) -> tuple[PostgresIndex, S3Objects]:
        assert where.database is not None and where.objects is not None
        index = PostgresIndex(where.database, str(where), create, settings.lock_timeout_s)
        try:
            return index, S3Objects(where.objects)
        except BaseException:
            index.close()
            raise

    @classmethod
    def _open_remote(cls, where: VaultLocation, settings: VaultSettings) -> "Vault":
        index, objects = cls._connect_remote(where, settings)
        try:
            tables = index.tables()
            if not {"snapshots", "audit", "vault_config"} <= tables:
                raise VaultError(f"{where} is not a sealshot vault (its database has no vault tables)")
            document = _remote_config_document(index, tables)
            if document is None:
                if index.query("SELECT seq FROM audit WHERE seq = 1"):
                    raise _incomplete(where)
                raise VaultError(f"{where} is not a sealshot vault (no configuration)")
            config = VaultConfig.from_json(load_json_object(document.encode(), f"{where}: configuration"), f"{where}: configuration")
        except BaseException:
            index.close()
            raise
        return cls(where, config, index, objects, settings)

    @classmethod
    def create(
        cls, location: VaultLocationLike, authority: AuthorityPublicKey, retention_days: float, actor: str, settings: VaultSettings = DEFAULTS
    ) -> "Vault":
        """Create a vault in a new or empty folder (or an empty database and bucket); anything there is refused."""
        where = parse_location(location)
        if not math.isfinite(retention_days) or not 0 < retention_days < 1e6:
            raise VaultError(f"retention must be a positive number of days, got {retention_days}")
        operator = ed25519.Ed25519PrivateKey.generate()
        config = VaultConfig(round(time.time(), 6), float(retention_days), authority, operator.public_key())
        with cls.creating(where, config, operator, settings) as vault:
            vault._log_creation(operator, actor)
        return vault

    @classmethod
    @contextmanager
    def creating(
        cls, location: VaultLocationLike, config: VaultConfig, operator: ed25519.Ed25519PrivateKey, settings: VaultSettings = DEFAULTS
    ) -> Iterator["Vault"]:
        """Under the writer lock, the structure of a new vault (tables, folders, the operator key file) with
        no entry yet, for the caller to fill (``create`` logs ``vault-created``, ``migrate`` copies a log);
        the configuration is written when the block ends without an error, last, so that a vault cut
        short is reported as incomplete and never reused. Refused where anything is already there."""
        where = parse_location(location)
        if where.folder is None:
            index, objects = cls._connect_remote(where, settings, create=True)
            lock: Any = index.advisory_lock(WRITER_LOCK_KEY, str(where))
        else:
            root = where.folder
            _check_folder(root)
            foreign = sorted(name for name in (_listing(root) if root.is_dir() else []) if not _is_vault_name(name))
            if foreign:  # checked before taking the lock, which would leave a .lock file in someone else's folder
                raise _not_empty(root, foreign)
            make_private_directory(root)  # the index says who was seen when: personal data, even without pixels
            lock = writer_lock(root, settings.lock_timeout_s)
        vault: Vault | None = None
        try:
            with lock:
                if where.folder is None:
                    _refuse_unless_remote_creatable(where, index, objects)
                    make_private_directory(where.local_keys)
                    try:
                        create_exclusive(where.local_keys / OPERATOR_KEY_NAME, generate_signing_key_pem(operator), mode=0o600)
                    except FileExistsError as error:
                        raise VaultError(
                            f"{where.local_keys / OPERATOR_KEY_NAME} already exists (the operator key of another vault?); "
                            "choose an empty keys= folder"
                        ) from error
                    vault = cls(where, config, index, objects, settings)
                else:
                    cls.refuse_unless_creatable(root)
                    for name in (SNAPSHOTS_DIR, CAMERAS_DIR):
                        make_private_directory(root / name)
                    atomic_write(root / OPERATOR_KEY_NAME, generate_signing_key_pem(operator), mode=0o600)
                    index = SQLiteIndex(root / INDEX_NAME, create=True, busy_timeout_s=settings.lock_timeout_s)
                    os.chmod(root / INDEX_NAME, 0o600)
                    vault = cls(where, config, index, FolderObjects(root / SNAPSHOTS_DIR), settings)
                yield vault
                vault.write_config()
        except BaseException:
            if vault is not None:
                vault.close()
            elif where.folder is None:
                index.close()
            raise

    def _log_creation(self, operator: ed25519.Ed25519PrivateKey, actor: str) -> None:
        details = {
            "authority": self.config.authority.to_json(),
            "retention_days": self.config.retention_days,
            "operator_public": public_key_b64(operator),
        }
        self.append("vault-created", actor, "operator", details, operator)

    def write_config(self) -> None:
        """Write the configuration (``vault.json``, or its row in a remote vault); hold the lock."""
        document = canonical_json(self.config.to_json()) + b"\n"
        if self.location.folder is not None:
            atomic_write(self.location.folder / CONFIG_NAME, document, mode=0o644)
        else:
            with self.index.transaction() as sql:
                sql.execute("DELETE FROM vault_config WHERE name = ?", (CONFIG_ROW,))
                sql.execute("INSERT INTO vault_config (name, document) VALUES (?, ?)", (CONFIG_ROW, document.decode()))

    @classmethod
    def restore_config(cls, location: VaultLocationLike, settings: VaultSettings = DEFAULTS) -> VaultConfig:
        """Rebuild a lost ``vault.json`` from the signed ``vault-created`` entry (authority, retention, operator key)."""
        where = parse_location(location)
        if where.folder is not None:
            root = where.folder
            _check_folder(root)
            if (root / CONFIG_NAME).exists():
                raise VaultError(f"vault {root} has its {CONFIG_NAME}; nothing to restore")
            if not (root / INDEX_NAME).exists():
                raise VaultError(f"vault {root} has no {INDEX_NAME}; {CONFIG_NAME} can only be rebuilt from its audit log")
            index: IndexDatabase = SQLiteIndex(root / INDEX_NAME, create=False, busy_timeout_s=settings.lock_timeout_s)
            objects: ObjectStore = FolderObjects(root / SNAPSHOTS_DIR)
        else:
            index, objects = cls._connect_remote(where, settings)
            if _remote_config_document(index) is not None:
                index.close()
                raise VaultError(f"vault {where} has its configuration; nothing to restore")
        try:
            first = index.query("SELECT seq, entry FROM audit WHERE seq = 1")
            state, problem = verify_chain(first)
            if state.authority is None or state.operator is None or state.retention_days is None:
                raise VaultError(f"vault {where}: audit entry #1 does not verify ({problem or 'missing'}); {CONFIG_NAME} cannot be rebuilt")
            config = VaultConfig(parse_entry(first[0][1]).time_utc, state.retention_days, state.authority, state.operator)
            vault = cls(where, config, index, objects, settings)
            with vault.lock():
                vault.write_config()
        finally:
            index.close()
        return config

    @classmethod
    def refuse_unless_creatable(cls, location: VaultLocationLike) -> None:
        """Raise unless the location is a missing or empty folder (or an empty database and bucket):
        never create over a vault, an incomplete one, or other files."""
        where = parse_location(location)
        if where.folder is None:
            index, objects = cls._connect_remote(where, DEFAULTS)
            try:
                _refuse_unless_remote_creatable(where, index, objects)
            finally:
                index.close()
            return
        root = where.folder
        _check_folder(root)
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
    def exists(cls, location: VaultLocationLike) -> bool:
        """Whether a complete vault is at the location (its configuration is there)."""
        where = parse_location(location)
        if where.folder is not None:
            _check_folder(where.folder)
            return (where.folder / CONFIG_NAME).exists()
        index, _ = cls._connect_remote(where, DEFAULTS)
        try:
            return _remote_config_document(index) is not None
        finally:
            index.close()

    @classmethod
    def open_or_create(
        cls, location: VaultLocationLike, authority: AuthorityPublicKey, retention_days: float | None, actor: str, settings: VaultSettings = DEFAULTS
    ) -> tuple["Vault", bool]:
        """Open the vault at ``location``, creating it for ``authority`` if the folder is missing or empty."""
        where = parse_location(location)
        if not cls.exists(where):
            try:
                return cls.create(where, authority, settings.retention_days if retention_days is None else retention_days, actor, settings), True
            except VaultExists:
                pass  # another process created it meanwhile: open theirs
        vault = cls.open(where, settings)
        if vault.authority.fingerprint != authority.fingerprint:
            vault.close()
            raise VaultError(
                f"vault {where} is sealed for authority key {vault.authority.fingerprint}; "
                f"the given key is {authority.fingerprint}"
            )
        if retention_days is not None and retention_days != vault.config.retention_days:
            vault.close()
            raise VaultError(
                f"vault {where} keeps snapshots {vault.config.retention_days:g} days (set at creation); "
                f"it cannot be changed to {retention_days:g}"
            )
        return vault, False

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The writer lock: a flock on ``.lock`` in a folder, a session advisory lock in PostgreSQL."""
        if self.location.folder is not None:
            with writer_lock(self.location.folder, self.settings.lock_timeout_s):
                yield
        else:
            assert isinstance(self.index, PostgresIndex)
            with self.index.advisory_lock(WRITER_LOCK_KEY, self.name):
                yield

    # -- keys -----------------------------------------------------------------------------------
    def operator_key(self) -> ed25519.Ed25519PrivateKey:
        path = self.operator_key_path
        if not path.exists() and self.location.folder is None:
            raise VaultError(
                f"the operator key of vault {self.name} is not on this machine ({path}); "
                "run this where the vault's operator works, or give keys=FOLDER in the vault URL"
            )
        key = load_signing_key(path, "vault operator key")
        if public_key_b64(key) != public_key_b64(self.config.operator_public):
            raise VaultError(f"{path} does not match the operator key in {CONFIG_NAME}")
        return key

    @staticmethod
    def load_or_create_signing_key(path: Path, what: str) -> ed25519.Ed25519PrivateKey:
        """Read the key at ``path``, or create it there; of two racing creators one wins, both use its key."""
        if not path.exists():
            make_private_directory(path.parent)
            create_exclusive(path, generate_signing_key_pem(ed25519.Ed25519PrivateKey.generate()), mode=0o600)
        return load_signing_key(path, what)

    # -- the audit log --------------------------------------------------------------------------
    def audit_texts(self, after_seq: int = 0, limit: int | None = None, up_to: int | None = None) -> list[tuple[int, str]]:
        """The stored entries after position ``after_seq`` (to ``up_to``) in order, at most ``limit``, as ``(position, text)``."""
        sql, params = "SELECT seq, entry FROM audit WHERE seq > ?", [after_seq]
        if up_to is not None:
            sql, params = sql + " AND seq <= ?", params + [up_to]
        sql += " ORDER BY seq"
        if limit is not None:
            sql, params = sql + " LIMIT ?", params + [limit]
        rows = self.index.query(sql, tuple(params))
        result = []
        for position, text in rows:
            if not isinstance(position, int) or not isinstance(text, str):
                raise VaultError(f"index {self.index.name}: audit row {position!r} is malformed")
            result.append((position, text))
        return result

    def audit_pages(self, after_seq: int = 0, up_to: int | None = None, page_size: int = AUDIT_PAGE) -> Iterator[list[tuple[int, str]]]:
        """The stored entries after ``after_seq`` (to ``up_to``), a page at a time, so a long log is never all in memory."""
        while True:
            page = self.audit_texts(after_seq, limit=page_size, up_to=up_to)
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            after_seq = page[-1][0]

    def chain(self, state: ChainState | None = None) -> tuple[ChainState, str | None]:
        """Verify the log (continuing ``state`` if given); what it proves and its first problem."""
        state = ChainState() if state is None else state
        for page in self.audit_pages(state.count):
            state, problem = verify_chain(page, state)
            if problem is not None:
                return state, problem
        return state, None

    def signed_origin(self) -> tuple[ChainState, str | None]:
        """Verify the signed ``vault-created`` entry #1 alone: the authority, retention and operator key
        the vault was created with (``authority`` is None, with the problem, when it does not verify).
        Cheaper than ``chain()`` where only the origin matters; ``chain()`` still checks the whole log."""
        return verify_chain(self.index.query("SELECT seq, entry FROM audit WHERE seq = 1"))

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
        with self.index.transaction() as sql:
            last = sql.execute("SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1")
            seq, prev = (1, GENESIS) if not last else (int(last[0][0]) + 1, _entry_hash(last[0][1]))
            entry = make_entry(seq, event, actor, signer, details, prev, key)
            sql.execute("INSERT INTO audit (seq, entry) VALUES (?, ?)", (seq, entry.text()))
            if insert is not None:
                sql.execute(INSERT_ROW, insert.to_sql())
            for snapshot_id in delete:
                sql.execute("DELETE FROM snapshots WHERE snapshot_id = ?", (snapshot_id,))
            for statement, params in statements:
                sql.execute(statement, params)
        return entry

    def import_records(self, source: "Vault", tables: Iterable[tuple[str, Sequence[str]]] = ()) -> int:
        """Copy ``source``'s audit log (entry by entry, verbatim), its index rows and the named extra
        ``(table, columns)`` into this empty vault, in one transaction; how many entries."""
        entries = source.audit_texts()
        rows = source.rows()
        extra = [(table, columns, source.query(f"SELECT {', '.join(columns)} FROM {table}")) for table, columns in tables]
        with self.index.transaction() as sql:
            if sql.execute("SELECT seq FROM audit LIMIT 1"):
                raise VaultError(f"vault {self.name} already has audit entries; records are only imported into an empty vault")
            for seq, text in entries:
                sql.execute("INSERT INTO audit (seq, entry) VALUES (?, ?)", (seq, text))
            for row in rows:
                sql.execute(INSERT_ROW, row.to_sql())
            for table, columns, values in extra:
                for value in values:
                    sql.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", value)
        return len(entries)

    # -- the index ------------------------------------------------------------------------------
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One read of the database (SQLite-style SQL with ``?`` parameters); for the console's tables."""
        return self.index.query(sql, params)

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
            if not wanted:
                return []
            clauses.append(f"snapshot_id IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(INDEX_COLUMNS)} FROM snapshots {where} ORDER BY seen_at_utc, snapshot_id"
        return [IndexRow.from_sql(row) for row in self.index.query(sql, tuple(params))]

    def vacuum(self) -> None:
        self.index.vacuum()

    # -- sealed files -----------------------------------------------------------------------------
    def write_sealed(self, snapshot_id: str, camera_id: str, blob: bytes) -> str:
        """Durably store a sealed file (hold the lock); its file name."""
        return self.objects.write(snapshot_id, camera_id, blob)

    def read_sealed(self, snapshot_id: str, camera_id: str, expected_sha256: str | None = None) -> tuple[SealedFile, str]:
        """Read, hash-check and parse one snapshot's sealed file; ``(parsed file, its SHA-256)``, or a ``VaultError``."""
        data = self.objects.read(snapshot_id, camera_id)
        return _checked_sealed(snapshot_id, data, self.objects.describe(snapshot_id, camera_id), expected_sha256)

    def read_stored(self, stored: StoredObject) -> tuple[SealedFile, str]:
        """Read and parse a sealed file as a scan found it (``scan_files``), recorded or not."""
        return _checked_sealed(stored.snapshot_id, self.objects.read_name(stored.name), stored.name, None)

    def scan_files(self, camera_id: str | None = None) -> SnapshotFiles:
        """Everything in the object store, sorted by name (only ``camera_id``'s where the store keeps cameras apart)."""
        return self.objects.scan(camera_id)

    def remove_files(self, names: Iterable[str]) -> int:
        """Delete stored files by the names a scan gave (a folder overwrites them first); how many."""
        return self.objects.remove(names)


def _checked_sealed(snapshot_id: str, data: bytes, where: str, expected_sha256: str | None) -> tuple[SealedFile, str]:
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise VaultError(f"sealed file {where} does not match its recorded hash (altered or corrupt)")
    sealed = parse_sealed(data, where)
    if sealed.snapshot_id != snapshot_id:
        raise VaultError(f"sealed file {where} holds snapshot {sealed.snapshot_id}, not {snapshot_id}")
    return sealed, digest


def _check_folder(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise VaultError(f"vault {root} is a file, not a folder")


def _remote_config_document(index: IndexDatabase, tables: set[str] | None = None) -> str | None:
    """The configuration document of a remote vault, or None (no ``vault_config`` table, or no row in it)."""
    if "vault_config" not in (index.tables() if tables is None else tables):
        return None
    rows = index.query("SELECT document FROM vault_config WHERE name = ?", (CONFIG_ROW,))
    return rows[0][0] if rows and isinstance(rows[0][0], str) else None


def _refuse_unless_remote_creatable(where: VaultLocation, index: IndexDatabase, objects: ObjectStore) -> None:
    tables = index.tables()
    if _remote_config_document(index, tables) is not None:
        raise VaultExists(f"{where} already holds a vault")
    if "audit" in tables and index.query("SELECT seq FROM audit WHERE seq = 1"):
        raise _incomplete(where)
    if "snapshots" in tables and index.query("SELECT snapshot_id FROM snapshots LIMIT 1"):
        raise VaultError(f"cannot create a vault at {where}: its database already holds snapshot rows")
    if not objects.is_empty():
        raise VaultError(f"cannot create a vault at {where}: the object storage already holds sealed files")

def _entry_hash(text: object) -> str:
    """The chain hash of a stored entry; a damaged last entry still gets a hash, so an opening can be logged after it."""
    try:
        return parse_entry(text).hash  # type: ignore[arg-type]
    except VaultError:
        raw = text if isinstance(text, str) else repr(text)
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _holds_vault_data(root: Path) -> bool:
    return any(name in {INDEX_NAME, OPERATOR_KEY_NAME, SNAPSHOTS_DIR} for name in _listing(root))


def _incomplete(root: object) -> VaultError:
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
        pause = 0.001  # short at first: most waits are one other writer's seal, a few milliseconds
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
                time.sleep(pause)
                pause = min(2 * pause, 0.05)
        yield
    finally:
        os.close(descriptor)
