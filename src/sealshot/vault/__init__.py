"""Sealing and governance: HPKE-sealed snapshots, k-of-n keys, warrants, audit log, retention.

``CameraSealer`` is what a camera pipeline needs; the rest backs the ``sealshot`` vault commands.
"""

from sealshot.vault.errors import VaultError
from sealshot.vault.sealer import CameraSealer

__all__ = ["CameraSealer", "VaultError"]
