"""The whole warrant story in a real headless Chromium against the console served by `sealshot console`
(a subprocess with its own working folder and TMPDIR, on 127.0.0.1), with screenshots for the README."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from sealshot.vault.evidence import verify_bundle
from sealshot.vault.scope import iso
from tests.conftest import REPO_ROOT
from tests.console.conftest import BASE_TIME, PASSPHRASES, ConsoleVault, build_vault, free_port, password

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The README's screenshots: refreshed with SEALSHOT_SCREENSHOTS=docs/console; otherwise taken into a temporary folder,
# so that a test run does not rewrite tracked files.
SCREENSHOTS_ENV = "SEALSHOT_SCREENSHOTS"
IMAGE_MAGIC = {"PNG": b"\x89PNG", "JPEG": b"\xff\xd8\xff"}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make system-deps installs it)")
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed").sync_playwright


class ServedConsole:
    def __init__(self, root: Path, vault: Path) -> None:
        self.work, self.temporary = root / "work", root / "tmpdir"
        self.work.mkdir()
        self.temporary.mkdir()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = os.environ | {"TMPDIR": str(self.temporary), "TEMP": str(self.temporary), "TMP": str(self.temporary), "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "sealshot.cli", "console", "--vault", str(vault), "--bind", f"127.0.0.1:{port}"],
                                        cwd=self.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"the console did not start: {self.process.stdout.read().decode()[-2000:] if self.process.stdout else ''}")
            time.sleep(0.2)

    def stop(self) -> str:
        self.process.terminate()
        output, _ = self.process.communicate(timeout=20)
        return output.decode()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConsoleVault, ServedConsole]]:
    root = tmp_path_factory.mktemp("console-story")
    made = build_vault(root)
    # One more account, made as a user would: with the command.
    (root / "otto.txt").write_text(password("otto") + "\n")
    created = subprocess.run([sys.executable, "-m", "sealshot.cli", "console", "user", "add", "--vault", str(made.vault), "--username", "otto",
                              "--role", "operator", "--password-file", str(root / "otto.txt")], capture_output=True, text=True)  # fmt: skip
    assert created.returncode == 0 and "account otto (operator) created" in created.stdout, created.stderr
    served = ServedConsole(root, made.vault)
    yield made, served
    log = served.stop()
    for secret in [p for p in PASSPHRASES if p] + [password(name) for name in ("hans", "hilde", "ines")]:
        assert secret not in log


def scan_for_images(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path}: {kind}" for kind, magic in IMAGE_MAGIC.items() if magic in data]
    return found


def test_the_warrant_story_in_a_browser(story: tuple[ConsoleVault, ServedConsole], tmp_path: Path) -> None:
    made, served = story
    screenshots = REPO_ROOT / os.environ[SCREENSHOTS_ENV] if os.environ.get(SCREENSHOTS_ENV) else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    lobby = made.ids["lobby"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                                             "--disable-component-update", "--no-first-run"])  # fmt: skip

        def sign_in(username: str, shot: str | None = None):  # a fresh browser context per person: own cookies
            context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.goto(f"{served.url}/login")
            page.fill("#username", username)
            page.fill("#password", password(username))
            if shot:
                page.screenshot(path=str(screenshots / shot))
            page.click("#sign-in")
            return page

        # The investigator files a warrant: lobby, between the first and the third passage.
        ines = sign_in("ines", "login.png")
        ines.goto(f"{served.url}/warrants/new")
        ines.fill("#case_id", "CASE-2026-17")
        ines.fill("#cameras", "lobby")
        ines.fill("#from", iso(BASE_TIME + 1800)[:19])
        ines.fill("#to", iso(BASE_TIME + 7200)[:19])
        ines.fill("#reason", "Bicycle theft in the lobby reported by the caretaker.")
        ines.click("#file")
        assert ines.inner_text("#status") == "pending"
        warrant_url = ines.url
        warrant_id = warrant_url.rsplit("/", 1)[-1]

        # The first holder sees it pending and approves with their share file.
        hans = sign_in("hans")
        assert "CASE-2026-17" in hans.inner_text("#warrants")
        hans.click("text=CASE-2026-17")
        hans.set_input_files("#share", str(made.authority.shares[0]))
        hans.screenshot(path=str(screenshots / "warrant-pending.png"), full_page=True)
        hans.click("#approve")
        assert "1 of 2 approvals" in hans.inner_text("#message")

        # One approval is not enough: nothing is open for the investigator yet.
        ines.goto(warrant_url)
        assert ines.inner_text("#status") == "pending" and ines.locator("#open-case").count() == 0
        ines.goto(f"{served.url}/cases/{warrant_id}")
        assert "not opened" in ines.inner_text("#error")

        # A second holder, with a passphrase-protected share; a wrong passphrase first.
        hilde = sign_in("hilde")
        hilde.goto(warrant_url)
        hilde.set_input_files("#share", str(made.authority.shares[1]))
        hilde.fill("#passphrase", "not my phrase")
        hilde.click("#approve")
        assert "passphrase" in hilde.inner_text("#error").lower()
        hilde.set_input_files("#share", str(made.authority.shares[1]))
        hilde.fill("#passphrase", PASSPHRASES[1] or "")
        hilde.click("#approve")
        assert "the warrant is open (2 snapshots" in hilde.inner_text("#message")

        # The investigator sees exactly the scoped snapshots, decrypted in memory.
        ines.goto(warrant_url)
        ines.click("#open-case")
        images = ines.locator("#crops img")
        assert images.count() == 2
        shown = sorted(src.rsplit("/", 1)[-1].removesuffix(".png") for src in (images.nth(i).get_attribute("src") or "" for i in range(2)))
        assert shown == sorted(lobby[1:])  # not lobby[0] (before the window), not the garage camera
        assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(2))
        ines.screenshot(path=str(screenshots / "case.png"), full_page=True)

        # Nothing decrypted was written: not in the vault, the server's working folder or its TMPDIR.
        assert scan_for_images(made.vault, served.work, served.temporary) == []

        # A second investigator sees neither the warrant nor its crops.
        ivan = sign_in("ivan")
        assert "CASE-2026-17" not in ivan.content()
        ivan.goto(f"{served.url}/cases/{warrant_id}")
        assert "another investigator" in ivan.inner_text("#error")
        response = ivan.request.get(f"{served.url}/cases/{warrant_id}/crops/{lobby[1]}.png")
        assert response.status == 403 and not response.body().startswith(b"\x89PNG")

        # The exported bundle verifies offline.
        with ines.expect_download() as download:
            ines.click("#export")
        bundle = tmp_path / "evidence.zip"
        download.value.save_as(bundle)
        report = verify_bundle(bundle)
        assert report.ok and report.case_id == "CASE-2026-17" and report.snapshots == 2, report.problems

        # The auditor sees the signed 'opened' entry and a passing verification.
        alma = sign_in("alma")
        assert "Verification passed" in alma.inner_text("#verification")
        opened_rows = alma.locator("#audit tr.ev-opened")
        assert opened_rows.count() == 1 and "console:hilde" in opened_rows.inner_text() and "authority" in opened_rows.inner_text()
        assert "evidence-exported" in alma.inner_text("#audit")
        alma.screenshot(path=str(screenshots / "audit.png"))

        # The operator (made with `sealshot console user add`): metadata, timeline, retention; no pixels.
        otto = sign_in("otto")
        assert otto.locator("svg.timeline circle").count() == 4 and otto.locator("img").count() == 0
        assert "lobby" in otto.inner_text("#cameras") and "garage" in otto.inner_text("#cameras")
        otto.screenshot(path=str(screenshots / "snapshots.png"), full_page=True)
        ines.goto(f"{served.url}/warrants")
        ines.screenshot(path=str(screenshots / "warrants.png"), full_page=True)
        browser.close()
    assert {path.name for path in screenshots.glob("*.png")} >= {"login.png", "warrant-pending.png", "case.png", "audit.png", "snapshots.png", "warrants.png"}
