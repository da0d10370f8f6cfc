"""The vault's SQL database: SQLite in a vault folder, or PostgreSQL; one small interface over both.

SQL is written once, SQLite style (``?`` placeholders, ``REAL``/``INTEGER``/``TEXT`` columns); the
PostgreSQL side rewrites placeholders and maps types (``REAL`` → ``DOUBLE PRECISION``, so times and
scores round-trip exactly; ``INTEGER`` → ``BIGINT``). Every statement binds its parameters.

A writing ``transaction()`` is where the audit chain gets its one total order: SQLite takes the
database's write lock (``BEGIN IMMEDIATE``); PostgreSQL takes a transaction-scoped advisory lock on
the chain head (it needs no table privilege, so a camera's role can hold it), so appends from many
cameras on many machines queue up and each reads the true head. The primary key on ``audit.seq``
makes a fork impossible even for a writer that skipped the lock: its insert would fail.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

from sealshot.vault.errors import VaultError, VaultUnavailable

Params = Sequence[Any]

SNAPSHOTS_TABLE = """
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
"""

SQLITE_SCHEMA = SNAPSHOTS_TABLE + """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

# vault_config holds what a folder vault keeps in vault.json; written last when a vault is created.
POSTGRES_EXTRA = """
CREATE TABLE IF NOT EXISTS vault_config (name TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE OR REPLACE FUNCTION sealshot_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
DROP TRIGGER IF EXISTS audit_append_only ON audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION sealshot_audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION sealshot_audit_append_only();
"""

_WORD_TYPES = {"REAL": "DOUBLE PRECISION", "INTEGER": "BIGINT"}


class Executor(Protocol):
    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class IndexDatabase(Protocol):
    """What ``Vault`` needs of its database."""

    name: str

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    def transaction(self) -> AbstractContextManager[Executor]:
        """A context manager yielding an ``Executor``; commits at the end, rolls back on an exception."""
        ...

    def create_schema(self, script: str) -> None: ...

    def tables(self) -> set[str]: ...

    def vacuum(self) -> None: ...

    def close(self) -> None: ...


# -- SQLite -------------------------------------------------------------------------------------------
def sqlite_error(name: str, error: sqlite3.Error) -> VaultError:
    text = str(error)
    if "readonly" in text or "read-only" in text:
        text += " (the vault is read-only for this user)"
    return VaultError(f"index {name}: {text}")


class _SQLiteExecutor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, tuple(params)).fetchall()


