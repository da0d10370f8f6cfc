"""The console's records in the vault's database: accounts, warrants and holders' approvals.

They live in ``index.sqlite`` beside the snapshots and the audit log, so that each change and its
signed ``console`` audit entry commit in one transaction. Only metadata is stored: password hashes
(made by the console), warrant scopes and which holder approved with which share number. Shares
themselves are never stored (the console holds them in memory until a warrant is decided).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sealshot.vault.audit import CAMERA_ID, AuditEntry
from sealshot.vault.errors import VaultError
from sealshot.vault.scope import Scope
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.store import DEFAULTS, Vault, VaultSettings

ROLES = ("operator", "key-holder", "investigator", "auditor")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
WARRANT_ID = re.compile(r"^[0-9a-f]{16}$")
CASE_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
PENDING, OPENED, REFUSED, EXPIRED = "pending", "opened", "refused", "expired"

CONSOLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_accounts (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_utc REAL NOT NULL, share_index INTEGER
);
CREATE TABLE IF NOT EXISTS console_warrants (
    warrant_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, cameras TEXT NOT NULL, from_utc REAL NOT NULL, to_utc REAL NOT NULL,
    reason TEXT NOT NULL, investigator TEXT NOT NULL, filed_utc REAL NOT NULL, expires_utc REAL NOT NULL,
    status TEXT NOT NULL, decided_utc REAL, decision_note TEXT, opened_seq INTEGER
);
CREATE TABLE IF NOT EXISTS console_approvals (
    warrant_id TEXT NOT NULL, holder TEXT NOT NULL, share_index INTEGER NOT NULL, approved_utc REAL NOT NULL,
    PRIMARY KEY (warrant_id, holder), UNIQUE (warrant_id, share_index)
);
"""
ACCOUNT_COLUMNS = ("username", "role", "password_hash", "created_utc", "share_index")
APPROVAL_COLUMNS = ("warrant_id", "holder", "share_index", "approved_utc")
WARRANT_COLUMNS = (
    "warrant_id", "case_id", "cameras", "from_utc", "to_utc", "reason", "investigator", "filed_utc", "expires_utc",
    "status", "decided_utc", "decision_note", "opened_seq",
)  # fmt: skip

