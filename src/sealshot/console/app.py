"""The console's web application (FastAPI, server-rendered Jinja2 pages, no JavaScript).

Security model, in short:

- Accounts and roles live in the vault's database; passwords are argon2id hashes. A session is a
  signed, HttpOnly, ``SameSite=Strict`` cookie (``Secure`` with ``secure_cookies``); the account and
  its role are read from the database on every request, so a deleted account is out at once.
- Every POST carries the session's CSRF token (checked before anything else); failed logins are
  limited per account and per client address.
- Each route names the roles that may use it (``ROUTE_ROLES``); an investigator sees only their
  own warrants and cases. Ids in paths are checked against strict patterns (no path can be built
  from them).
- Uploaded shares are parsed (and decrypted with the holder's passphrase) in memory and held there
  until the warrant is opened, refused or expires; a restart drops them (the approvals are then
  withdrawn, and logged). When k are in, the key is rebuilt in memory, the signed ``opened`` entry
  is committed, the crops are decrypted into memory, and the shares and key are dropped.
  Crops are served from memory with ``Cache-Control: no-store``; nothing decrypted touches disk.
- Every action is a signed ``console`` audit entry naming the account (``console:NAME``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from sealshot.console import views
from sealshot.console.security import LoginLimiter, csrf_matches, new_csrf_token, password_matches
from sealshot.console.settings import DEFAULTS, ConsoleSettings
from sealshot.vault.audit import parse_entry
from sealshot.vault.console_store import EXPIRED, OPENED, PENDING, REFUSED, Account, ConsoleStore, Warrant, check_warrant_id
from sealshot.errors import InputError
from sealshot.vault.errors import VaultError
from sealshot.vault.evidence import build_bundle
from sealshot.vault.opener import OpenedImage, open_in_memory
from sealshot.vault.retention import purge
from sealshot.vault.scope import parse_time
from sealshot.vault.shares import Share, parse_share, reconstruct, verify_share
from sealshot.vault.verify import verify_vault

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["utc"] = views.utc
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{32}$")
OPERATOR, HOLDER, INVESTIGATOR, AUDITOR = "operator", "key-holder", "investigator", "auditor"
EVERYONE = (OPERATOR, HOLDER, INVESTIGATOR, AUDITOR)
HOME = {OPERATOR: "/snapshots", HOLDER: "/warrants", INVESTIGATOR: "/warrants", AUDITOR: "/audit"}

ROUTE_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/snapshots"): (OPERATOR,),
    ("POST", "/purge"): (OPERATOR,),
    ("GET", "/audit"): (AUDITOR,),
    ("POST", "/audit/verify"): (AUDITOR,),
    ("GET", "/warrants"): (INVESTIGATOR, HOLDER, AUDITOR),
    ("GET", "/warrants/new"): (INVESTIGATOR,),
    ("POST", "/warrants"): (INVESTIGATOR,),
    ("GET", "/warrants/{warrant_id}"): (INVESTIGATOR, HOLDER, AUDITOR),  # an investigator: their own only
    ("POST", "/warrants/{warrant_id}/approve"): (HOLDER,),
    ("POST", "/warrants/{warrant_id}/refuse"): (HOLDER,),
    ("GET", "/cases/{warrant_id}"): (INVESTIGATOR,),  # their own, opened cases only
    ("GET", "/cases/{warrant_id}/crops/{snapshot_id}.png"): (INVESTIGATOR,),
    ("POST", "/cases/{warrant_id}/export"): (INVESTIGATOR,),
}
"""Who may use which route (besides ``/login``, ``/static/console.css`` and ``/healthz``, open to all)."""

STYLE = (Path(__file__).parent / "templates" / "console.css").read_text()
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class NotSignedIn(Exception):
    pass


@dataclass
class CaseEvidence:
    """An opened case's crops, held in this process's memory only."""

    images: list[OpenedImage]
    opened_seq: int
    failures: list[str]


@dataclass
class ConsoleState:
    vault_dir: str
    settings: ConsoleSettings
    limiter: LoginLimiter
    threshold: int
    pending_shares: dict[str, dict[str, Share]] = field(default_factory=dict)  # warrant id -> holder -> share
    cases: dict[str, CaseEvidence] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @contextmanager
    def store(self) -> Iterator[ConsoleStore]:
        # One connection per request: SQLite connections must not cross threads.
        with ConsoleStore.open(self.vault_dir, create_tables=False) as store:
            yield store


def create_app(vault_location: str | Path, settings: ConsoleSettings = DEFAULTS) -> FastAPI:
    """The console over the vault at ``vault_location``, a folder or a PostgreSQL + S3 URL (created
    tables, withdrawn approvals of a previous run, logged)."""
    vault_dir = str(vault_location)
    with ConsoleStore.open(vault_dir) as store:
        state_chain, problem = store.vault.signed_origin()
        if state_chain.authority is None:
            raise VaultError(f"vault {store.vault.name}: audit entry #1 does not verify ({problem}); the console cannot serve it")
        threshold = state_chain.authority.threshold or 1
        for warrant in store.warrants():
            if warrant.status == PENDING and store.approvals(warrant.warrant_id):
                store.withdraw_approvals(warrant, "console:system")
    state = ConsoleState(vault_dir, settings, LoginLimiter(settings.login_failures_allowed, settings.login_window_s), threshold)

    app = FastAPI(title="sealshot console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = state
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),  # per process: a restart signs everyone out
        session_cookie="sealshot_session",
        max_age=settings.session_max_age_s,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return page(request, "error.html", {"status": exc.status_code, "message": exc.detail}, status=exc.status_code)

    _routes(app, state)
    return app


# -- helpers ----------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = new_csrf_token()
    return token


def page(request: Request, template: str, context: dict[str, Any], status: int = 200, account: Account | None = None) -> HTMLResponse:
    base = {"account": account, "csrf_token": csrf_token(request), "nav": _nav(account)}
    return TEMPLATES.TemplateResponse(request, template, base | context, status_code=status)


def _nav(account: Account | None) -> list[tuple[str, str]]:
    if account is None:
        return []
    return {
        OPERATOR: [("/snapshots", "Snapshots")],
        HOLDER: [("/warrants", "Warrants")],
        INVESTIGATOR: [("/warrants", "My warrants"), ("/warrants/new", "File a warrant")],
        AUDITOR: [("/audit", "Audit log"), ("/warrants", "Warrants")],
    }[account.role]


MAX_FORM_BYTES = 256 * 1024


async def check_csrf(request: Request) -> None:
    # Refused before parsing: the multipart parser would spool a large upload (a share!) to a temporary file.
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "A form must be sent with its length.")
    if int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, "This form is too large; a share file is a few hundred bytes.")
    form = await request.form(max_part_size=DEFAULTS.max_share_bytes * 2)
    if not csrf_matches(request.session.get("csrf"), form.get("csrf_token")):
        raise HTTPException(403, "The form's security token is missing or wrong (CSRF); reload the page and try again.")


def signed_in(request: Request) -> Account:
    username = request.session.get("user")
    if not isinstance(username, str):
        raise NotSignedIn()
    state: ConsoleState = request.app.state.console
    with state.store() as store:
        account = store.account(username)
    if account is None:
        request.session.clear()
        raise NotSignedIn()
    return account


def allowed(*roles: str) -> Callable[..., Account]:
    def dependency(account: Account = Depends(signed_in)) -> Account:
        if account.role not in roles:
            raise HTTPException(403, f"This page is not for the {account.role} role.")
        return account

    return dependency


def warrant_or_404(store: ConsoleStore, warrant_id: str) -> Warrant:
    try:
        warrant = store.warrant(check_warrant_id(warrant_id))
    except VaultError:
        warrant = None
    if warrant is None:
        raise HTTPException(404, "No such warrant.")
    return warrant


def visible_to(warrant: Warrant, account: Account) -> None:
    if account.role == INVESTIGATOR and warrant.investigator != account.username:
        raise HTTPException(403, "This warrant was filed by another investigator.")


def expire_overdue(state: ConsoleState, store: ConsoleStore) -> None:
    with state.lock:
        for warrant in store.overdue():
            state.pending_shares.pop(warrant.warrant_id, None)
            store.decide(warrant, EXPIRED, "console:system", "warrant-expired", note=f"fewer than {state.threshold} approvals in time")


def actor(account: Account) -> str:
    return f"console:{account.username}"


# -- routes -----------------------------------------------------------------------------------------


def _routes(app: FastAPI, state: ConsoleState) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/static/console.css")
    def stylesheet() -> Response:
        return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @app.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", {"error": None})

    @app.post("/login", dependencies=[Depends(check_csrf)])
    async def login(request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username") or "")[:64], str(form.get("password") or "")
        client = request.client.host if request.client else "unknown"
        keys = (f"user:{username}", f"addr:{client}")
        if state.limiter.blocked(*keys):
            return page(request, "login.html", {"error": "Too many failed sign-ins. Wait 15 minutes and try again."}, status=429)
        with state.store() as store:
            account = store.account(username)
            if not password_matches(account.password_hash if account else None, password) or account is None:
                state.limiter.failed(*keys)
                if account is not None:
                    store.record(f"console:{username}", "sign-in-failed", {"client": client})
                return page(request, "login.html", {"error": "Wrong user name or password."}, status=401)
            state.limiter.succeeded(keys[0])
            store.record(actor(account), "signed-in", {"client": client})
        request.session.clear()  # a new session (and CSRF token) on every sign-in
        request.session.update({"user": account.username, "csrf": new_csrf_token()})
        return RedirectResponse("/", status_code=303)

    @app.post("/logout", dependencies=[Depends(check_csrf)])
    def logout(request: Request, account: Account = Depends(allowed(*EVERYONE))) -> Response:
        with state.store() as store:
            store.record(actor(account), "signed-out")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/")
    def home(account: Account = Depends(allowed(*EVERYONE))) -> Response:
        return RedirectResponse(HOME[account.role], status_code=303)

    # -- operator: metadata, retention, cameras ---------------------------------------------------
    @app.get("/snapshots")
    def snapshots(request: Request, account: Account = Depends(allowed(OPERATOR))) -> HTMLResponse:
        with state.store() as store:
            rows = store.vault.rows()
            chain, _ = store.vault.chain()
            retention = store.vault.config.retention_days
            store.record(actor(account), "metadata-viewed", {"snapshots": len(rows)})
        per_day = views.counts_per_day(rows)
        context = {
            "rows": rows,
            "retention_days": retention,
            "cameras": views.camera_health(rows, set(chain.cameras)),
            "per_day": per_day,
            "per_day_chart": views.per_day_svg(per_day),
            "plan": views.purge_plan(rows, retention),
            "timeline": views.timeline_svg(rows),
            "purged": request.query_params.get("purged"),
        }
        return page(request, "snapshots.html", context, account=account)

    @app.post("/purge", dependencies=[Depends(check_csrf)])
    def run_purge(account: Account = Depends(allowed(OPERATOR))) -> Response:
        result = purge(state.vault_dir, actor(account))  # logs its own signed 'purged' entry when it deletes anything
        with state.store() as store:
            store.record(actor(account), "purge-run", {"purged": len(result.purged), "cutoff_utc": result.cutoff_utc})
        return RedirectResponse(f"/snapshots?purged={len(result.purged)}", status_code=303)

    # -- auditor ------------------------------------------------------------------------------------
    def audit_page(request: Request, account: Account, action: str) -> HTMLResponse:
        report = verify_vault(state.vault_dir)
        with state.store() as store:
            texts = store.vault.audit_texts()
            store.record(actor(account), action, {"ok": report.ok, "entries": report.entries, "head": report.head})
        broken = None
        if report.problems and report.problems[0].startswith("first broken entry"):
            match = re.search(r"#(\d+)", report.problems[0])
            broken = int(match.group(1)) if match else None
        entries = []
        for position, text in texts[-1000:]:
            try:
                entry = parse_entry(text)
                entries.append({"seq": entry.seq, "time": entry.time_utc, "event": entry.event, "action": entry.details.get("action", ""),
                                "actor": entry.actor, "signer": entry.signer, "details": _summary(entry.details), "position": position})  # fmt: skip
            except VaultError as error:
                entries.append({"seq": position, "time": None, "event": "unreadable", "action": "", "actor": "", "signer": "", "details": str(error), "position": position})
        entries.reverse()  # newest first
        return page(request, "audit.html", {"report": report, "entries": entries, "broken": broken}, account=account)

    @app.get("/audit")
    def audit(request: Request, account: Account = Depends(allowed(AUDITOR))) -> HTMLResponse:
        return audit_page(request, account, "audit-viewed")

    @app.post("/audit/verify", dependencies=[Depends(check_csrf)])
    def audit_verify(request: Request, account: Account = Depends(allowed(AUDITOR))) -> HTMLResponse:
        return audit_page(request, account, "verified")

    # -- warrants -----------------------------------------------------------------------------------
    @app.get("/warrants")
    def warrants(request: Request, account: Account = Depends(allowed(INVESTIGATOR, HOLDER, AUDITOR))) -> HTMLResponse:
        with state.store() as store:
            expire_overdue(state, store)
            listed = store.warrants(account.username if account.role == INVESTIGATOR else None)
            approvals = {w.warrant_id: len(store.approvals(w.warrant_id)) for w in listed}
        return page(request, "warrants.html", {"warrants": listed, "approvals": approvals, "threshold": state.threshold}, account=account)

    @app.get("/warrants/new")
    def new_warrant(request: Request, account: Account = Depends(allowed(INVESTIGATOR))) -> HTMLResponse:
        with state.store() as store:
            cameras = sorted({row.camera_id for row in store.vault.rows()})
        return page(request, "warrant_new.html", {"cameras": cameras, "error": None, "form": {}}, account=account)

    @app.post("/warrants", dependencies=[Depends(check_csrf)])
    async def file_warrant(request: Request, account: Account = Depends(allowed(INVESTIGATOR))) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items() if isinstance(value, str)}
        try:
            cameras = tuple(part.strip() for part in form.get("cameras", "").split(",") if part.strip())
            start, end = parse_time(form.get("from", "")), parse_time(form.get("to", ""))
            with state.store() as store:
                warrant = store.file_warrant(account.username, form.get("case_id", "").strip(), cameras, start, end,
                                             form.get("reason", ""), state.settings.warrant_valid_s)  # fmt: skip
        except (InputError, VaultError) as error:
            return page(request, "warrant_new.html", {"cameras": [], "error": str(error), "form": form}, status=400, account=account)
        return RedirectResponse(f"/warrants/{warrant.warrant_id}", status_code=303)

    def warrant_page(request: Request, account: Account, warrant_id: str, message: str | None = None, error: str | None = None, status: int = 200) -> HTMLResponse:
        with state.store() as store:
            expire_overdue(state, store)
            warrant = warrant_or_404(store, warrant_id)
            visible_to(warrant, account)
            approvals = store.approvals(warrant.warrant_id)
        context = {"warrant": warrant, "approvals": approvals, "threshold": state.threshold, "message": message, "error": error,
                   "approved_by_me": any(a.holder == account.username for a in approvals), "in_memory": warrant.warrant_id in state.cases}  # fmt: skip
        return page(request, "warrant.html", context, status=status, account=account)

    @app.get("/warrants/{warrant_id}")
    def warrant_view(request: Request, warrant_id: str, account: Account = Depends(allowed(INVESTIGATOR, HOLDER, AUDITOR))) -> HTMLResponse:
        return warrant_page(request, account, warrant_id)

    @app.post("/warrants/{warrant_id}/approve", dependencies=[Depends(check_csrf)])
    async def approve(request: Request, warrant_id: str, account: Account = Depends(allowed(HOLDER))) -> HTMLResponse:
        form = await request.form()
        upload, passphrase = form.get("share"), str(form.get("passphrase") or "") or None
        data = await upload.read(state.settings.max_share_bytes + 1) if isinstance(upload, UploadFile) else b""
        try:
            message = _approve(state, account, warrant_id, data, passphrase)
        except VaultError as error:
            return warrant_page(request, account, warrant_id, error=str(error), status=400)
        finally:
            data = b""  # drop our reference to the share file's bytes at once
        return warrant_page(request, account, warrant_id, message=message)

    @app.post("/warrants/{warrant_id}/refuse", dependencies=[Depends(check_csrf)])
    async def refuse(request: Request, warrant_id: str, account: Account = Depends(allowed(HOLDER))) -> Response:
        reason = str((await request.form()).get("reason") or "").strip()[:2000]
        if not reason:
            return warrant_page(request, account, warrant_id, error="A refusal needs a reason.", status=400)
        with state.lock, state.store() as store:
            warrant = warrant_or_404(store, warrant_id)
            if warrant.status != PENDING:
                return warrant_page(request, account, warrant_id, error=f"This warrant is {warrant.status}.", status=409)
            state.pending_shares.pop(warrant.warrant_id, None)
            store.decide(warrant, REFUSED, actor(account), "warrant-refused", note=reason)
        return RedirectResponse(f"/warrants/{warrant.warrant_id}", status_code=303)

    # -- the investigator's cases -----------------------------------------------------------------
    def own_case(warrant_id: str, account: Account) -> tuple[Warrant, CaseEvidence | None]:
        with state.store() as store:
            warrant = warrant_or_404(store, warrant_id)
        visible_to(warrant, account)
        if warrant.status != OPENED:
            raise HTTPException(403, f"This warrant is {warrant.status}, not opened.")
        return warrant, state.cases.get(warrant.warrant_id)

    @app.get("/cases/{warrant_id}")
    def case(request: Request, warrant_id: str, account: Account = Depends(allowed(INVESTIGATOR))) -> HTMLResponse:
        warrant, evidence = own_case(warrant_id, account)
        with state.store() as store:
            store.record(actor(account), "evidence-viewed", warrant.summary())
        return page(request, "case.html", {"warrant": warrant, "evidence": evidence}, account=account)

    @app.get("/cases/{warrant_id}/crops/{snapshot_id}.png")
    def crop(warrant_id: str, snapshot_id: str, account: Account = Depends(allowed(INVESTIGATOR))) -> Response:
        _, evidence = own_case(warrant_id, account)
        image = next((i for i in (evidence.images if evidence else []) if SNAPSHOT_ID.match(snapshot_id) and i.snapshot_id == snapshot_id), None)
        if image is None:
            raise HTTPException(404, "No such crop in this case.")
        return Response(image.png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.post("/cases/{warrant_id}/export", dependencies=[Depends(check_csrf)])
    def export(warrant_id: str, account: Account = Depends(allowed(INVESTIGATOR))) -> Response:
        warrant, evidence = own_case(warrant_id, account)
        if evidence is None:
            raise HTTPException(410, "The crops of this case are no longer in the console's memory (it restarted); file a new warrant.")
        with state.store() as store:
            texts = dict(store.vault.audit_texts(0))
            opened, created = parse_entry(texts[evidence.opened_seq]), parse_entry(texts[1])
            context = warrant.summary() | {"investigator": warrant.investigator, "reason": warrant.reason,
                                           "approvers": [a.holder for a in store.approvals(warrant.warrant_id)]}  # fmt: skip
            bundle, manifest = build_bundle(evidence.images, opened, created, store.operator, context)
            store.record(actor(account), "evidence-exported", warrant.summary() | {"bundle_sha256": hashlib.sha256(bundle).hexdigest(), "snapshots": len(manifest["snapshots"])})
        name = f"evidence-{re.sub(r'[^A-Za-z0-9._-]', '_', warrant.case_id)}-{warrant.warrant_id}.zip"
        return Response(bundle, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _approve(state: ConsoleState, account: Account, warrant_id: str, data: bytes, passphrase: str | None) -> str:
    """Take one holder's share; with k in, open the warrant. The share is checked before it is counted."""
    if not data:
        raise VaultError("choose your share file")
    if len(data) > state.settings.max_share_bytes:
        raise VaultError("that file is too large to be a key share")
    share = parse_share(data, "the uploaded share", passphrase)
    with state.lock, state.store() as store:
        expire_overdue(state, store)
        warrant = warrant_or_404(store, warrant_id)
        if warrant.status != PENDING:
            raise VaultError(f"this warrant is {warrant.status}; nothing to approve")
        chain, problem = store.vault.signed_origin()
        if chain.authority is None:
            raise VaultError(f"the vault's entry #1 does not verify ({problem})")
        verify_share(share, chain.authority)
        store.approve(warrant, account.username, share.index)
        held = state.pending_shares.setdefault(warrant.warrant_id, {})
        held[account.username] = share
        if len(held) < state.threshold:
            return f"Approved with share #{share.index}: {len(held)} of {state.threshold} approvals."
        shares = list(state.pending_shares.pop(warrant.warrant_id).values())
        approvers = [a.holder for a in store.approvals(warrant.warrant_id)]
        private = reconstruct(shares, chain.authority)
        del shares, held
        try:
            result = open_in_memory(state.vault_dir, private, warrant.scope, warrant.case_id, actor(account),
                                    extra_details={"warrant_id": warrant.warrant_id, "investigator": warrant.investigator, "approvers": approvers})  # fmt: skip
        finally:
            del private  # the rebuilt key lives no longer than this opening
        assert result.entry is not None
        state.cases[warrant.warrant_id] = CaseEvidence(result.images, result.entry.seq, result.failures)
        store.decide(warrant, OPENED, actor(account), "warrant-opened", opened_seq=result.entry.seq, details={"snapshots": len(result.images)})
    return f"Approved: {state.threshold} approvals, the warrant is open ({len(result.images)} snapshots, audit entry #{result.entry.seq})."


def _summary(details: dict[str, Any]) -> str:
    shown = {key: value for key, value in details.items() if key not in ("action", "authority", "proof", "signature")}
    text = ", ".join(f"{key}={value}" for key, value in shown.items())
    return text if len(text) <= 240 else text[:237] + "..."
