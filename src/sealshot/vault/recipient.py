"""The recipient: the authority public key a camera seals to, read from the file an operator names.

Any other file there is the operator's mistake, an ``InputError`` (exit 2) that says what the file is
instead, raised before a source is opened or a vault created. Above all the authority's private key:
a camera must hold only the public key, so the message says to take the private one off the machine.
"""

from __future__ import annotations

from pathlib import Path

from sealshot.errors import InputError
from sealshot.vault.encoding import load_json_object
from sealshot.vault.errors import VaultError
from sealshot.vault.keys import PRIVATE_FORMAT, PUBLIC_FORMAT, AuthorityPublicKey
from sealshot.vault.sealed import MAGIC
from sealshot.vault.shares import SHARE_FORMAT

_EXPECTED = f"expected the authority's public key ({PUBLIC_FORMAT}, the authority.pub written by `sealshot keys init` or `sealshot keygen`)"


def load_recipient(path: Path) -> AuthorityPublicKey:
    """The authority public key in ``path``; ``InputError`` naming what the file is when it is not one."""
    what = f"recipient {path}"
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"{what} does not exist; {_EXPECTED}") from error
    except IsADirectoryError as error:
        raise InputError(f"{what} is a folder; {_EXPECTED}") from error
    except OSError as error:
        raise InputError(f"cannot read {what}: {error.strerror or error}") from error
    if not data.strip():
        raise InputError(f"{what} is empty; {_EXPECTED}")
    if data.startswith(MAGIC):
        raise InputError(f"{what} is a sealed snapshot, not a key; {_EXPECTED}")
    try:
        document = load_json_object(data, what)
    except VaultError as error:
        raise InputError(f"{error}; {_EXPECTED}") from error
    kind = document.get("format")
    if kind == PRIVATE_FORMAT:
        raise InputError(
            f"{what} is the authority's PRIVATE key; a camera must hold only the public key (authority.pub). "
            f"Give that instead, and remove {path} from this machine"
        )
    if kind == SHARE_FORMAT:
        raise InputError(f"{what} is a key holder's share of the authority key, which does not belong on a camera; {_EXPECTED}")
    if kind != PUBLIC_FORMAT:
        raise InputError(f"{what} is not a sealshot key (format {kind!r}); {_EXPECTED}")
    try:
        return AuthorityPublicKey.from_json(document, what)
    except VaultError as error:
        raise InputError(str(error)) from error
