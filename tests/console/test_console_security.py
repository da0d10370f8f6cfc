"""The console's security over real HTTP on 127.0.0.1: every role against every route, CSRF, login
rate limiting, ids that try to leave their folder, and the evidence bundle checked offline."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from sealshot.console.app import ROUTE_ROLES
from sealshot.console.settings import ConsoleSettings
from sealshot.vault.evidence import verify_bundle
from sealshot.vault.scope import iso
from sealshot.vault.verify import verify_vault
from tests.console.conftest import ACCOUNTS, BASE_TIME, PASSPHRASES, ConsoleVault, RunningConsole, Session, password, signed_in

ROLES = ("operator", "key-holder", "investigator", "auditor")
USER_OF = {"operator": "olga", "key-holder": "hugo", "investigator": "ines", "auditor": "alma"}

# Written out by hand (not derived from ROUTE_ROLES), so that a change of the policy shows up here.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/"): set(ROLES),
    ("GET", "/snapshots"): {"operator"},
    ("POST", "/purge"): {"operator"},
    ("GET", "/audit"): {"auditor"},
    ("POST", "/audit/verify"): {"auditor"},
    ("GET", "/warrants"): {"investigator", "key-holder", "auditor"},
    ("GET", "/warrants/new"): {"investigator"},
    ("POST", "/warrants"): {"investigator"},
    ("GET", "/warrants/{warrant_id}"): {"investigator", "key-holder", "auditor"},
    ("POST", "/warrants/{warrant_id}/approve"): {"key-holder"},
    ("POST", "/warrants/{warrant_id}/refuse"): {"key-holder"},
    ("GET", "/cases/{warrant_id}"): {"investigator"},
    ("GET", "/cases/{warrant_id}/crops/{snapshot_id}.png"): {"investigator"},
    ("POST", "/cases/{warrant_id}/export"): {"investigator"},
    ("POST", "/logout"): set(ROLES),
}


@dataclass
class OpenedCase:
    pending_id: str  # a warrant of ines still pending
    opened_id: str  # a warrant of ines, opened by hans and hilde
    snapshot_id: str  # one snapshot in the opened case


def file_warrant(session: Session, case_id: str, camera: str, start: float, end: float) -> str:
    response = session.http.post("/warrants", data={"csrf_token": session.csrf("/warrants/new"), "case_id": case_id, "cameras": camera,
                                                    "from": iso(start), "to": iso(end), "reason": "burglary in the lobby"})  # fmt: skip
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def approve(session: Session, warrant_id: str, share: Path, passphrase: str | None, expect: int = 200) -> str:
    with share.open("rb") as handle:
        response = session.http.post(f"/warrants/{warrant_id}/approve", data={"csrf_token": session.csrf(f"/warrants/{warrant_id}"), "passphrase": passphrase or ""},
                                     files={"share": (share.name, handle, "application/json")})  # fmt: skip
    assert response.status_code == expect, response.text
    return response.text


@pytest.fixture(scope="module")
def opened_case(running_console: RunningConsole, console_vault: ConsoleVault) -> OpenedCase:
    ines = signed_in(running_console.url, "ines")
    pending = file_warrant(ines, "CASE-PENDING", "lobby", BASE_TIME, BASE_TIME + 60)
    opened = file_warrant(ines, "CASE-1", "lobby", BASE_TIME + 1800, BASE_TIME + 7200)
    shares = console_vault.authority.shares
    for holder, index in (("hans", 0), ("hilde", 1)):
        holder_session = signed_in(running_console.url, holder)
        approve(holder_session, opened, shares[index], PASSPHRASES[index])
    return OpenedCase(pending, opened, console_vault.ids["lobby"][1])


def concrete(path: str, case: OpenedCase) -> str:
    warrant = case.pending_id if path.startswith("/warrants/{") else case.opened_id
    return path.replace("{warrant_id}", warrant).replace("{snapshot_id}", case.snapshot_id)


def test_the_expected_matrix_covers_every_route(running_console: RunningConsole) -> None:
    served = {(method, route.path) for route in running_console.app.routes for method in getattr(route, "methods", ()) or ()
              if route.path not in ("/login", "/healthz", "/static/console.css") and method != "HEAD"}  # fmt: skip
    assert served == set(EXPECTED) == set(ROUTE_ROLES)
    assert {key: set(value) for key, value in ROUTE_ROLES.items()} == EXPECTED


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(running_console: RunningConsole, opened_case: OpenedCase, role: str) -> None:
    session = signed_in(running_console.url, USER_OF[role])
    outcomes = {}
    for (method, path), allowed_roles in EXPECTED.items():
        if path == "/logout":
            continue
        url = concrete(path, opened_case)
        if method == "GET":
            response = session.http.get(url)
        else:
            response = session.http.post(url, data={"csrf_token": session.csrf("/login")})
        refused = response.status_code == 403 or response.headers.get("location") == "/login"
        outcomes[(method, path)] = ("allowed" if not refused else "refused", response.status_code)
        assert refused == (role not in allowed_roles), f"{role} {method} {url}: {response.status_code}"
    response = session.http.post("/logout", data={"csrf_token": session.csrf("/login")})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert session.http.get("/").headers["location"] == "/login"  # signed out for good


def test_signed_out_visitors_are_sent_to_the_login_page(running_console: RunningConsole, opened_case: OpenedCase) -> None:
    visitor = Session(running_console.url)
    for method, path in EXPECTED:
        response = visitor.http.request(method, concrete(path, opened_case), data={"csrf_token": visitor.csrf("/login")})
        assert (response.status_code, response.headers.get("location")) == (303, "/login"), f"{method} {path}"


def test_a_second_investigator_sees_nothing_of_the_first_ones_case(running_console: RunningConsole, opened_case: OpenedCase) -> None:
    ivan = signed_in(running_console.url, "ivan")
    assert opened_case.opened_id not in ivan.http.get("/warrants").text
    for url in (f"/warrants/{opened_case.opened_id}", f"/cases/{opened_case.opened_id}", f"/cases/{opened_case.opened_id}/crops/{opened_case.snapshot_id}.png"):
        response = ivan.http.get(url)
        assert response.status_code == 403 and not response.content.startswith(b"\x89PNG"), url
    assert ivan.http.post(f"/cases/{opened_case.opened_id}/export", data={"csrf_token": ivan.csrf("/login")}).status_code == 403


def test_every_post_without_or_with_a_wrong_csrf_token_is_refused(running_console: RunningConsole, opened_case: OpenedCase) -> None:
    for method, path in [key for key in EXPECTED if key[0] == "POST"]:
        role = next(iter(EXPECTED[(method, path)]))
        session = signed_in(running_console.url, USER_OF[role])
        for data in ({}, {"csrf_token": "forged"}):
            response = session.http.post(concrete(path, opened_case), data=data)
            assert response.status_code == 403 and "CSRF" in response.text, f"{path} {data}"
    anonymous = Session(running_console.url)
    assert anonymous.http.post("/login", data={"username": "olga", "password": password("olga")}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/warrants/..%2F..%2Fvault.json",
        "/warrants/%2e%2e",
        "/warrants/0123456789abcdef%00",
        "/cases/..%2F..%2Findex.sqlite",
        "/cases/{opened}/crops/..%2F..%2Fvault.json.png",
        "/cases/{opened}/crops/%2e%2e.png",
        "/cases/{opened}/crops/{other}.png",
        "/static/..%2F..%2Fvault%2Fvault.json",
        "/static/%2e%2e/app.py",
    ],
)
def test_ids_that_try_to_leave_their_folder_are_refused(running_console: RunningConsole, opened_case: OpenedCase, console_vault: ConsoleVault, path: str) -> None:
    ines = signed_in(running_console.url, "ines")
    url = path.replace("{opened}", opened_case.opened_id).replace("{other}", console_vault.ids["garage"][0])  # garage: outside the scope
    response = ines.http.get(url)
    assert response.status_code == 404, (url, response.status_code)
    assert b"authority" not in response.content and not response.content.startswith(b"\x89PNG")


def test_wrong_passwords_are_rate_limited_per_account_and_per_address(console_vault: ConsoleVault) -> None:
    server = RunningConsole(console_vault.vault, ConsoleSettings(login_failures_allowed=3, login_window_s=600))
    try:
        session = Session(server.url)
        assert [session.login("hugo", "wrong password").status_code for _ in range(3)] == [401, 401, 401]
        blocked = session.login("hugo")  # the right password, too late
        assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
        assert Session(server.url).login("alma").status_code == 429  # the same address, another account
    finally:
        server.close()


def test_the_exported_bundle_verifies_offline_and_tampering_is_caught(running_console: RunningConsole, opened_case: OpenedCase, tmp_path: Path) -> None:
    ines = signed_in(running_console.url, "ines")
    response = ines.http.post(f"/cases/{opened_case.opened_id}/export", data={"csrf_token": ines.csrf(f"/cases/{opened_case.opened_id}")})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(response.content)
    report = verify_bundle(bundle)
    assert report.ok and report.case_id == "CASE-1" and report.snapshots == 2, report.problems
    run = subprocess.run([sys.executable, "-m", "sealshot.cli", "evidence", "verify", str(bundle), "--expect-key", report.signing_key or ""], capture_output=True, text=True)
    assert run.returncode == 0 and "OK: case CASE-1, 2 snapshot(s)" in run.stdout, run.stderr

    def rewritten(change: str) -> Path:
        with zipfile.ZipFile(bundle) as source:
            members = {name: source.read(name) for name in source.namelist()}
        if change == "crop":
            name = next(n for n in members if n.startswith("crops/"))
            members[name] = members[name][:-8] + bytes(8)
        elif change == "manifest":
            members["manifest.json"] = members["manifest.json"].replace(b"CASE-1", b"CASE-9")
        elif change == "extra":
            members["crops/extra.png"] = b"\x89PNG"
        out = tmp_path / f"{change}.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as target:
            for name, data in members.items():
                target.writestr(name, data)
        out.write_bytes(buffer.getvalue())
        return out

    assert "does not match its hash" in " ".join(verify_bundle(rewritten("crop")).problems)
    assert "the manifest was altered" in " ".join(verify_bundle(rewritten("manifest")).problems)
    assert "not named by the manifest" in " ".join(verify_bundle(rewritten("extra")).problems)
    assert not verify_bundle(bundle, expect_key="A" * 43 + "=").ok
    failed = subprocess.run([sys.executable, "-m", "sealshot.cli", "evidence", "verify", str(rewritten("crop"))], capture_output=True, text=True)
    assert failed.returncode == 1 and "FAIL" in failed.stderr


def test_console_actions_are_signed_entries_and_the_vault_still_verifies(running_console: RunningConsole, opened_case: OpenedCase, console_vault: ConsoleVault) -> None:
    from sealshot.vault.audit import parse_entry
    from sealshot.vault.store import Vault

    with Vault.open(console_vault.vault) as vault:
        entries = [parse_entry(text) for _, text in vault.audit_texts()]
    actions = {(e.actor, e.details.get("action")) for e in entries if e.event == "console"}
    assert {("console:ines", "warrant-filed"), ("console:hans", "warrant-approved"), ("console:hilde", "warrant-approved"),
            ("console:hilde", "warrant-opened"), ("cli:test", "account-created")} <= actions  # fmt: skip
    opened = [e for e in entries if e.event == "opened"]
    assert len(opened) == 1 and opened[0].details["warrant_id"] == opened_case.opened_id and opened[0].details["approvers"] == ["hans", "hilde"]
    assert sorted(opened[0].details["snapshot_ids"]) == sorted(console_vault.ids["lobby"][1:])
    report = verify_vault(console_vault.vault)
    assert report.ok, report.problems
    assert set(ACCOUNTS) >= {e.actor.removeprefix("console:") for e in entries if e.actor.startswith("console:") and e.actor != "console:system"}