CONSOLE_TABLES = (("console_accounts", ACCOUNT_COLUMNS), ("console_warrants", WARRANT_COLUMNS), ("console_approvals", APPROVAL_COLUMNS))
"""The console's tables and their columns (``vault migrate`` copies them)."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    password_hash: str
    created_utc: float
    share_index: int | None  # a key holder's share number, bound at their first approval


@dataclass(frozen=True)
class Warrant:
    warrant_id: str
    case_id: str
    cameras: tuple[str, ...]
    from_utc: float
    to_utc: float
    reason: str
    investigator: str
    filed_utc: float
    expires_utc: float
    status: str
    decided_utc: float | None
    decision_note: str | None
    opened_seq: int | None

    @property
    def scope(self) -> Scope:
        return Scope(self.cameras, self.from_utc, self.to_utc)

    def summary(self) -> dict[str, Any]:
        """What the audit log records about the warrant (no reason text: it may name people)."""
        return {"warrant_id": self.warrant_id, "case_id": self.case_id, "scope": self.scope.to_json()}


@dataclass(frozen=True)
class Approval:
    holder: str
    share_index: int
    approved_utc: float


def check_warrant_id(text: str) -> str:
    if not WARRANT_ID.match(text):
        raise VaultError("not a warrant id")
    return text


class ConsoleStore:
    """Accounts, warrants and approvals over an open ``Vault``; every change is a signed ``console`` entry."""

    def __init__(self, vault: Vault, create_tables: bool = True) -> None:
        self.vault = vault
        self.operator = vault.operator_key()
        if create_tables:
            with vault.lock():
                vault.index.create_schema(CONSOLE_SCHEMA)

    @classmethod
    def open(cls, location: VaultLocationLike, settings: VaultSettings = DEFAULTS, create_tables: bool = True) -> "ConsoleStore":
        vault = Vault.open(location, settings)
        try:
            return cls(vault, create_tables)
        except BaseException:
            vault.close()
            raise

    def close(self) -> None:
        self.vault.close()

    def __enter__(self) -> "ConsoleStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, actor: str, action: str, details: dict[str, Any] | None = None, statements: list[tuple[str, tuple[Any, ...]]] | None = None) -> AuditEntry:
        """Log one console action by ``actor`` (``console:NAME`` or ``cli:LOGIN``), with its database changes."""
        with self.vault.lock():
            return self.vault.append("console", actor, "operator", {"action": action} | (details or {}), self.operator, statements=statements or ())

    # -- accounts -------------------------------------------------------------------------------
    def add_account(self, username: str, role: str, password_hash: str, actor: str) -> Account:
        if not USERNAME.match(username):
            raise VaultError(f"user name {username!r}: use 1-32 lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise VaultError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if self.account(username) is not None:
            raise VaultError(f"account {username!r} already exists")
        account = Account(username, role, password_hash, round(time.time(), 6), None)
        insert = ("INSERT INTO console_accounts (username, role, password_hash, created_utc, share_index) VALUES (?, ?, ?, ?, NULL)",
                  (username, role, password_hash, account.created_utc))  # fmt: skip
        self.record(actor, "account-created", {"username": username, "role": role}, [insert])
        return account

    def account(self, username: str) -> Account | None:
        rows = self.vault.query("SELECT username, role, password_hash, created_utc, share_index FROM console_accounts WHERE username = ?", (username,))
        return Account(*rows[0]) if rows else None

    # -- warrants -------------------------------------------------------------------------------
    def file_warrant(self, investigator: str, case_id: str, cameras: tuple[str, ...], scope_from: float, scope_to: float, reason: str, valid_s: float) -> Warrant:
        if not CASE_ID.match(case_id):
            raise VaultError("case id: 1-64 letters, digits or . _ : / -")
        if not cameras or not all(CAMERA_ID.match(camera) for camera in cameras):
            raise VaultError("cameras: one or more camera ids (letters, digits, '.', '_', '-')")
        if not reason.strip():
            raise VaultError("a warrant needs a reason")
        Scope(cameras, scope_from, scope_to)  # checks the window
        now = round(time.time(), 6)
        warrant = Warrant(secrets.token_hex(8), case_id, tuple(cameras), scope_from, scope_to, reason.strip()[:2000], investigator,
                          now, now + valid_s, PENDING, None, None, None)  # fmt: skip
        values = (warrant.warrant_id, case_id, json.dumps(list(cameras)), scope_from, scope_to, warrant.reason, investigator,
                  now, warrant.expires_utc, PENDING, None, None, None)  # fmt: skip
        insert = (f"INSERT INTO console_warrants ({', '.join(WARRANT_COLUMNS)}) VALUES ({', '.join('?' for _ in WARRANT_COLUMNS)})", values)
        self.record(f"console:{investigator}", "warrant-filed", warrant.summary() | {"expires_utc": warrant.expires_utc}, [insert])
        return warrant

    def warrant(self, warrant_id: str) -> Warrant | None:
        rows = self.vault.query(f"SELECT {', '.join(WARRANT_COLUMNS)} FROM console_warrants WHERE warrant_id = ?", (warrant_id,))
        return _warrant(rows[0]) if rows else None

    def warrants(self, investigator: str | None = None) -> list[Warrant]:
        sql = f"SELECT {', '.join(WARRANT_COLUMNS)} FROM console_warrants"
        params: tuple[Any, ...] = ()
        if investigator is not None:
            sql, params = sql + " WHERE investigator = ?", (investigator,)
        return [_warrant(row) for row in self.vault.query(sql + " ORDER BY filed_utc DESC", params)]

    def approvals(self, warrant_id: str) -> list[Approval]:
        rows = self.vault.query("SELECT holder, share_index, approved_utc FROM console_approvals WHERE warrant_id = ? ORDER BY approved_utc", (warrant_id,))
        return [Approval(*row) for row in rows]

    def approve(self, warrant: Warrant, holder: str, share_index: int) -> None:
        """Record that ``holder`` approved with share ``share_index``; a holder's account is bound to one share."""
        account = self.account(holder)
        if account is None or account.role != "key-holder":
            raise VaultError("only a key holder can approve")
        if account.share_index is not None and account.share_index != share_index:
            raise VaultError(f"this account holds share #{account.share_index}, not #{share_index}")
        done = self.approvals(warrant.warrant_id)
        if any(a.holder == holder for a in done):
            raise VaultError("you have already approved this warrant")
        if any(a.share_index == share_index for a in done):
            raise VaultError(f"share #{share_index} has already been used for this warrant")
        statements = [("INSERT INTO console_approvals (warrant_id, holder, share_index, approved_utc) VALUES (?, ?, ?, ?)",
                       (warrant.warrant_id, holder, share_index, round(time.time(), 6)))]  # fmt: skip
        if account.share_index is None:
            statements.append(("UPDATE console_accounts SET share_index = ? WHERE username = ?", (share_index, holder)))
        self.record(f"console:{holder}", "warrant-approved", warrant.summary() | {"share_index": share_index}, statements)

    def decide(self, warrant: Warrant, status: str, actor: str, action: str, note: str | None = None, opened_seq: int | None = None, details: dict[str, Any] | None = None) -> None:
        """Close a pending warrant (opened, refused or expired), logged as ``action``."""
        update = ("UPDATE console_warrants SET status = ?, decided_utc = ?, decision_note = ?, opened_seq = ? WHERE warrant_id = ? AND status = ?",
                  (status, round(time.time(), 6), note, opened_seq, warrant.warrant_id, PENDING))  # fmt: skip
        self.record(actor, action, warrant.summary() | ({"note": note} if note else {}) | (details or {}), [update])

    def withdraw_approvals(self, warrant: Warrant, actor: str) -> None:
        """Drop a pending warrant's approvals (their shares were held by a console that stopped)."""
        holders = [a.holder for a in self.approvals(warrant.warrant_id)]
        delete = ("DELETE FROM console_approvals WHERE warrant_id = ?", (warrant.warrant_id,))
        self.record(actor, "approvals-withdrawn", warrant.summary() | {"holders": holders, "why": "the console restarted; shares are held in memory only"}, [delete])

    def overdue(self, now: float | None = None) -> list[Warrant]:
        now = time.time() if now is None else now
        return [w for w in self.warrants() if w.status == PENDING and w.expires_utc <= now]


def _warrant(row: tuple[Any, ...]) -> Warrant:
    values = dict(zip(WARRANT_COLUMNS, row))
    values["cameras"] = tuple(json.loads(values["cameras"]))
    return Warrant(**values)
