"""CLI commands of the `vault` area; `register(app)` adds them to the `sealshot` app.

``keygen``, ``keys init``, ``open``, ``vault verify``, ``vault purge``, ``vault list``.
"""

from __future__ import annotations

import functools
import sys

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from sealshot.vault.errors import VaultError

console = Console()
error_console = Console(stderr=True)


def _fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ``VaultError`` into one red line on stderr and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VaultError as error:
            error_console.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _actor(actor: str | None) -> str:
    from sealshot.vault.sealer import current_actor

    return actor or current_actor()


def _read_passphrases(path: Path, count: int, what: str) -> list[str | None]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise VaultError(f"cannot read passphrase file {path}: {error.strerror}") from error
    if len(lines) < count:
        raise VaultError(f"passphrase file {path} has {len(lines)} lines, {count} needed (one per {what}; empty line: none)")
    return [line or None for line in lines[:count]]


def _create_vault_for(vault: Path | None, public: Any, private: Any, retention_days: float, actor: str) -> None:
    if vault is None:
        return
    from sealshot.vault.store import Vault

    with Vault.create(vault, public, retention_days, actor) as created:
        details = {"fingerprint": public.fingerprint, "holders": public.holders, "threshold": public.threshold}
        created.append("keys-created", actor, "authority", details, private.signing)
    console.print(f"vault created: {vault} (retention {retention_days:g} days)")


ActorOption = Annotated[Optional[str], typer.Option("--actor", help="Who acts, for the audit log (default: the login name).")]
VaultCreateOption = Annotated[
    Optional[Path], typer.Option("--vault", help="Also create this vault for the new key, and log 'keys-created' in it.")
]
RetentionOption = Annotated[float, typer.Option("--retention-days", help="Retention of a vault created here, in days.")]


@_fail_cleanly
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for authority.pub and authority.key.")],
    vault: VaultCreateOption = None,
    retention_days: RetentionOption = 30.0,
    actor: ActorOption = None,
) -> None:
    """Write a single authority key pair (simple mode). Cameras get only authority.pub."""
    from sealshot.vault.keys import AuthorityPrivateKey, secure_directory

    secure_directory(out)
    public_path, private_path = out / "authority.pub", out / "authority.key"
    for path in (public_path, private_path):
        if path.exists():
            raise VaultError(f"{path} already exists; refusing to overwrite a key")
    private = AuthorityPrivateKey.generate()
    public = private.public()
    private.save(private_path)
    public.save(public_path)
    console.print(f"authority key {public.fingerprint}\n  public (for cameras): {public_path}\n  private (keep secret): {private_path}")
    _create_vault_for(vault, public, private, retention_days, _actor(actor))


@_fail_cleanly
def keys_init(
    holders: Annotated[int, typer.Option("--holders", "-n", help="Number of key holders (share files).")],
    threshold: Annotated[int, typer.Option("--threshold", "-k", help="Shares needed to open.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for authority.pub and the share files.")],
    passphrase_file: Annotated[
        Optional[Path], typer.Option("--passphrase-file", help="One passphrase per line, holder 1 first; empty line: no passphrase.")
    ] = None,
    prompt_passphrases: Annotated[
        bool, typer.Option("--prompt-passphrases", help="Ask each holder for a passphrase (hidden input).")
    ] = False,
    vault: VaultCreateOption = None,
    retention_days: RetentionOption = 30.0,
    actor: ActorOption = None,
) -> None:
    """Create the authority key and split it into n Shamir shares, any k of which open the vault."""
    from sealshot.vault.keys import AuthorityPrivateKey, secure_directory
    from sealshot.vault.shares import split_key, write_shares

    passphrases: list[str | None] | None = None
    if passphrase_file is not None:
        passphrases = _read_passphrases(passphrase_file, holders, "holder")
    elif prompt_passphrases:
        passphrases = [
            typer.prompt(f"Passphrase for holder {i} (empty: none)", default="", hide_input=True, confirmation_prompt=True, show_default=False)
            or None
            for i in range(1, holders + 1)
        ]
    private = AuthorityPrivateKey.generate()
    public, files = split_key(private, holders, threshold, passphrases)
    secure_directory(out)
    public_path = out / "authority.pub"
    if public_path.exists():
        raise VaultError(f"{public_path} already exists; refusing to overwrite a key")
    paths = write_shares(out, files)
    public.save(public_path)
    console.print(f"authority key {public.fingerprint}: {threshold} of {holders} shares needed")
    console.print(f"  public (for cameras): {public_path}")
    for index, path in enumerate(paths, start=1):
        protected = bool(passphrases and passphrases[index - 1])
        console.print(f"  holder {index}: {path}{' (passphrase)' if protected else ''}")
    _create_vault_for(vault, public, private, retention_days, _actor(actor))
    del private


