"""Warrant lifecycle over real HTTP: refusal, expiry, a restart dropping held shares, one share per holder."""

from __future__ import annotations

import time

from sealshot.console.app import create_app
from sealshot.console.settings import ConsoleSettings
from sealshot.vault.audit import parse_entry
from sealshot.vault.console_store import ConsoleStore
from sealshot.vault.store import Vault
from tests.console.conftest import BASE_TIME, PASSPHRASES, ConsoleVault, RunningConsole, signed_in
from tests.console.test_console_security import approve, file_warrant


def actions(vault: ConsoleVault) -> list[tuple[str, str]]:
    with Vault.open(vault.vault) as opened:
        entries = [parse_entry(text) for _, text in opened.audit_texts()]
    return [(e.actor, e.details.get("action", e.event)) for e in entries]


def test_refused_expired_and_restarted_warrants_open_nothing(console_vault: ConsoleVault) -> None:
    shares = console_vault.authority.shares
    server = RunningConsole(console_vault.vault, ConsoleSettings(warrant_valid_s=3.0))
    try:
        ines, hans, hugo = (signed_in(server.url, name) for name in ("ines", "hans", "hugo"))
        refused = file_warrant(ines, "CASE-R", "lobby", BASE_TIME, BASE_TIME + 7200)
        expiring = file_warrant(ines, "CASE-E", "lobby", BASE_TIME, BASE_TIME + 7200)
        approve(hans, refused, shares[0], PASSPHRASES[0])
        response = hugo.http.post(f"/warrants/{refused}/refuse", data={"csrf_token": hugo.csrf(f"/warrants/{refused}"), "reason": "scope too wide"})
        assert response.status_code == 303
        state = server.app.state.console
        assert refused not in state.pending_shares  # hans's share is dropped with the refusal
        assert "refused" in ines.http.get(f"/warrants/{refused}").text and ines.http.get(f"/cases/{refused}").status_code == 403
        late = approve(hugo, refused, shares[2], None, expect=400)
        assert "this warrant is refused" in late

        approve(hans, expiring, shares[0], PASSPHRASES[0])
        assert expiring in state.pending_shares
        time.sleep(3.2)
        assert 'id="status">expired' in ines.http.get(f"/warrants/{expiring}").text
        assert expiring not in state.pending_shares
        assert "this warrant is expired" in approve(hugo, expiring, shares[2], None, expect=400)
    finally:
        server.close()

    # One account, one share: hans (bound to share #1 at his first approval) cannot bring a second one.
    server = RunningConsole(console_vault.vault)
    try:
        ines, hans = signed_in(server.url, "ines"), signed_in(server.url, "hans")
        pending = file_warrant(ines, "CASE-P", "garage", BASE_TIME, BASE_TIME + 7200)
        assert "this account holds share #1, not #3" in approve(hans, pending, shares[2], None, expect=400)
        approve(hans, pending, shares[0], PASSPHRASES[0])
        assert "already approved" in approve(hans, pending, shares[0], PASSPHRASES[0], expect=400)
    finally:
        server.close()

    # A restart drops the shares held in memory: the approvals are withdrawn, and logged.
    create_app(console_vault.vault)
    with ConsoleStore.open(console_vault.vault) as store:
        assert store.approvals(pending) == [] and store.warrant(pending).status == "pending"  # type: ignore[union-attr]
    logged = actions(console_vault)
    assert ("console:hugo", "warrant-refused") in logged and ("console:system", "warrant-expired") in logged
    assert ("console:system", "approvals-withdrawn") in logged and not any(event == "opened" for _, event in logged)
