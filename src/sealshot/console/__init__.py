"""The web console over a vault: accounts and roles, metadata, warrants with k-of-n approval, evidence, audit.

``create_app(vault, ConsoleSettings())`` builds the FastAPI application; ``sealshot console`` serves it
with uvicorn. Everything it knows is in the vault's database (``sealshot.vault.console_store``) except
what must never be stored: holders' uploaded shares and decrypted crops, which it holds in memory only.

Both names load on first use (PEP 562): the command line imports this package for its commands, and
FastAPI, Jinja2 and the password hasher should cost nothing to a ``sealshot run``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealshot.console.app import create_app
    from sealshot.console.settings import ConsoleSettings

_HOMES = {"create_app": "app", "ConsoleSettings": "settings"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
