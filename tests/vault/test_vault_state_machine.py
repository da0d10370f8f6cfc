"""Hypothesis state machine over real vault operations: seal, open under a warrant, purge with an
injected clock, rotate a camera key, and tamper with a row, a sealed file, vault.json or an audit entry.

After every step: the audit history only grows (what was there stays, byte for byte, but for the
entry we edited), ``verify`` reports exactly what was tampered with, and every warrant opens exactly
the untampered live snapshots in its scope whose ``sealed`` entry verifies, whatever the rows say.
A broken chain or an edited vault.json blocks new seals and rotations; an edited vault.json blocks purges.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sealshot.vault import CameraSealer, VaultError
from sealshot.vault.keys import AuthorityPrivateKey
from sealshot.vault.opener import open_snapshots
from sealshot.vault.retention import purge
from sealshot.vault.scope import Scope
from sealshot.vault.sealer import rotate_camera_key
from sealshot.vault.verify import verify_vault

BASE = 1_700_000_000.0
HOUR, DAY = 3600.0, 86400.0
CAMERAS = ("north", "south")
PRIVATE = AuthorityPrivateKey.generate()


class VaultOperations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="vault-machine-"))
        self.vault = self.folder / "vault"
        self.public_path = self.folder / "authority.pub"
        PRIVATE.public().save(self.public_path)
        self.live: dict[str, tuple[str, float]] = {}  # snapshot id -> (camera, seen) as sealed
        self.tampered: dict[str, str] = {}  # snapshot id -> "row" or "file"
        self.row_camera: dict[str, str] = {}  # snapshot id -> the camera its edited index row claims
        self.camera_keys: dict[str, Path | None] = {camera: None for camera in CAMERAS}
        self.config_edited = False
        self.sealed_seq: dict[str, int] = {}  # snapshot id -> seq of its 'sealed' entry
        self.broken_at: int | None = None  # seq of the audit entry we edited
        self.history: list[str] = []
        self.outputs = 0

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize()
    def create(self) -> None:
        CameraSealer.open(self.vault, self.public_path, CAMERAS[0], retention_days=1).close()

    # -- operations --------------------------------------------------------------------------------
    @rule(camera=st.sampled_from(CAMERAS), hours=st.integers(0, 72))
    def seal(self, camera: str, hours: int) -> None:
        seen = BASE + hours * HOUR
        crop = np.full((12, 10, 3), hours % 256, np.uint8)
        try:
            with CameraSealer.open(self.vault, self.public_path, camera, camera_key=self.camera_keys[camera]) as sealer:
                snapshot_id = sealer.seal(crop, {"camera_id": camera, "seen_at_utc": seen, "track_id": hours})
        except VaultError as error:
            assert self._blocked and "fails verification, refusing to add to it" in str(error)
            return
        assert not self._blocked
        self.live[snapshot_id] = (camera, seen)
        self.sealed_seq[snapshot_id] = len(self._audit_texts())

    @rule(cameras=st.sets(st.sampled_from(CAMERAS), min_size=1), start=st.integers(-1, 72), length=st.integers(0, 72))
    def open_warrant(self, cameras: set[str], start: int, length: int) -> None:
        scope = Scope(tuple(sorted(cameras)), BASE + start * HOUR, BASE + (start + length) * HOUR)
        self.outputs += 1
        result = open_snapshots(self.vault, PRIVATE, self.folder / f"out-{self.outputs}", scope, "CASE", "judge")
        in_scope = {i for i, (camera, seen) in self.live.items() if scope.contains(camera, seen)}
        verified = {i for i in in_scope if self.broken_at is None or self.sealed_seq[i] < self.broken_at}
        assert {path.stem for path in result.written} == verified - set(self.tampered)
        # Named as failures, never opened: tampered snapshots in scope, and those an edited row pulls into it.
        pulled_in = {i for i, camera in self.row_camera.items() if scope.contains(camera, self.live[i][1])}
        if self.broken_at is None:
            assert len(result.failures) == len((in_scope & set(self.tampered)) | pulled_in)
        assert bool(result.verification_problems) == self._blocked

    @rule(days=st.floats(0, 5))
    def purge_expired(self, days: float) -> None:
        now = BASE + days * DAY
        try:
            result = purge(self.vault, "operator", now=now)
        except VaultError as error:
            assert self.config_edited and "refusing to purge" in str(error)
            return
        assert not self.config_edited
        expired = {i for i, (_, seen) in self.live.items() if seen < now - 1 * DAY}
        assert set(result.purged) == expired
        for snapshot_id in expired:
            del self.live[snapshot_id]
            self.tampered.pop(snapshot_id, None)
            self.row_camera.pop(snapshot_id, None)

    @rule(camera=st.sampled_from(CAMERAS))
    def rotate(self, camera: str) -> None:
        new_key = self.folder / f"{camera}-{len(self.history)}.key"
        try:
            rotate_camera_key(self.vault, camera, new_key, "operator")
        except VaultError as error:
            assert self._blocked or "is not registered" in str(error)
            return
        assert not self._blocked
        self.camera_keys[camera] = new_key

    @precondition(lambda self: set(self.live) - set(self.tampered))
    @rule(data=st.data())
    def tamper_row(self, data: st.DataObject) -> None:
        snapshot_id = data.draw(st.sampled_from(sorted(set(self.live) - set(self.tampered))))
        other = CAMERAS[1] if self.live[snapshot_id][0] == CAMERAS[0] else CAMERAS[0]
        connection = sqlite3.connect(self.vault / "index.sqlite", isolation_level=None)
        connection.execute("UPDATE snapshots SET camera_id = ? WHERE snapshot_id = ?", (other, snapshot_id))
        connection.close()
        self.tampered[snapshot_id] = "row"
        self.row_camera[snapshot_id] = other

    @precondition(lambda self: set(self.live) - set(self.tampered))
    @rule(data=st.data())
    def tamper_file(self, data: st.DataObject) -> None:
        snapshot_id = data.draw(st.sampled_from(sorted(set(self.live) - set(self.tampered))))
        path = self.vault / "snapshots" / f"{snapshot_id}.seal"
        content = bytearray(path.read_bytes())
        content[-5] ^= 0xFF
        path.write_bytes(bytes(content))
        self.tampered[snapshot_id] = "file"

    @rule(edit=st.booleans())
    def edit_config(self, edit: bool) -> None:
        path = self.vault / "vault.json"
        config = json.loads(path.read_text())
        config["retention_days"] = 0.001 if edit else 1
        path.write_text(json.dumps(config))
        self.config_edited = edit

    @precondition(lambda self: self.broken_at is None)
    @rule(data=st.data())
    def edit_audit_entry(self, data: st.DataObject) -> None:
        texts = self._audit_texts()
        seq = data.draw(st.integers(2, len(texts))) if len(texts) >= 2 else 1
        body = json.loads(texts[seq - 1])
        body["actor"] = "mallory"
        connection = sqlite3.connect(self.vault / "index.sqlite", isolation_level=None)
        connection.execute("DROP TRIGGER IF EXISTS audit_no_update")  # an attacker with file access can drop the guard
        connection.execute("UPDATE audit SET entry = ? WHERE seq = ?", (json.dumps(body), seq))
        connection.close()
        self.broken_at = seq
        self.history[seq - 1] = self._audit_texts()[seq - 1]

    @property
    def _blocked(self) -> bool:
        return self.config_edited or self.broken_at is not None

    def _audit_texts(self) -> list[str]:
        connection = sqlite3.connect(self.vault / "index.sqlite")
        try:
            return [text for (text,) in connection.execute("SELECT entry FROM audit ORDER BY seq")]
        finally:
            connection.close()

    # -- invariants ----------------------------------------------------------------------------------
    @invariant()
    def history_only_grows(self) -> None:
        texts = self._audit_texts()
        assert texts[: len(self.history)] == self.history
        self.history = texts

    @invariant()
    def verify_names_exactly_what_was_tampered(self) -> None:
        report = verify_vault(self.vault)
        assert report.ok == (not self.tampered and not self._blocked), report.problems
        assert any(f"audit entry #{self.broken_at} " in p for p in report.problems) == (self.broken_at is not None)
        named = {i for i in self.live if any(i in problem for problem in report.problems)}
        assert named == set(self.tampered)
        assert any("vault.json disagrees" in p for p in report.problems) == self.config_edited


VaultOperations.TestCase.settings = settings(
    max_examples=25, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_vault_operations = VaultOperations.TestCase
