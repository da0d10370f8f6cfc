"""Where sealed files are kept: a vault folder's ``snapshots/``, or an S3 bucket (boto3).

Both stores hold the same bytes (``sealshot.vault.sealed``), one object per snapshot. In S3 the key
is ``PREFIX/snapshots/CAMERA/ID.seal``: a per-camera prefix, so an S3 policy can let a camera write
(and list and read, for crash recovery) only its own objects, and never delete (README, "Beyond one
machine"). A PUT is atomic, so S3 never holds a half-written object; the folder store writes a
temporary file and renames it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol

from sealshot.vault.encoding import TEMP_PREFIX, atomic_write, describe_os_error, fsync_directory, shred
from sealshot.vault.errors import VaultError, VaultUnavailable
from sealshot.vault.location import S3Location
from sealshot.vault.sealed import SEALED_SUFFIX

SNAPSHOTS_DIR = "snapshots"


@dataclass(frozen=True)
class StoredObject:
    """One sealed file as the store lists it: ``name`` is the handle to read or remove it by."""

    snapshot_id: str
    name: str
    size: int


@dataclass(frozen=True)
class SnapshotFiles:
    """What the store holds: sealed files by snapshot id, unfinished writes, anything else (names)."""

    sealed: dict[str, StoredObject]
    temporary: list[str]
    unexpected: list[str]


def sealed_file_name(snapshot_id: str) -> str:
    return f"{snapshot_id}{SEALED_SUFFIX}"


class ObjectStore(Protocol):
    """What ``Vault`` needs of the place its sealed files live."""

    cameras_may_delete: bool
    """Whether a camera cleans up after a crash itself (a folder) or leaves that to ``purge`` (S3: no delete right)."""
    writes_need_lock: bool
    """Whether a write must hold the vault's writer lock: a folder's temporary file could be taken for a
    crash's leftover by another writer's recovery; an S3 PUT is atomic and needs no lock, so cameras
    upload in parallel and only the index commit is serialised."""

    def write(self, snapshot_id: str, camera_id: str, blob: bytes) -> str:
        """Durably store one sealed file; its plain file name (``ID.seal``), as the index records it."""
        ...

    def read(self, snapshot_id: str, camera_id: str) -> bytes: ...

    def read_name(self, name: str) -> bytes: ...

    def describe(self, snapshot_id: str, camera_id: str) -> str:
        """Where the file is, for messages (a path or an s3:// URL)."""
        ...

    def scan(self, camera_id: str | None = None) -> SnapshotFiles:
        """Everything stored (only ``camera_id``'s objects where the store separates cameras)."""
        ...

    def remove(self, names: Iterable[str]) -> int: ...

    def is_empty(self) -> bool: ...


class FolderObjects:
    """``VAULT/snapshots/ID.seal``, written atomically (temp file, fsync, rename, fsync folder)."""

    cameras_may_delete = True
    writes_need_lock = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, snapshot_id: str) -> Path:
        return self.folder / sealed_file_name(snapshot_id)

    def write(self, snapshot_id: str, camera_id: str, blob: bytes) -> str:
        path = self.path(snapshot_id)
        atomic_write(path, blob, mode=0o600)
        return path.name

    def read(self, snapshot_id: str, camera_id: str) -> bytes:
        return self.read_name(sealed_file_name(snapshot_id))

    def read_name(self, name: str) -> bytes:
        path = self.folder / name
        try:
            return path.read_bytes()
        except FileNotFoundError as error:
            raise VaultError(f"sealed file {path} is missing") from error
        except OSError as error:
            raise VaultError(f"sealed file {path} cannot be read: {describe_os_error(error)}") from error

    def describe(self, snapshot_id: str, camera_id: str) -> str:
        return str(self.path(snapshot_id))

    def scan(self, camera_id: str | None = None) -> SnapshotFiles:
        try:
            paths = sorted(self.folder.iterdir())
        except FileNotFoundError as error:
            raise VaultError(f"vault {self.folder.parent} has no {SNAPSHOTS_DIR}/ folder (it was deleted or moved)") from error
        except OSError as error:
            raise VaultError(f"cannot read {self.folder}: {describe_os_error(error)}") from error
        sealed: dict[str, StoredObject] = {}
        temporary: list[str] = []
        unexpected: list[str] = []
        for path in paths:
            if path.name.startswith(TEMP_PREFIX):
                temporary.append(path.name)
            elif path.name.endswith(SEALED_SUFFIX) and path.is_file():
                snapshot_id = path.name.removesuffix(SEALED_SUFFIX)
                sealed[snapshot_id] = StoredObject(snapshot_id, path.name, path.stat().st_size)
            else:
                unexpected.append(str(path))
        return SnapshotFiles(sealed, temporary, unexpected)

    def remove(self, names: Iterable[str]) -> int:
        """Overwrite and unlink; how many."""
        count = 0
        for name in names:
            shred(self.folder / name)
            count += 1
        if count:
            fsync_directory(self.folder)
        return count

    def is_empty(self) -> bool:
        return not self.folder.exists() or not any(self.folder.iterdir())


