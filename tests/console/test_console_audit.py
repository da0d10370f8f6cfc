"""The auditor's page names the first broken entry of a tampered log; session cookies carry their flags."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from sealshot.console.settings import ConsoleSettings
from tests.console.conftest import RunningConsole, Session, build_vault, signed_in


def test_the_audit_page_highlights_the_first_broken_entry(tmp_path: Path) -> None:
    made = build_vault(tmp_path)
    connection = sqlite3.connect(made.vault / "index.sqlite", isolation_level=None)
    connection.execute("DROP TRIGGER audit_no_update")  # an attacker with file access can drop the guard
    (text,) = connection.execute("SELECT entry FROM audit WHERE seq = 4").fetchone()
    body = json.loads(text)
    body["details"]["seen_at_utc"] += 3600  # move a sealed snapshot in time
    connection.execute("UPDATE audit SET entry = ? WHERE seq = 4", (json.dumps(body),))
    connection.close()
    server = RunningConsole(made.vault)
    try:
        page = signed_in(server.url, "alma").http.get("/audit").text
        assert "Verification FAILED" in page and "audit entry #4 (sealed, signer camera:lobby): signature is invalid" in page
        broken = re.findall(r'<tr class="broken[^"]*" id="entry-(\d+)"', page)
        assert broken == ["4"]
    finally:
        server.close()


def test_session_cookies_are_httponly_strict_and_secure_when_asked(tmp_path: Path) -> None:
    made = build_vault(tmp_path)
    for secure in (False, True):
        server = RunningConsole(made.vault, ConsoleSettings(secure_cookies=secure))
        try:
            session = Session(server.url)
            cookie = session.http.get("/login").headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie and ("secure" in cookie.split("; ")) == secure
            response = session.http.get("/login")
            assert "default-src 'none'" in response.headers["content-security-policy"] and response.headers["x-frame-options"] == "DENY"
        finally:
            server.close()


def test_large_uploads_are_refused_before_anything_is_spooled_to_disk(tmp_path: Path) -> None:
    made = build_vault(tmp_path)
    server = RunningConsole(made.vault)
    try:
        hans = signed_in(server.url, "hans")
        token = hans.csrf("/warrants")
        response = hans.http.post("/warrants/0123456789abcdef/approve", data={"csrf_token": token}, files={"share": ("big.json", b"x" * (2 * 2**20))})
        assert response.status_code == 413
    finally:
        server.close()
