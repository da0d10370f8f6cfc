"""Evidence bundles: a ZIP of the crops opened under a warrant, a manifest and its Ed25519 signature.

The bundle is built in memory (the console serves it as a download; nothing is written on the server).
``manifest.json`` (canonical JSON) names the case, the warrant's scope, each snapshot with its
authenticated metadata and the SHA-256 of its PNG, and carries two audit entries verbatim: the
authority-signed ``opened`` entry of this case, and entry #1 (``vault-created``), which states the
vault's operator key and authority key. ``manifest.sig`` is the operator key's signature over
``manifest.json``. So a bundle can be checked offline, with nothing but itself: the signature, every
crop's hash, the ``opened`` entry's signature by the authority that entry #1 names, and that the
entry opened exactly these snapshots for this case. ``--expect-key`` pins the operator key too
(a bundle could otherwise be made up whole, with a fresh "vault").
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.audit import AuditEntry, parse_entry
from sealshot.vault.encoding import b64decode, b64encode, canonical_json, load_json_object
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPublicKey, ed25519_public_from_b64, public_key_b64
from sealshot.vault.opener import OpenedImage

BUNDLE_FORMAT = "sealshot-evidence-v1"
MANIFEST, SIGNATURE, CROPS = "manifest.json", "manifest.sig", "crops/"
MAX_MEMBER_BYTES = 64 * 2**20


def build_bundle(
    images: Sequence[OpenedImage],
    opened: AuditEntry,
    vault_created: AuditEntry,
    signing_key: ed25519.Ed25519PrivateKey,
    context: dict[str, Any],
) -> tuple[bytes, dict[str, Any]]:
    """The ZIP's bytes and its manifest; ``context`` adds the case's fields (case id, warrant id, scope, who)."""
    snapshots = []
    members: list[tuple[str, bytes]] = []
    for image in images:
        name = f"{CROPS}{image.snapshot_id}.png"
        members.append((name, image.png))
        snapshots.append(image.metadata | {"image": name, "sha256": hashlib.sha256(image.png).hexdigest()})
    manifest = context | {
        "format": BUNDLE_FORMAT,
        "exported_utc": round(time.time(), 6),
        "snapshots": snapshots,
        "opened_entry": opened.text(),
        "vault_created_entry": vault_created.text(),
        "signing_public_key": public_key_b64(signing_key),
    }
    body = canonical_json(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, body)
        archive.writestr(SIGNATURE, b64encode(signing_key.sign(body)) + "\n")
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue(), manifest


@dataclass
class BundleReport:
    problems: list[str] = field(default_factory=list)
    case_id: str | None = None
    snapshots: int = 0
    signing_key: str | None = None
    opened_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _entry_verifies(entry: AuditEntry, key: ed25519.Ed25519PublicKey) -> bool:
    try:
        key.verify(b64decode(entry.signature, f"{entry.describe()}: signature", 64), canonical_json(entry.body()))
    except InvalidSignature:
        return False
    return True


def verify_bundle(path: Path, expect_key: str | None = None) -> BundleReport:
    """Check a bundle offline; every problem found is reported (a bundle that cannot be read is one)."""
    report = BundleReport()
    try:
        _verify(Path(path), expect_key, report)
    except VaultError as error:
        report.problems.append(str(error))
    except (zipfile.BadZipFile, OSError) as error:
        report.problems.append(f"{path} is not a readable evidence bundle: {error}")
    return report


def _read_members(path: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.file_size > MAX_MEMBER_BYTES or info.filename in members:
                raise VaultError(f"bundle member {info.filename!r} is too large or repeated")
            members[info.filename] = archive.read(info)
    return members


def _verify(path: Path, expect_key: str | None, report: BundleReport) -> None:
    members = _read_members(path)
    if MANIFEST not in members or SIGNATURE not in members:
        raise VaultError(f"{path}: {MANIFEST} or {SIGNATURE} is missing")
    body = members[MANIFEST]
    manifest = load_json_object(body, f"{path}: {MANIFEST}")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise VaultError(f"{path} is not a sealshot evidence bundle (format {manifest.get('format')!r})")
    report.case_id = manifest.get("case_id")
    signer_text = manifest.get("signing_public_key")
    signer = ed25519_public_from_b64(signer_text, f"{MANIFEST}: signing_public_key")
    report.signing_key = signer_text
    try:
        signer.verify(b64decode(members[SIGNATURE].decode("ascii", "replace").strip(), SIGNATURE, 64), body)
    except InvalidSignature:
        report.problems.append(f"{SIGNATURE}: the signature does not match {MANIFEST} (the manifest was altered)")
    if expect_key is not None and signer_text != expect_key:
        report.problems.append(f"the bundle is signed by key {signer_text}, not the expected {expect_key}")

    created = parse_entry(manifest.get("vault_created_entry"))  # type: ignore[arg-type]
    operator_text = created.details.get("operator_public")
    if created.event != "vault-created" or created.seq != 1:
        report.problems.append("vault_created_entry is not the vault's entry #1")
    elif not _entry_verifies(created, ed25519_public_from_b64(operator_text, "vault_created_entry: operator_public")):
        report.problems.append("vault_created_entry: its signature is invalid")
    if operator_text != signer_text:
        report.problems.append("the manifest is not signed by the operator key that the vault's entry #1 names")
    authority = AuthorityPublicKey.from_json(created.details.get("authority") or {}, "vault_created_entry: authority")

    opened = parse_entry(manifest.get("opened_entry"))  # type: ignore[arg-type]
    report.opened_seq = opened.seq
    if opened.event != "opened" or opened.signer != "authority":
        report.problems.append("opened_entry is not an authority-signed 'opened' entry")
    elif not _entry_verifies(opened, authority.signing):
        report.problems.append("opened_entry: its signature by the authority is invalid (edited, or another vault's)")
    if opened.details.get("case_id") != manifest.get("case_id"):
        report.problems.append("the case id of the manifest and of the 'opened' entry differ")

    snapshots = manifest.get("snapshots")
    if not isinstance(snapshots, list):
        raise VaultError(f"{MANIFEST}: snapshots must be a list")
    report.snapshots = len(snapshots)
    listed = [s.get("snapshot_id") for s in snapshots if isinstance(s, dict)]
    if sorted(map(str, listed)) != sorted(map(str, opened.details.get("snapshot_ids") or [])):
        report.problems.append("the snapshots of the manifest are not those the 'opened' entry records")
    images = {s.get("image") for s in snapshots if isinstance(s, dict)}
    for snapshot in snapshots:
        if not isinstance(snapshot, dict):
            report.problems.append(f"{MANIFEST}: a snapshot entry is not an object")
            continue
        data = members.get(str(snapshot.get("image")))
        if data is None:
            report.problems.append(f"snapshot {snapshot.get('snapshot_id')}: its image {snapshot.get('image')!r} is missing")
        elif hashlib.sha256(data).hexdigest() != snapshot.get("sha256"):
            report.problems.append(f"snapshot {snapshot.get('snapshot_id')}: {snapshot.get('image')} does not match its hash (altered)")
    extra = sorted(set(members) - {MANIFEST, SIGNATURE} - images)
    if extra:
        report.problems.append(f"files not named by the manifest: {', '.join(extra[:5])}")