@_fail_cleanly
def open_command(
    vault: Annotated[Path, typer.Option("--vault", help="The vault folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the decrypted PNGs (outside the vault).")],
    extra_shares: Annotated[Optional[list[Path]], typer.Argument(help="More share files, after --shares.", show_default=False)] = None,
    key: Annotated[Optional[Path], typer.Option("--key", help="Single private key file (from `sealshot keygen`).")] = None,
    shares: Annotated[Optional[list[Path]], typer.Option("--shares", help="Share files: --shares s1 s2 s3.")] = None,
    case: Annotated[Optional[str], typer.Option("--case", help="Case id of the warrant (logged).")] = None,
    camera: Annotated[Optional[list[str]], typer.Option("--camera", help="Camera in the warrant's scope (repeatable).")] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="Scope start: ISO-8601 (UTC if no zone) or UNIX seconds.")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Scope end: ISO-8601 (UTC if no zone) or UNIX seconds.")] = None,
    passphrase_file: Annotated[
        Optional[Path], typer.Option("--passphrase-file", help="Passphrases of the given shares, one per line, same order.")
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Decrypt sealed snapshots: with --key, or under a warrant with k-of-n --shares and a scope."""
    from sealshot.vault.keys import AuthorityPrivateKey
    from sealshot.vault.opener import Scope, open_snapshots, parse_time
    from sealshot.vault.shares import parse_share, reconstruct, share_needs_passphrase
    from sealshot.vault.store import Vault

    share_paths = list(shares or []) + list(extra_shares or [])
    if extra_shares and not shares:
        raise VaultError(f"unexpected arguments {[str(p) for p in extra_shares]}")
    if (key is None) == (not share_paths):
        raise VaultError("give either --key PRIVATE or --shares s1 s2 ...")
    if share_paths and not (case and camera and start and end):
        raise VaultError("opening with shares is a warrant: --case, --camera, --from and --to are required")
    scope = Scope(tuple(camera or ()), parse_time(start) if start else None, parse_time(end) if end else None)
    if key is not None:
        private = AuthorityPrivateKey.load(key)
    else:
        with Vault.open(vault) as opened:
            authority = opened.authority
        passphrases = _read_passphrases(passphrase_file, len(share_paths), "share") if passphrase_file else None
        parsed = []
        for position, path in enumerate(share_paths):
            try:
                data = path.read_bytes()
            except OSError as error:
                raise VaultError(f"cannot read share file {path}: {error.strerror}") from error
            passphrase = passphrases[position] if passphrases else None
            if passphrase is None and share_needs_passphrase(data, str(path)) and sys.stdin.isatty():
                passphrase = typer.prompt(f"Passphrase for {path}", hide_input=True)
            parsed.append(parse_share(data, str(path), passphrase))
        private = reconstruct(parsed, authority)
    result = open_snapshots(vault, private, out, scope, case, _actor(actor))
    del private
    console.print(f"opened {len(result.written)} snapshot(s) into {out}; logged as audit entry #{result.entry.seq if result.entry else '?'}")
    for failure in result.failures:
        error_console.print(f"[bold red]failed:[/] {failure}", highlight=False)
    if result.failures:
        raise typer.Exit(1)


@_fail_cleanly
def verify_command(
    vault: Annotated[Path, typer.Option("--vault", help="The vault folder.")],
    expect_head: Annotated[
        Optional[str], typer.Option("--expect-head", help="A head hash noted earlier; the log must still contain it.")
    ] = None,
) -> None:
    """Check the hash chain, every signature, and every indexed file; name the first broken entry."""
    from sealshot.vault.verify import verify_vault

    report = verify_vault(vault, expect_head)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    for problem in report.problems:
        error_console.print(f"[bold red]FAIL:[/] {problem}", highlight=False)
    console.print(f"{report.entries} audit entries, {report.snapshots} snapshots indexed, head {report.head}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]vault OK[/]")


@_fail_cleanly
def purge_command(
    vault: Annotated[Path, typer.Option("--vault", help="The vault folder.")],
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend it is this time (ISO-8601 or UNIX seconds).")] = None,
    actor: ActorOption = None,
) -> None:
    """Delete every snapshot older than the vault's retention period, and log it."""
    from sealshot.vault.opener import iso, parse_time
    from sealshot.vault.retention import purge

    result = purge(vault, _actor(actor), parse_time(now) if now else None)
    console.print(f"purged {len(result.purged)} snapshot(s) seen before {iso(result.cutoff_utc)}; {result.removed_files} file(s) removed")


@_fail_cleanly
def list_command(vault: Annotated[Path, typer.Option("--vault", help="The vault folder.")]) -> None:
    """List the indexed snapshots' metadata (no pixels, no key needed)."""
    from sealshot.vault.opener import iso
    from sealshot.vault.store import Vault

    with Vault.open(vault) as opened:
        rows = opened.rows()
        retention = opened.config.retention_days
    table = Table(title=f"{len(rows)} sealed snapshot(s), retention {retention:g} days")
    for column in ("snapshot", "camera", "track", "seen (UTC)", "quality", "method"):
        table.add_column(column)
    for row in rows:
        quality = "n/a" if row.quality is None else f"{row.quality:.3f}"
        table.add_row(row.snapshot_id[:12], row.camera_id, str(row.track_id), iso(row.seen_at_utc), quality, row.quality_method)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("keygen")(keygen)
    keys_app = typer.Typer(help="Authority keys held k-of-n by several holders.", no_args_is_help=True)
    keys_app.command("init")(keys_init)
    app.add_typer(keys_app, name="keys")
    app.command("open")(open_command)
    vault_app = typer.Typer(help="Check and maintain a vault: verify, purge, list.", no_args_is_help=True)
    vault_app.command("verify")(verify_command)
    vault_app.command("purge")(purge_command)
    vault_app.command("list")(list_command)
    app.add_typer(vault_app, name="vault")


