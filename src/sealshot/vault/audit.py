"""The audit log: append-only, hash-chained, every entry signed with Ed25519.

An entry is canonical JSON: ``seq``, ``event``, ``time_utc``, ``actor``, ``signer``, ``details``,
``prev`` (hash of the previous entry, 64 zeros for the first) and ``signature`` (Ed25519 over the
entry without its signature). Its hash is SHA-256 of the whole canonical entry.

Who signs what (the key is resolved from the chain itself, never from the entry being checked):

- ``vault-created`` (first entry): the vault's operator key, whose public half it states;
- ``keys-created`` and ``opened``: the authority's signing key, which only exists where the
  authority private key does (k of n holders, or the single-key file);
- ``camera-registered``: the camera's own key (proof of possession of the public key it states);
  only once per camera: a later key change is a ``camera-rotated`` entry;
- ``camera-rotated``: the operator key (whoever administers the vault decides which device may seal
  as that camera; the old key may be lost with a stolen device), with ``details.proof``, the new
  key's signature over ``rotation_proof_message`` (proof of possession, bound to the camera id);
- ``sealed``: the key most recently registered or rotated to for that camera;
- ``purged``: the operator key (retention is routine and needs no quorum);
- ``console``: the operator key; one entry per action of a console account (``actor`` =
  ``console:NAME``, ``details.action`` says what: account-created, signed-in, warrant-filed,
  warrant-approved, evidence-exported, ...). The console runs where the vault and its operator key are.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sealshot.vault.encoding import b64decode, b64encode, canonical_json, load_json_object
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import AuthorityPublicKey, ed25519_public_from_b64, public_key_b64

GENESIS = "0" * 64
EVENTS = ("vault-created", "keys-created", "camera-registered", "camera-rotated", "sealed", "opened", "purged", "console")
CAMERA_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    event: str
    time_utc: float
    actor: str
    signer: str
    details: dict[str, Any]
    prev: str
    signature: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event": self.event,
            "time_utc": self.time_utc,
            "actor": self.actor,
            "signer": self.signer,
            "details": self.details,
            "prev": self.prev,
        }

    def text(self) -> str:
        return canonical_json(self.body() | {"signature": self.signature}).decode()

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()

    def describe(self) -> str:
        return f"audit entry #{self.seq} ({self.event}, signer {self.signer})"


def make_entry(
    seq: int, event: str, actor: str, signer: str, details: dict[str, Any], prev: str, key: ed25519.Ed25519PrivateKey
) -> AuditEntry:
    if event not in EVENTS:
        raise VaultError(f"unknown audit event {event!r}")
    unsigned = AuditEntry(seq, event, round(time.time(), 6), actor, signer, details, prev)
    # Round-trip through JSON so the signed body is exactly what parse_entry will rebuild.
    unsigned = parse_entry(unsigned.text(), signed=False)
    return replace(unsigned, signature=b64encode(key.sign(canonical_json(unsigned.body()))))


def rotation_proof_message(camera_id: str, public_key: str, previous_key: str) -> bytes:
    """What a camera's new key signs to show that its holder asked for the rotation."""
    return canonical_json({"purpose": "sealshot camera key rotation v1", "camera_id": camera_id, "public_key": public_key, "previous_key": previous_key})


def parse_entry(text: str, signed: bool = True) -> AuditEntry:
    """Parse one stored entry; any malformation is a ``VaultError`` (the signature is checked by the chain)."""
    if not isinstance(text, str):
        raise VaultError("audit entry is not text")
    data = load_json_object(text.encode("utf-8", "surrogatepass"), "audit entry")
    seq, event, stamp, actor, signer = (data.get(k) for k in ("seq", "event", "time_utc", "actor", "signer"))
    details, prev, signature = data.get("details"), data.get("prev"), data.get("signature", "")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise VaultError("audit entry: seq must be a positive integer")
    what = f"audit entry #{seq}"
    if event not in EVENTS:
        raise VaultError(f"{what}: unknown event {event!r}")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        raise VaultError(f"{what}: time_utc must be a number")
    if not isinstance(actor, str) or not isinstance(signer, str):
        raise VaultError(f"{what}: actor and signer must be strings")
    if not isinstance(details, dict):
        raise VaultError(f"{what}: details must be an object")
    if not isinstance(prev, str) or not _HEX64.match(prev):
        raise VaultError(f"{what}: prev must be a SHA-256 hex digest")
    if signed:
        b64decode(signature, f"{what}: signature", 64)
    extra = set(data) - {"seq", "event", "time_utc", "actor", "signer", "details", "prev", "signature"}
    if extra:
        raise VaultError(f"{what}: unexpected fields {sorted(extra)}")
    return AuditEntry(seq, event, stamp, actor, signer, details, prev, signature if isinstance(signature, str) else "")


