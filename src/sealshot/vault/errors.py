"""The vault's error is the package-wide ``sealshot.errors.VaultError``; re-exported here for the vault's modules."""

from __future__ import annotations

from sealshot.errors import VaultError

__all__ = ["VaultError"]
