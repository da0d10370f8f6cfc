"""CLI commands of the `vault` area; `register(app)` adds them to the `sealshot` app.

``keygen``, ``keys init``, ``open``, ``vault verify``, ``vault purge``, ``vault list``, ``vault restore-config``,
``vault camera rotate``.
Only argument parsing and printing: the work is in :mod:`sealshot.vault.admin` and the policies it calls.
A ``VaultError`` propagates to the root app, which prints it and exits 4; ``verify`` finding problems
and ``open`` failing some snapshots exit 1 (``EXIT_PARTIAL``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealshot.errors import EXIT_PARTIAL
from sealshot.vault.errors import VaultError
from sealshot.vault.store import DEFAULTS

if TYPE_CHECKING:
    from sealshot.vault.store import IndexRow, Vault

console = Console()
error_console = Console(stderr=True)


def _actor(actor: str | None) -> str:
    from sealshot.vault.sealer import current_actor

    return actor or current_actor()


ActorOption = Annotated[Optional[str], typer.Option("--actor", help="Who acts, for the audit log (default: the login name).")]
VAULT_HELP = "The vault: a folder, or postgresql://USER@HOST/DB?objects=s3://BUCKET/PREFIX[&keys=FOLDER] (README, 'Beyond one machine')."
VaultCreateOption = Annotated[
    Optional[str], typer.Option("--vault", help="Also create this vault for the new key, and log 'keys-created' in it. " + VAULT_HELP)
]
RetentionOption = Annotated[float, typer.Option("--retention-days", help="Retention of a vault created here, in days.")]
VaultOption = Annotated[str, typer.Option("--vault", help=VAULT_HELP)]


def _print_created_vault(vault: str | None, retention_days: float) -> None:
    from sealshot.vault.location import parse_location

    if vault is not None:
        console.print(f"vault created: {parse_location(vault)} (retention {retention_days:g} days)", highlight=False)


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for authority.pub and authority.key.")],
    vault: VaultCreateOption = None,
    retention_days: RetentionOption = DEFAULTS.retention_days,
    actor: ActorOption = None,
) -> None:
    """Write a single authority key pair (simple mode). Cameras get only authority.pub."""
    from sealshot.vault.admin import check_vault_can_be_created, create_single_key, create_vault_for_key

    if vault is not None:
        check_vault_can_be_created(vault)
    keys, private = create_single_key(out)
    console.print(f"authority key {keys.public.fingerprint}\n  public (for cameras): {keys.public_path}\n  private (keep secret): {keys.private_path}")
    if vault is not None:
        create_vault_for_key(vault, keys, private, retention_days, _actor(actor))
    _print_created_vault(vault, retention_days)


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
    retention_days: RetentionOption = DEFAULTS.retention_days,
    actor: ActorOption = None,
) -> None:
    """Create the authority key and split it into n Shamir shares, any k of which open the vault."""
    from sealshot.vault.admin import check_vault_can_be_created, create_split_key, create_vault_for_key, read_passphrases

    if vault is not None:
        check_vault_can_be_created(vault)
    passphrases: list[str | None] | None = None
    if passphrase_file is not None:
        passphrases = read_passphrases(passphrase_file, holders, "holder")
    elif prompt_passphrases:
        passphrases = [
            typer.prompt(f"Passphrase for holder {i} (empty: none)", default="", hide_input=True, confirmation_prompt=True, show_default=False)
            or None
            for i in range(1, holders + 1)
        ]
    keys, private = create_split_key(out, holders, threshold, passphrases)
    console.print(f"authority key {keys.public.fingerprint}: {threshold} of {holders} shares needed")
    console.print(f"  public (for cameras): {keys.public_path}")
    for index, path in enumerate(keys.share_paths, start=1):
        protected = bool(passphrases and passphrases[index - 1])
        console.print(f"  holder {index}: {path}{' (passphrase)' if protected else ''}")
    if vault is not None:
        create_vault_for_key(vault, keys, private, retention_days, _actor(actor))
    _print_created_vault(vault, retention_days)
    del private


def open_command(
    vault: VaultOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for the decrypted PNGs (outside the vault; created 0700).")],
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
    from sealshot.vault.admin import open_warrant, open_with_key
    from sealshot.vault.scope import Scope, parse_time

    share_paths = list(shares or []) + list(extra_shares or [])
    if extra_shares and not shares:
        raise VaultError(f"unexpected arguments {[str(p) for p in extra_shares]}")
    if (key is None) == (not share_paths):
        raise VaultError("give either --key PRIVATE or --shares s1 s2 ...")
    scope = Scope(tuple(camera or ()), parse_time(start) if start else None, parse_time(end) if end else None)
    if key is not None:
        result = open_with_key(vault, key, scope, case, out, _actor(actor))
    else:
        ask = (lambda path: typer.prompt(f"Passphrase for {path}", hide_input=True)) if sys.stdin.isatty() else None
        result = open_warrant(vault, share_paths, scope, case or "", out, _actor(actor), passphrase_file, ask)
    console.print(f"opened {len(result.written)} snapshot(s) into {out}; logged as audit entry #{result.entry.seq if result.entry else '?'}")
    for problem in result.verification_problems:
        error_console.print(f"[bold yellow]vault fails verification (logged with this opening):[/] {escape(str(problem))}", highlight=False)
    for failure in result.failures:
        error_console.print(f"[bold red]failed:[/] {escape(str(failure))}", highlight=False)
    if result.failures:
        raise typer.Exit(EXIT_PARTIAL)


def verify_command(
    vault: VaultOption,
    expect_head: Annotated[
        Optional[str], typer.Option("--expect-head", help="A head hash noted earlier; the log must still contain it.")
    ] = None,
) -> None:
    """Check the hash chain, every signature, and every indexed file; name the first broken entry (exit 1)."""
    from sealshot.vault.verify import verify_vault

    report = verify_vault(vault, expect_head)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(str(note))}", highlight=False)
    for problem in report.problems:
        error_console.print(f"[bold red]FAIL:[/] {escape(str(problem))}", highlight=False)
    console.print(f"{report.entries} audit entries, {report.snapshots} snapshots indexed, head {report.head}")
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)
    console.print("[green]vault OK[/]")


def purge_command(
    vault: VaultOption,
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend it is this time (ISO-8601 or UNIX seconds).")] = None,
    actor: ActorOption = None,
) -> None:
    """Delete every snapshot older than the vault's retention period, and log it."""
    from sealshot.vault.retention import purge
    from sealshot.vault.scope import iso, parse_time

    result = purge(vault, _actor(actor), parse_time(now) if now else None)
    console.print(f"purged {len(result.purged)} snapshot(s) seen before {iso(result.cutoff_utc)}; {result.removed_files} file(s) removed")