class S3Objects:
    """Sealed files in an S3 bucket under ``PREFIX/snapshots/CAMERA/ID.seal``."""

    cameras_may_delete = False
    writes_need_lock = False

    def __init__(self, location: S3Location) -> None:
        try:
            import boto3
            import botocore.exceptions
        except ImportError as error:
            raise VaultError("a vault in S3 needs boto3: pip install 'sealshot[scale]'") from error
        self.location = location
        self._errors = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
        self._client_error = botocore.exceptions.ClientError
        self.client = boto3.client("s3")

    def _key(self, snapshot_id: str, camera_id: str) -> str:
        return self.location.key(SNAPSHOTS_DIR, camera_id, sealed_file_name(snapshot_id))

    def _failure(self, what: str, error: Exception) -> VaultError:
        if isinstance(error, self._client_error):
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"):
                return VaultUnavailable(f"{what}: S3 is unavailable ({code})")
            return VaultError(f"{what}: S3 refused ({code or error})")
        return VaultUnavailable(f"{what}: S3 cannot be reached ({error})")  # connection refused, timeouts, DNS

    def write(self, snapshot_id: str, camera_id: str, blob: bytes) -> str:
        key = self._key(snapshot_id, camera_id)
        try:
            self.client.put_object(Bucket=self.location.bucket, Key=key, Body=blob)
        except self._errors as error:
            raise self._failure(f"cannot store sealed file s3://{self.location.bucket}/{key}", error) from error
        return sealed_file_name(snapshot_id)

    def read(self, snapshot_id: str, camera_id: str) -> bytes:
        return self.read_name(self._key(snapshot_id, camera_id))

    def read_name(self, name: str) -> bytes:
        url = f"s3://{self.location.bucket}/{name}"
        try:
            return self.client.get_object(Bucket=self.location.bucket, Key=name)["Body"].read()
        except self._client_error as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise VaultError(f"sealed file {url} is missing") from error
            raise self._failure(f"sealed file {url} cannot be read", error) from error
        except self._errors as error:
            raise self._failure(f"sealed file {url} cannot be read", error) from error

    def describe(self, snapshot_id: str, camera_id: str) -> str:
        return f"s3://{self.location.bucket}/{self._key(snapshot_id, camera_id)}"

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix)
            return [item for page in pages for item in page.get("Contents", [])]
        except self._errors as error:
            raise self._failure(f"cannot list s3://{self.location.bucket}/{prefix}", error) from error

    def scan(self, camera_id: str | None = None) -> SnapshotFiles:
        base = self.location.key(SNAPSHOTS_DIR) + "/"
        prefix = base + (f"{camera_id}/" if camera_id is not None else "")
        sealed: dict[str, StoredObject] = {}
        unexpected: list[str] = []
        for item in sorted(self._list(prefix), key=lambda entry: entry["Key"]):
            key = item["Key"]
            parts = key[len(base):].split("/")
            if len(parts) == 2 and parts[1].endswith(SEALED_SUFFIX):
                snapshot_id = parts[1].removesuffix(SEALED_SUFFIX)
                sealed[snapshot_id] = StoredObject(snapshot_id, key, int(item.get("Size", 0)))
            else:
                unexpected.append(f"s3://{self.location.bucket}/{key}")
        return SnapshotFiles(sealed, [], unexpected)

    def remove(self, names: Iterable[str]) -> int:
        keys = list(names)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            try:
                response = self.client.delete_objects(Bucket=self.location.bucket, Delete={"Objects": batch, "Quiet": True})
            except self._errors as error:
                raise self._failure(f"cannot delete sealed files in s3://{self.location.bucket}", error) from error
            if response.get("Errors"):
                first = response["Errors"][0]
                raise VaultError(f"cannot delete s3://{self.location.bucket}/{first.get('Key')}: {first.get('Code')}")
        return len(keys)

    def is_empty(self) -> bool:
        return not self._list(self.location.key(SNAPSHOTS_DIR) + "/")
