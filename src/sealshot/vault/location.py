"""Where a vault lives, chosen by one string: a folder, or PostgreSQL plus S3-compatible object storage.

- ``./vault`` (any path): the embedded vault, SQLite index and audit log plus a folder of sealed files;
- ``postgresql://USER@HOST:PORT/DB?objects=s3://BUCKET/PREFIX&keys=DIR``: the index and the audit log in
  PostgreSQL (psycopg), the sealed files in S3 (boto3: AWS S3, MinIO, Ceph). ``keys`` is the local folder
  holding this machine's signing keys for the vault (the operator key where the operator works,
  ``cameras/ID.key`` where a camera runs); it defaults to a folder under ``~/.local/share/sealshot``.

Credentials come from where their libraries look: the URL or ``PGPASSWORD`` / ``~/.pgpass`` for
PostgreSQL, and ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3`` (for MinIO,
Ceph or a test server) or an instance profile for S3. A password in the URL is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sealshot.vault.errors import VaultError

VaultLocationLike = str | Path
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without leading or trailing '/', may be empty

    def key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True)
class VaultLocation:
    """A parsed ``--vault``: ``folder`` for the embedded vault, or ``database`` + ``objects`` + ``keys``."""

    folder: Path | None = None
    database: str | None = None  # libpq connection URL, without sealshot's own parameters
    objects: S3Location | None = None
    keys: Path | None = None

    @property
    def local_keys(self) -> Path:
        """The folder of this machine's signing keys for the vault (the vault folder itself when embedded)."""
        if self.folder is not None:
            return self.folder
        assert self.keys is not None
        return self.keys

    def url(self) -> str:
        """The location as it was given (with the password, for passing to another process)."""
        if self.folder is not None:
            return str(self.folder)
        assert self.database is not None and self.objects is not None and self.keys is not None
        parts = urlsplit(self.database)
        query = parse_qsl(parts.query, keep_blank_values=True) + [("objects", str(self.objects)), ("keys", str(self.keys))]
        return urlunsplit(parts._replace(query=urlencode(query, safe="/:")))

    def __str__(self) -> str:
        """For messages: the URL without its password."""
        if self.folder is not None:
            return str(self.folder)
        parts = urlsplit(self.url())
        if parts.password is not None:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            parts = parts._replace(netloc=netloc)
        return urlunsplit(parts)


def parse_location(given: VaultLocationLike) -> VaultLocation:
    """Parse ``--vault``; a malformed URL is a ``VaultError`` that says what is missing."""
    if isinstance(given, VaultLocation):
        return given
    text = str(given)
    if not text.startswith(POSTGRES_SCHEMES):
        if "://" in text:
            raise VaultError(f"--vault {text.split('://')[0]}://…: a vault is a folder or a postgresql://…?objects=s3://… URL")
        return VaultLocation(folder=Path(text))
    parts = urlsplit(text)
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {name: value for name, value in query if name in ("objects", "keys")}
    if "objects" not in own:
        raise VaultError("a PostgreSQL vault needs its object storage: add ?objects=s3://BUCKET/PREFIX to the URL")
    objects = parse_s3(own["objects"])
    rest = urlencode([(name, value) for name, value in query if name not in ("objects", "keys")])
    database = urlunsplit(parts._replace(query=rest))
    keys = Path(own["keys"]).expanduser() if own.get("keys") else default_keys_folder(database, objects)
    return VaultLocation(database=database, objects=objects, keys=keys)


def parse_s3(text: str) -> S3Location:
    parts = urlsplit(text)
    if parts.scheme != "s3" or not BUCKET.match(parts.netloc):
        raise VaultError(f"objects={text!r}: expected s3://BUCKET/PREFIX with a valid bucket name")
    prefix = parts.path.strip("/")
    if any(segment in ("", ".", "..") for segment in prefix.split("/")) and prefix:
        raise VaultError(f"objects={text!r}: the prefix must not contain empty, '.' or '..' parts")
    return S3Location(parts.netloc, prefix)


def default_keys_folder(database: str, objects: S3Location) -> Path:
    """Per-vault key folder under ``$XDG_DATA_HOME/sealshot/keys`` (or ``~/.local/share``), named by a hash of the location."""
    parts = urlsplit(database)
    identity = f"{parts.hostname}:{parts.port}/{parts.path.lstrip('/')}|{objects}"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sealshot" / "keys" / hashlib.sha256(identity.encode()).hexdigest()[:16]
