"""The vault's errors are the package-wide ``sealshot.errors.VaultError`` (and its transient kind,
``VaultUnavailable``); re-exported here for the vault's modules."""

from __future__ import annotations

from sealshot.errors import VaultError, VaultUnavailable

__all__ = ["VaultError", "VaultUnavailable"]
