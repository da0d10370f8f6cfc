"""CLI commands of the console: ``sealshot console``, ``sealshot console user add``, ``sealshot evidence verify``."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from sealshot.console.settings import DEFAULTS
from sealshot.errors import EXIT_PARTIAL, InputError

console = Console()
error_console = Console(stderr=True)

console_app = typer.Typer(help="The web console for operators, key holders, investigators and auditors.", invoke_without_command=True, no_args_is_help=False)
user_app = typer.Typer(help="Console accounts.", no_args_is_help=True)
evidence_app = typer.Typer(help="Evidence bundles exported from the console.", no_args_is_help=True)
console_app.add_typer(user_app, name="user")


def _parse_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise InputError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080") from None
    if not host or not 0 < number < 65536:
        raise InputError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), number


@console_app.callback()
def serve(
    ctx: typer.Context,
    vault: Annotated[Optional[str], typer.Option("--vault", help="The vault to serve: a folder or a postgresql://…?objects=s3://… URL.")] = None,
    bind: Annotated[str, typer.Option("--bind", help="HOST:PORT to listen on; keep loopback and put a TLS reverse proxy in front.")] = f"{DEFAULTS.host}:{DEFAULTS.port}",
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Send the session cookie over HTTPS only (behind a TLS proxy).")] = DEFAULTS.secure_cookies,
    warrant_hours: Annotated[float, typer.Option("--warrant-hours", help="A warrant expires unless k holders approve within this many hours.")] = DEFAULTS.warrant_valid_s / 3600,
) -> None:
    """Serve the console over a vault (sealshot console --vault V [--bind 127.0.0.1:8080])."""
    if ctx.invoked_subcommand is not None:
        return
    if vault is None:
        raise InputError("--vault is required to serve the console")
    import dataclasses

    import uvicorn

    from sealshot.console.app import create_app

    host, port = _parse_bind(bind)
    if warrant_hours <= 0:
        raise InputError("--warrant-hours must be positive")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        error_console.print(f"warning: listening on {host}, not loopback: serve it only behind a TLS reverse proxy, with --secure-cookies")
    settings = dataclasses.replace(DEFAULTS, host=host, port=port, secure_cookies=secure_cookies, warrant_valid_s=warrant_hours * 3600)
    app = create_app(vault, settings)
    console.print(f"sealshot console for {vault} on http://{host}:{port}/ (Ctrl-C stops it; pending approvals are held in memory and dropped)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)


@user_app.command("add")
def user_add(
    vault: Annotated[str, typer.Option("--vault", help="The vault: a folder or a postgresql://…?objects=s3://… URL.")],
    username: Annotated[str, typer.Option("--username", help="The account's name (lower case).")],
    role: Annotated[str, typer.Option("--role", help="operator, key-holder, investigator or auditor.")],
    password_file: Annotated[Optional[Path], typer.Option("--password-file", help="Read the password from this file's first line (else asked).")] = None,
) -> None:
    """Create a console account; its password is stored as an argon2id hash, the creation is logged."""
    from sealshot.console.security import hash_password
    from sealshot.vault.console_store import ROLES, USERNAME, ConsoleStore
    from sealshot.vault.sealer import current_actor

    if role not in ROLES:
        raise InputError(f"--role {role!r}: one of {', '.join(ROLES)}")
    if not USERNAME.match(username):
        raise InputError(f"--username {username!r}: 1-32 lower-case letters, digits, '.', '_' or '-'")

    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read --password-file {password_file}: {error}") from error
        password = lines[0] if lines else ""
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < DEFAULTS.min_password_length:
        raise InputError(f"the password must have at least {DEFAULTS.min_password_length} characters")
    with ConsoleStore.open(vault) as store:
        store.add_account(username, role, hash_password(password), f"cli:{current_actor()}")
    console.print(f"account {username} ({role}) created in {vault}")


@evidence_app.command("verify")
def evidence_verify(
    bundle: Annotated[Path, typer.Argument(help="The evidence ZIP exported from the console.")],
    expect_key: Annotated[Optional[str], typer.Option("--expect-key", help="The vault's operator public key (base64) the bundle must be signed with.")] = None,
) -> None:
    """Check an evidence bundle offline: its signature, every crop's hash, and the authority-signed opening."""
    from sealshot.vault.evidence import verify_bundle

    report = verify_bundle(bundle, expect_key)
    if not report.ok:
        for problem in report.problems:
            error_console.print(f"[red]FAIL[/] {escape(str(problem))}", highlight=False)
        raise typer.Exit(EXIT_PARTIAL)
    console.print(f"OK: case {report.case_id}, {report.snapshots} snapshot(s), opened at audit entry #{report.opened_seq}, signed by {report.signing_key}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(console_app, name="console")
    app.add_typer(evidence_app, name="evidence")
