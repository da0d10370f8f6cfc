"""Byte-level helpers shared by the vault: canonical JSON, base64, atomic and durable writes."""

from __future__ import annotations

import base64
import binascii
import errno
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from sealshot.vault.errors import VaultError

TEMP_PREFIX = ".tmp-"


def plain(value: Any) -> Any:
    """Turn numpy scalars, tuples and non-finite floats into plain JSON values (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces): what is signed, hashed and bound."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, what: str, length: int | None = None) -> bytes:
    """Strict base64 decoding with a clear error naming ``what`` was malformed."""
    if not isinstance(text, str):
        raise VaultError(f"{what} is not a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise VaultError(f"{what} is not valid base64") from error
    if length is not None and len(data) != length:
        raise VaultError(f"{what} has {len(data)} bytes, expected {length}")
    return data


def load_json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object; any failure is a ``VaultError`` naming ``what``."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise VaultError(f"{what} is not valid JSON") from error
    if not isinstance(value, dict):
        raise VaultError(f"{what} is not a JSON object")
    return value


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise VaultError(f"{what} {path} does not exist") from error
    except OSError as error:
        raise VaultError(f"cannot read {what} {path}: {error.strerror}") from error
    return load_json_object(data, f"{what} {path}")


def describe_os_error(error: OSError) -> str:
    """An OS error in words, spelling out the two ways a full disk shows (ENOSPC, and EFBIG under a size limit)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{error.strerror} (the disk is full)"
    if error.errno == errno.EFBIG:
        return f"{error.strerror} (the file size limit was reached: the disk is full for this process)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{error.strerror} (the vault is read-only for this user)"
    return error.strerror or str(error)


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_temporary(path: Path, data: bytes, mode: int) -> Path:
    temporary = path.parent / f"{TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as error:
        raise VaultError(f"cannot write {path}: {describe_os_error(error)}") from error
    try:
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
    except OSError as error:
        os.close(descriptor)
        temporary.unlink(missing_ok=True)
        raise VaultError(f"cannot write {path}: {describe_os_error(error)}") from error
    except BaseException:
        os.close(descriptor)
        temporary.unlink(missing_ok=True)
        raise
    os.close(descriptor)
    return temporary


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` so that ``path`` holds either nothing/the old content or all of it, durably.

    A temp file in the same folder, fsync, rename over the target, fsync the folder.
    A crash leaves at most a ``.tmp-*`` file, which the vault recognises and cleans.
    Any OS failure (full disk, read-only folder) is a ``VaultError`` naming ``path``.
    """
    temporary = _write_temporary(path, data, mode)
    try:
        os.replace(temporary, path)
        fsync_directory(path.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise VaultError(f"cannot write {path}: {describe_os_error(error)}") from error


def create_exclusive(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Durably create ``path`` with ``data`` unless it exists; ``True`` if this call created it.

    ``link`` fails if the target exists, so of two processes racing to create one key exactly
    one wins, and the loser reads the winner's complete file (never a half-written one).
    """
    temporary = _write_temporary(path, data, mode)
    try:
        os.link(temporary, path)
        fsync_directory(path.parent)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        raise VaultError(f"cannot write {path}: {describe_os_error(error)}") from error
    finally:
        temporary.unlink(missing_ok=True)


def make_private_directory(path: Path) -> bool:
    """Create ``path`` (and missing parents) with mode 0700; ``True`` if it was created.

    The mode of a folder that already exists is left alone: it may be shared (``/tmp``).
    """
    if path.is_dir():
        return False
    # No separate "exists but is not a folder" check here: another process may create the folder between two
    # checks (three cameras starting at once did), so only mkdir's own answer decides.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
    except FileExistsError:
        if not path.is_dir():
            raise VaultError(f"{path} is a file, not a folder") from None
        return False  # another process made it meanwhile
    except OSError as error:
        raise VaultError(f"cannot create folder {path}: {describe_os_error(error)}") from error
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask
    return True


def shred(path: Path) -> None:
    """Overwrite a file with zeros, fsync, then unlink it (best effort against recovery from the folder)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b", buffering=0) as handle:
            handle.write(b"\0" * size)
            os.fsync(handle.fileno())
        path.unlink(missing_ok=True)
    except FileNotFoundError:
        return
    except OSError as error:
        raise VaultError(f"cannot delete {path}: {describe_os_error(error)}") from error