@dataclass
class ChainState:
    """What a walk along the chain has learnt: keys, and which snapshots were sealed, opened, purged.

    With ``camera`` set it is that camera's view, for a sealing camera that runs for months: every
    entry is still verified, but only this camera's ``sealed`` and ``purged`` snapshots are kept and no
    list of hashes, so its memory grows with what this camera sealed, not with the whole vault."""

    operator: ed25519.Ed25519PublicKey | None = None
    authority: AuthorityPublicKey | None = None
    retention_days: float | None = None
    cameras: dict[str, ed25519.Ed25519PublicKey] = field(default_factory=dict)
    sealed: dict[str, dict[str, Any]] = field(default_factory=dict)  # snapshot id -> sealed details
    purged: set[str] = field(default_factory=set)
    head: str = GENESIS
    count: int = 0
    hashes: list[str] = field(default_factory=list)
    camera: str | None = None


CHECKPOINT_FORMAT = "sealshot-chain-checkpoint-v1"


def checkpoint_json(state: ChainState) -> dict[str, Any]:
    """A camera's verified view of the chain, to resume verification after ``count`` at its next start."""
    if state.camera is None or state.operator is None or state.authority is None:
        raise VaultError("only a camera's view of a verified chain can be checkpointed")
    return {
        "format": CHECKPOINT_FORMAT,
        "camera": state.camera,
        "count": state.count,
        "head": state.head,
        "operator": public_key_b64(state.operator),
        "authority": state.authority.to_json(),
        "retention_days": state.retention_days,
        "cameras": {camera: public_key_b64(key) for camera, key in state.cameras.items()},
        "sealed": state.sealed,
        "purged": sorted(state.purged),
    }


def checkpoint_state(data: dict[str, Any], camera: str) -> ChainState | None:
    """The state a checkpoint holds, or None when it is not a usable checkpoint of ``camera``'s view."""
    try:
        if data.get("format") != CHECKPOINT_FORMAT or data.get("camera") != camera:
            return None
        count, head, sealed, purged = data["count"], data["head"], data["sealed"], data["purged"]
        if not isinstance(count, int) or count < 1 or not isinstance(head, str) or not _HEX64.match(head):
            return None
        if not isinstance(sealed, dict) or not isinstance(purged, list):
            return None
        return ChainState(
            operator=ed25519_public_from_b64(data["operator"], "checkpoint"),
            authority=AuthorityPublicKey.from_json(data["authority"], "checkpoint"),
            retention_days=float(data["retention_days"]),
            cameras={str(name): ed25519_public_from_b64(key, "checkpoint") for name, key in dict(data["cameras"]).items()},
            sealed={str(i): dict(d) for i, d in sealed.items()},
            purged={str(i) for i in purged},
            head=head,
            count=count,
            camera=camera,
        )
    except (VaultError, KeyError, TypeError, ValueError):
        return None


def links_intact(pages: Iterable[list[tuple[int, str]]], count: int, head: str) -> bool:
    """Whether the stored entries 1..``count`` are still exactly those whose last hash was ``head``: each
    at its position, each naming the SHA-256 of the one before as ``prev``. Cheap (no JSON parsing, no
    signature), it lets a camera trust a checkpoint of entries it verified in full before: an entry
    edited, deleted, inserted or reordered since changes a hash and breaks a link."""
    expected_prev, position = GENESIS, 0
    for page in pages:
        for stored_position, text in page:
            position += 1
            if stored_position != position or not isinstance(text, str):
                return False
            start = text.rfind(_PREV_KEY)  # the top-level key: only "seq", "signature", "signer", "time_utc" follow it
            if start < 0 or text[start + len(_PREV_KEY) : start + len(_PREV_KEY) + 64] != expected_prev:
                return False
            expected_prev = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return position == count and expected_prev == head


_PREV_KEY = '"prev":"'


def _signing_key(entry: AuditEntry, state: ChainState) -> ed25519.Ed25519PublicKey:
    what = entry.describe()
    if entry.event == "vault-created":
        if entry.seq != 1:
            raise VaultError(f"{what}: a vault can only be created by its first entry")
        return ed25519_public_from_b64(entry.details.get("operator_public"), f"{what}: operator_public")
    if entry.event == "camera-registered":
        return ed25519_public_from_b64(entry.details.get("public_key"), f"{what}: public_key")
    if state.operator is None or state.authority is None:
        raise VaultError(f"{what}: the log does not start with vault-created")
    if entry.signer == "operator" and entry.event in ("purged", "camera-rotated", "console"):
        return state.operator
    if entry.signer == "authority" and entry.event in ("keys-created", "opened"):
        return state.authority.signing
    if entry.event == "sealed" and entry.signer.startswith("camera:"):
        camera = entry.signer.removeprefix("camera:")
        if camera not in state.cameras:
            raise VaultError(f"{what}: camera {camera!r} was never registered")
        return state.cameras[camera]
    raise VaultError(f"{what}: {entry.signer!r} may not sign a {entry.event!r} entry")