class SQLiteIndex:
    """``index.sqlite`` of a vault folder (secure_delete, synchronous=FULL)."""

    def __init__(self, path: Path, create: bool, busy_timeout_s: float) -> None:
        self.path = path
        self.name = str(path)
        mode = "rwc" if create else "rw"
        try:
            self.connection = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=busy_timeout_s, isolation_level=None)
            # secure_delete zeroes freed pages, so purged rows do not linger in the file.
            self.connection.execute("PRAGMA secure_delete = ON")
            self.connection.execute("PRAGMA journal_mode = DELETE")
            self.connection.execute("PRAGMA synchronous = FULL")
            if create:
                self.connection.executescript(SQLITE_SCHEMA)
        except sqlite3.Error as error:
            raise VaultError(f"index {path} cannot be opened: {error}") from error
        if not {"snapshots", "audit"} <= self.tables():
            self.connection.close()
            raise VaultError(f"index {path} is not a sealshot index (tables missing)")

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as error:
            raise sqlite_error(self.name, error) from error

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteExecutor]:
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteExecutor(connection)
                connection.execute("COMMIT")
            except BaseException:
                # SQLite already rolled back on some errors (a full disk): rolling back again would hide the cause.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise sqlite_error(self.name, error) from error

    def create_schema(self, script: str) -> None:
        try:
            self.connection.executescript(script)
        except sqlite3.Error as error:
            raise sqlite_error(self.name, error) from error

    def tables(self) -> set[str]:
        return {name for (name,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def vacuum(self) -> None:
        self.query("VACUUM")

    def close(self) -> None:
        self.connection.close()


# -- PostgreSQL ---------------------------------------------------------------------------------------
def postgres_sql(sql: str) -> str:
    """SQLite-style SQL for PostgreSQL: ``?`` → ``%s`` (our SQL has no literal '?' or '%')."""
    return sql.replace("%", "%%").replace("?", "%s")


def postgres_schema(script: str) -> str:
    """A SQLite ``CREATE TABLE`` script with PostgreSQL's column types (exact doubles, 64-bit integers)."""
    return re.sub(r"\b(REAL|INTEGER)\b", lambda match: _WORD_TYPES[match.group(1)], script)


def _postgres_error(name: str, error: Exception) -> VaultError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    import psycopg

    if isinstance(error, psycopg.OperationalError) and not isinstance(error, psycopg.errors.LockNotAvailable):
        return VaultUnavailable(f"index {name}: the database cannot be reached ({text})")
    return VaultError(f"index {name}: {text}")


class _PostgresExecutor:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.execute(postgres_sql(sql), tuple(params))
        return cursor.fetchall() if cursor.description is not None else []


class PostgresIndex:
    """The index and audit log of a remote vault, in a PostgreSQL database (psycopg 3)."""

    def __init__(self, url: str, display: str, create: bool, lock_timeout_s: float) -> None:
        try:
            import psycopg
        except ImportError as error:
            raise VaultError("a PostgreSQL vault needs psycopg: pip install 'sealshot[scale]'") from error
        self._psycopg = psycopg
        self._url = url
        self.name = display
        self.lock_timeout_s = lock_timeout_s
        self.connection = self._connect()
        if create:
            self.create_schema(SNAPSHOTS_TABLE + POSTGRES_EXTRA)

    def _connect(self) -> Any:
        try:
            connection = self._psycopg.connect(self._url, autocommit=True, connect_timeout=max(1, int(min(self.lock_timeout_s, 30))))
            connection.execute(f"SET lock_timeout = '{int(self.lock_timeout_s * 1000)}ms'")
        except self._psycopg.Error as error:
            raise VaultUnavailable(f"cannot connect to the vault database {self.name}: {_postgres_error(self.name, error)}") from error
        return connection

    def _alive(self) -> None:
        """After a lost connection (a server restart), the next call connects again instead of failing for good."""
        if self.connection.closed or self.connection.broken:
            self.connection.close()
            self.connection = self._connect()

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        self._alive()
        try:
            return _PostgresExecutor(self.connection).execute(sql, params)
        except self._psycopg.Error as error:
            raise _postgres_error(self.name, error) from error

    @contextmanager
    def transaction(self) -> Iterator[_PostgresExecutor]:
        self._alive()
        try:
            with self.connection.transaction():
                # The chain's single order: one appender at a time, each sees the committed head.
                self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK_KEY,))
                yield _PostgresExecutor(self.connection)
        except self._psycopg.Error as error:
            raise _postgres_error(self.name, error) from error

    def create_schema(self, script: str) -> None:
        try:
            with self.connection.transaction():
                # Concurrent creators (two cameras starting at once) would race on the catalogue.
                self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                self.connection.execute(postgres_schema(script))
        except self._psycopg.Error as error:
            raise _postgres_error(self.name, error) from error

    def tables(self) -> set[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {name for (name,) in rows}

    def vacuum(self) -> None:
        self.query("VACUUM snapshots")

    @contextmanager
    def advisory_lock(self, key: int, what: str) -> Iterator[None]:
        """The vault's writer lock, as a session advisory lock (released if the session dies). Waiting
        is done by the server, first come first served, up to ``lock_timeout``."""
        self._alive()
        try:
            self.connection.execute("SELECT pg_advisory_lock(%s)", (key,))
        except self._psycopg.errors.LockNotAvailable as error:
            raise VaultError(
                f"vault {what} is busy: another process has held its writer lock for over {self.lock_timeout_s:g} s; "
                "try again later, or stop the other sealshot process"
            ) from error
        except self._psycopg.Error as error:
            raise _postgres_error(self.name, error) from error
        try:
            yield
        finally:
            try:
                self.connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except self._psycopg.Error:
                pass  # the session is gone, and its locks with it

    def close(self) -> None:
        self.connection.close()


CHAIN_LOCK_KEY = 0x5EA15406  # pg_advisory_xact_lock key of the audit chain's head
SCHEMA_LOCK_KEY = 0x5EA15407  # pg_advisory_xact_lock key while creating tables
WRITER_LOCK_KEY = 0x5EA15408  # pg_advisory_lock key of the vault's writers
