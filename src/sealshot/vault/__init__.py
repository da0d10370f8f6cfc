"""Sealing and governance: HPKE-sealed snapshots, k-of-n keys, warrants, audit log, retention.

``CameraSealer`` is what a camera pipeline needs. ``Vault`` owns the vault folder (index, audit log,
sealed files, lock); the policies over it are ``open_snapshots`` / ``open_warrant`` (opening),
``purge`` (retention), ``verify_vault`` and ``rotate_camera_key``; ``sealshot.vault.admin`` holds
the rest of what the commands do (keys, shares). The web console keeps its accounts, warrants and
approvals through ``sealshot.vault.console_store`` and exports evidence with ``sealshot.vault.evidence``.
"""

from sealshot.vault.errors import VaultError
from sealshot.vault.recipient import load_recipient
from sealshot.vault.sealer import CameraSealer, rotate_camera_key
from sealshot.vault.store import DEFAULTS, Vault, VaultSettings

__all__ = ["DEFAULTS", "CameraSealer", "Vault", "VaultError", "VaultSettings", "load_recipient", "rotate_camera_key"]
