"""Checks on the files a command will write, made before any work: a mistake found only when the output is
written (after every frame was processed) would cost the work, or overwrite what the user gave as input."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sealshot.errors import InputError


def check_output_file(path: Path | None, option: str, suffixes: Sequence[str] | None = None) -> None:
    """``InputError`` unless a file can be written at ``path``: not a folder, a known type (``suffixes``, if given),
    and its missing folders can be made (the nearest existing one is a folder)."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(f"{option} {path}: unknown file type {path.suffix!r}; use {', '.join(suffixes)}")
    folder = next(parent for parent in path.absolute().parents if parent.exists())  # where the missing folders would be made
    if not folder.is_dir():
        raise InputError(f"{option} {path}: {folder} is a file, not a folder")


def check_outputs_spare_inputs(inputs: Sequence[str | Path], outputs: Sequence[tuple[str, Path | None]]) -> None:
    """``InputError`` if an output (option, path) is one of the input files or another output: ``--preview clip.mp4``
    on clip.mp4 replaced the recording with the preview."""
    taken: dict[Path, str] = {Path(given).resolve(): f"the source {given}" for given in inputs if Path(given).is_file()}
    for option, path in outputs:
        if path is None:
            continue
        resolved = path.resolve()
        if resolved in taken:
            raise InputError(f"{option} {path} is {taken[resolved]}; it would be overwritten")
        taken[resolved] = f"also written by {option}"
