"""Fixtures of the console tests: a real vault (k-of-n keys, sealed synthetic crops), accounts, and the
console served by uvicorn on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import uvicorn

from sealshot.console.app import create_app
from sealshot.console.security import hash_password
from sealshot.console.settings import ConsoleSettings
from sealshot.vault import CameraSealer
from sealshot.vault.console_store import ConsoleStore
from tests.vault.conftest import BASE_TIME, Authority, _make_snapshot, seal

ACCOUNTS = {
    "olga": "operator",
    "hans": "key-holder",
    "hilde": "key-holder",
    "hugo": "key-holder",
    "ines": "investigator",
    "ivan": "investigator",
    "alma": "auditor",
}
PASSPHRASES = [None, "second holder's phrase", None]


def password(username: str) -> str:
    return f"correct horse {username} staple"


@dataclass
class ConsoleVault:
    root: Path
    vault: Path
    authority: Authority
    ids: dict[str, list[str]] = field(default_factory=dict)  # camera -> snapshot ids (cam1 by time)


def build_vault(root: Path) -> ConsoleVault:
    authority = Authority(root / "keys", holders=3, threshold=2, passphrases=PASSPHRASES)
    vault = root / "vault"
    made = ConsoleVault(root, vault, authority)
    with CameraSealer.open(vault, authority.public_path, "lobby", retention_days=30000) as sealer:
        made.ids["lobby"] = [seal(sealer, _make_snapshot("lobby", track, BASE_TIME + 3600 * track)) for track in range(3)]
    with CameraSealer.open(vault, authority.public_path, "garage") as sealer:
        made.ids["garage"] = [seal(sealer, _make_snapshot("garage", 7, BASE_TIME + 1800))]
    with ConsoleStore.open(vault) as store:
        for username, role in ACCOUNTS.items():
            store.add_account(username, role, hash_password(password(username)), "cli:test")
    return made


@pytest.fixture(scope="module")
def console_vault(tmp_path_factory: pytest.TempPathFactory) -> ConsoleVault:
    return build_vault(tmp_path_factory.mktemp("console"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])




class RunningConsole:
    """The console on 127.0.0.1, served by uvicorn in a thread; stops on ``close``."""

    def __init__(self, vault: Path, settings: ConsoleSettings | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(vault, settings or ConsoleSettings(port=self.port))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def running_console(console_vault: ConsoleVault) -> Iterator[RunningConsole]:
    server = RunningConsole(console_vault.vault)
    yield server
    server.close()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Session:
    """A signed-in account speaking real HTTP to the console (httpx, cookies kept)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=30)

    def csrf(self, path: str = "/login") -> str:
        match = CSRF.search(self.http.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, secret: str | None = None) -> httpx.Response:
        token = self.csrf("/login")
        return self.http.post("/login", data={"csrf_token": token, "username": username, "password": secret or password(username)})

    def close(self) -> None:
        self.http.close()


def signed_in(url: str, username: str) -> Session:
    session = Session(url)
    response = session.login(username)
    assert response.status_code == 303, response.text
    return session
