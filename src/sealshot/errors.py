"""The one error hierarchy of sealshot, and the exit code each kind maps to.

Every failure a user can cause or meet (a bad argument, an unreadable video, a
vault that fails its checks, a missing model) is raised as a subclass of
``SealshotError`` with a message that names the path or value at fault.
``sealshot.cli`` turns it into one red line on stderr and the exit code of its
class, in one place; library users catch ``SealshotError``.

Exit codes (documented in the README):

==== ==========================================================
0    success
1    a source failed while others finished (``run``), or verification found problems
2    bad input: an argument, option, config or input file is wrong (``InputError``)
3    a video source could not be opened or decoded (``SourceError``)
4    the vault refused the operation or could not be used (``VaultError``)
5    a model or an optional dependency is missing or broken (``ModelError``)
130  interrupted by SIGINT (Ctrl-C); every open track was sealed
143  stopped by SIGTERM; every open track was sealed
==== ==========================================================
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class SealshotError(Exception):
    """Base of every error sealshot reports to a user; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class InputError(SealshotError):
    """An argument, option, configuration value or input file is not usable."""

    exit_code = 2


class SourceError(SealshotError):
    """A video file, stream, camera or image folder could not be opened or decoded."""

    exit_code = 3


class VaultError(SealshotError):
    """A vault, key, share or sealed file could not be used; the message says which and why."""

    exit_code = 4


class VaultUnavailable(VaultError):
    """The vault's database or object store could not be reached (a server restarting, a network
    outage): worth trying again, unlike a refusal."""


class ModelError(SealshotError):
    """A model's weights or an optional dependency (extra) is missing or cannot be loaded."""

    exit_code = 5


REINSTALL = "reinstall sealshot (pip install --force-reinstall sealshot) to restore the file shipped with it"


@contextmanager
def loading_model(what: str, path: object, remedy: str = REINSTALL) -> Iterator[None]:
    """Any failure inside (the file deleted, cut short or edited by mistake) becomes a ``ModelError`` that names the
    model, its file and what to do, instead of a library's traceback."""
    try:
        yield
    except ModelError:
        raise
    except Exception as error:
        # The library's first sentence only: torch's goes on to suggest loading the file without its safety checks.
        detail = str(error).strip().split("\n")[0].split(". ")[0][:200]
        raise ModelError(f"{what} could not be loaded from {path} ({type(error).__name__}: {detail}); {remedy}") from error


EXIT_OK = 0
EXIT_PARTIAL = 1
"""Some work failed while the rest completed (a source of several, or problems found by a check)."""


def signal_exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + signum