def _apply(entry: AuditEntry, state: ChainState) -> None:
    what, details = entry.describe(), entry.details
    if entry.event == "vault-created":
        if entry.signer != "operator":
            raise VaultError(f"{what}: must be signed by the operator")
        state.operator = ed25519_public_from_b64(details.get("operator_public"), f"{what}: operator_public")
        authority = details.get("authority")
        if not isinstance(authority, dict):
            raise VaultError(f"{what}: missing authority public key")
        state.authority = AuthorityPublicKey.from_json(authority, what)
        retention = details.get("retention_days")
        if not isinstance(retention, (int, float)) or isinstance(retention, bool) or retention <= 0:
            raise VaultError(f"{what}: retention_days must be a positive number")
        state.retention_days = float(retention)
    elif entry.event == "camera-registered":
        camera = details.get("camera_id")
        if not isinstance(camera, str) or not CAMERA_ID.match(camera) or entry.signer != f"camera:{camera}":
            raise VaultError(f"{what}: camera id and signer disagree")
        # Vaults written before camera-rotated existed re-registered a changed key (replaces_key); accepted as history.
        if camera in state.cameras and details.get("replaces_key") is not True:
            raise VaultError(f"{what}: camera {camera!r} is already registered; a key change must be a camera-rotated entry")
        state.cameras[camera] = ed25519_public_from_b64(details.get("public_key"), f"{what}: public_key")
    elif entry.event == "camera-rotated":
        camera, public, previous = details.get("camera_id"), details.get("public_key"), details.get("previous_key")
        if not isinstance(camera, str) or camera not in state.cameras:
            raise VaultError(f"{what}: camera {camera!r} was never registered")
        if not isinstance(public, str) or previous != public_key_b64(state.cameras[camera]):
            raise VaultError(f"{what}: previous_key is not the camera's registered key")
        new_key = ed25519_public_from_b64(public, f"{what}: public_key")
        try:
            new_key.verify(b64decode(details.get("proof"), f"{what}: proof", 64), rotation_proof_message(camera, public, previous))
        except InvalidSignature as error:
            raise VaultError(f"{what}: the new key's proof of possession is invalid") from error
        state.cameras[camera] = new_key
    elif entry.event == "sealed":
        snapshot_id = details.get("snapshot_id")
        if not isinstance(snapshot_id, str) or entry.signer != f"camera:{details.get('camera_id')}":
            raise VaultError(f"{what}: snapshot id or camera missing")
        if snapshot_id in state.sealed:
            raise VaultError(f"{what}: snapshot {snapshot_id} was already sealed")
        if state.camera is None or details.get("camera_id") == state.camera:
            state.sealed[snapshot_id] = details
    elif entry.event == "purged":
        ids = details.get("snapshot_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise VaultError(f"{what}: snapshot_ids must be a list of ids")
        state.purged.update(ids if state.camera is None else (i for i in ids if i in state.sealed))


def verify_chain(texts: list[tuple[int, str]], state: ChainState | None = None) -> tuple[ChainState, str | None]:
    """Walk the stored entries in order; return what was learnt and the first problem (or ``None``).

    ``texts`` are ``(row position, entry text)`` in storage order. A deleted entry shows as a gap in
    ``seq`` or a broken ``prev``; a reordered one as a ``seq`` out of place; an edited one as a bad signature.
    Given the ``state`` of an earlier walk, continue from it with the entries after ``state.count``
    (``state`` is updated in place); a problem stops the walk where it is found.
    """
    state = ChainState() if state is None else state
    for expected, (position, text) in enumerate(texts, start=state.count + 1):
        try:
            entry = parse_entry(text)
        except VaultError as error:
            return state, f"audit entry #{expected} (row {position}) is unreadable: {error}"
        what = entry.describe()
        if position != expected:
            return state, f"audit entry #{expected} is missing: it was deleted (the next stored entry is at position {position})"
        if entry.seq != expected:
            return state, f"the audit entry stored at position {position} claims to be #{entry.seq}: entries were reordered or renumbered"
        if entry.prev != state.head:
            return state, f"{what}: its prev hash does not match entry #{expected - 1} (an entry before it was edited, deleted or reordered)"
        try:
            key = _signing_key(entry, state)
            key.verify(b64decode(entry.signature, f"{what}: signature", 64), canonical_json(entry.body()))
        except InvalidSignature:
            return state, f"{what}: signature is invalid (the entry was edited)"
        except VaultError as error:
            return state, str(error)
        try:
            _apply(entry, state)
        except VaultError as error:
            return state, str(error)
        state.head = entry.hash
        if state.camera is None:
            state.hashes.append(state.head)
        state.count = expected
    return state, None