def list_command(vault: VaultOption) -> None:
    """List the indexed snapshots' metadata (no pixels, no key needed)."""
    from sealshot.vault.scope import iso
    from sealshot.vault.store import Vault

    with Vault.open(vault) as opened:
        rows = opened.rows()
        retention = opened.config.retention_days
        calibrated = {row.snapshot_id: _calibrated_quality(opened, row) for row in rows}
    table = Table(title=f"{len(rows)} sealed snapshot(s), retention {retention:g} days")
    for column in ("snapshot", "camera", "track", "seen (UTC)", "quality", "0–100", "method"):
        table.add_column(column)
    for row in rows:
        quality = "n/a" if row.quality is None else f"{row.quality:.3f}"
        table.add_row(row.snapshot_id[:12], row.camera_id, str(row.track_id), iso(row.seen_at_utc), quality, calibrated[row.snapshot_id], row.quality_method)
    console.print(table)


def _calibrated_quality(vault: "Vault", row: "IndexRow") -> str:
    """The calibrated 0–100 quality from a sealed file's header (metadata only, nothing decrypted); flagged when
    the camera marked the crop probably not usable; "n/a" for older snapshots or an unreadable file."""
    try:
        metadata = vault.read_sealed(row.snapshot_id, row.camera_id)[0].metadata
    except (VaultError, KeyError, TypeError):
        return "n/a"
    value = metadata.get("quality_0_100")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    return f"{value:.0f}" + (" (probably not usable)" if metadata.get("probably_not_usable") else "")


def rotate_command(
    vault: VaultOption,
    camera: Annotated[str, typer.Option("--camera", help="The camera id whose key changes.")],
    new_key: Annotated[Path, typer.Option("--new-key", help="The camera's new Ed25519 key (PEM); created there if missing.")],
    actor: ActorOption = None,
) -> None:
    """Log a camera key change, signed by the vault's operator key; instances with the old key stop sealing."""
    from sealshot.vault.sealer import rotate_camera_key

    entry = rotate_camera_key(vault, camera, new_key, _actor(actor))
    console.print(f"camera {camera} now seals with {new_key}; logged as audit entry #{entry.seq}. Restart it with --camera-key {new_key}")


def restore_config_command(vault: VaultOption) -> None:
    """Rebuild a lost vault.json from the signed first audit entry (authority, retention, operator key)."""
    from sealshot.vault.location import parse_location
    from sealshot.vault.store import Vault

    config = Vault.restore_config(vault)
    console.print(f"restored the configuration of {parse_location(vault)}: authority {config.authority.fingerprint}, retention {config.retention_days:g} days")


def migrate_command(
    source: Annotated[str, typer.Option("--from", help="The vault to copy (a folder or a URL). " + VAULT_HELP)],
    target: Annotated[str, typer.Option("--to", help="Where to copy it: an empty folder, or an empty database and bucket.")],
) -> None:
    """Copy a vault with its signed chain intact (log, index, console records, sealed files, keys) and verify the copy."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sealshot.vault.migrate import migrate

    with Progress(TextColumn("copying sealed files"), BarColumn(), MofNCompleteColumn(), console=error_console, transient=True) as progress:
        task = progress.add_task("copy", total=None)
        result = migrate(source, target, on_object=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(
        f"copied {result.entries} audit entries, {result.snapshots} index rows, {result.objects} sealed files and "
        f"{len(result.keys)} key file(s) to {result.target}; head {result.head}",
        highlight=False,
    )
    for problem in result.verification.problems:
        error_console.print(f"[bold red]FAIL:[/] {escape(str(problem))}", highlight=False)
    if not result.verification.ok:
        raise typer.Exit(EXIT_PARTIAL)
    console.print("[green]the copy verifies; the source is left as it was[/]")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("keygen")(keygen)
    keys_app = typer.Typer(help="Authority keys held k-of-n by several holders.", no_args_is_help=True)
    keys_app.command("init")(keys_init)
    app.add_typer(keys_app, name="keys")
    app.command("open")(open_command)
    vault_app = typer.Typer(help="Check and maintain a vault: verify, purge, list, camera keys.", no_args_is_help=True)
    vault_app.command("verify")(verify_command)
    vault_app.command("purge")(purge_command)
    vault_app.command("list")(list_command)
    vault_app.command("restore-config")(restore_config_command)
    vault_app.command("migrate")(migrate_command)
    camera_app = typer.Typer(help="Camera keys registered in a vault.", no_args_is_help=True)
    camera_app.command("rotate")(rotate_command)
    vault_app.add_typer(camera_app, name="camera")
    app.add_typer(vault_app, name="vault")
