"""The web console over a vault: accounts and roles, metadata, warrants with k-of-n approval, evidence, audit.

``create_app(vault, ConsoleSettings())`` builds the FastAPI application; ``sealshot console`` serves it
with uvicorn. Everything it knows is in the vault's database (``sealshot.vault.console_store``) except
what must never be stored: holders' uploaded shares and decrypted crops, which it holds in memory only.
"""

from sealshot.console.app import create_app
from sealshot.console.settings import ConsoleSettings

__all__ = ["ConsoleSettings", "create_app"]
