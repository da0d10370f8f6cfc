"""The one exception the vault raises for every user-facing failure."""

from __future__ import annotations


class VaultError(Exception):
    """A vault, key, share or sealed file could not be used; the message says which and why."""
