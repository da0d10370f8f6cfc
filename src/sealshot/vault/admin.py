"""What the vault commands do, as functions a Python user can call: keys, shares, warrants, rotation.

``sealshot.vault.commands`` only parses arguments and prints; everything here raises ``VaultError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sealshot.vault.encoding import describe_os_error, make_private_directory
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPrivateKey, AuthorityPublicKey
from sealshot.vault.opener import OpenResult, open_snapshots
from sealshot.vault.scope import Scope
from sealshot.vault.shares import Share, parse_share, reconstruct, share_needs_passphrase, split_key, write_shares
from sealshot.vault.location import VaultLocationLike
from sealshot.vault.store import DEFAULTS, Vault, VaultSettings

AskPassphrase = Callable[[Path], str]


@dataclass(frozen=True)
class KeyFiles:
    public: AuthorityPublicKey
    public_path: Path
    private_path: Path | None = None  # single-key mode
    share_paths: tuple[Path, ...] = ()  # k-of-n mode


def read_passphrases(path: Path, count: int, what: str) -> list[str | None]:
    """The first ``count`` lines of ``path``, one passphrase per ``what``; an empty line means none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise VaultError(f"cannot read passphrase file {path}: {describe_os_error(error)}") from error
    except UnicodeDecodeError as error:
        raise VaultError(f"passphrase file {path} is not UTF-8 text") from error
    if len(lines) < count:
        raise VaultError(f"passphrase file {path} has {len(lines)} lines, {count} needed (one per {what}; empty line: none)")
    return [line or None for line in lines[:count]]


def load_shares(paths: Sequence[Path], passphrase_file: Path | None = None, ask: AskPassphrase | None = None) -> list[Share]:
    """Read share files, decrypting protected ones with the passphrase file's lines (same order) or ``ask``."""
    passphrases = read_passphrases(passphrase_file, len(paths), "share") if passphrase_file is not None else None
    shares = []
    for position, path in enumerate(paths):
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise VaultError(f"cannot read share file {path}: {describe_os_error(error)}") from error
        passphrase = passphrases[position] if passphrases else None
        if passphrase is None and ask is not None and share_needs_passphrase(data, str(path)):
            passphrase = ask(Path(path))
        shares.append(parse_share(data, str(path), passphrase))
    return shares


def check_vault_can_be_created(vault: VaultLocationLike) -> None:
    """Refuse early (before any key is written) a ``--vault`` that is a file, a vault, or a non-empty folder."""
    Vault.refuse_unless_creatable(vault)


def _refuse_existing(paths: Sequence[Path]) -> None:
    for path in paths:
        if path.exists():
            raise VaultError(f"{path} already exists; refusing to overwrite a key")


def create_single_key(out: Path) -> tuple[KeyFiles, AuthorityPrivateKey]:
    """Write ``authority.pub`` and ``authority.key`` into ``out`` (simple mode); never overwrites."""
    public_path, private_path = out / "authority.pub", out / "authority.key"
    if out.is_dir():
        _refuse_existing([public_path, private_path])
    make_private_directory(out)
    private = AuthorityPrivateKey.generate()
    public = private.public()
    private.save(private_path)
    public.save(public_path)
    return KeyFiles(public, public_path, private_path=private_path), private


def create_split_key(
    out: Path, holders: int, threshold: int, passphrases: Sequence[str | None] | None = None
) -> tuple[KeyFiles, AuthorityPrivateKey]:
    """Create the authority key and write ``authority.pub`` and ``holders`` share files (any ``threshold`` open)."""
    private = AuthorityPrivateKey.generate()
    public, files = split_key(private, holders, threshold, passphrases)
    public_path = out / "authority.pub"
    if out.is_dir():
        _refuse_existing([public_path])
    make_private_directory(out)
    paths = write_shares(out, files)
    public.save(public_path)
    return KeyFiles(public, public_path, share_paths=tuple(paths)), private


def create_vault_for_key(vault: VaultLocationLike, keys: KeyFiles, private: AuthorityPrivateKey, retention_days: float, actor: str) -> None:
    """Create ``vault`` for the new key and log ``keys-created`` in it, signed by the authority."""
    with Vault.create(vault, keys.public, retention_days, actor) as created:
        details = {"fingerprint": keys.public.fingerprint, "holders": keys.public.holders, "threshold": keys.public.threshold}
        created.append("keys-created", actor, "authority", details, private.signing)


def open_warrant(
    vault: VaultLocationLike,
    share_paths: Sequence[Path],
    scope: Scope,
    case_id: str,
    out: Path,
    actor: str,
    passphrase_file: Path | None = None,
    ask: AskPassphrase | None = None,
    *,
    settings: VaultSettings = DEFAULTS,
) -> OpenResult:
    """Open the snapshots in ``scope`` with k-of-n shares; a warrant needs a case id, cameras and a time window."""
    if not (case_id and scope.cameras and scope.start_utc is not None and scope.end_utc is not None):
        raise VaultError("opening with shares is a warrant: a case id, cameras, a start and an end time are required")
    with Vault.open(vault, settings) as opened:
        state, problem = opened.signed_origin()
        authority = state.authority  # from the signed entry #1, not from the editable vault.json
    if authority is None:
        raise VaultError(f"vault {vault}: audit entry #1 does not verify ({problem}); its authority is unknown")
    private = reconstruct(load_shares(share_paths, passphrase_file, ask), authority)
    return open_snapshots(vault, private, out, scope, case_id, actor, settings=settings)


def open_with_key(vault: VaultLocationLike, key_path: Path, scope: Scope, case_id: str | None, out: Path, actor: str) -> OpenResult:
    """Open with the single private key of ``sealshot keygen`` (simple mode)."""
    return open_snapshots(vault, AuthorityPrivateKey.load(key_path), out, scope, case_id, actor)
