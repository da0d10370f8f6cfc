"""CLI commands of the `quality` area; `register(app)` adds them to the `sealshot` app."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sealshot.detect.config import MTCNNConfig
from sealshot.errors import InputError

if TYPE_CHECKING:
    from sealshot.quality.calibration import Calibration
    from sealshot.quality.stills import StillScore

console = Console(stderr=True)

SCORE_COLUMNS = (
    "path", "status", "face_found", "faces", "quality", "method", "x1", "y1", "x2", "y2", "detector_score", "reason", "quality_0_100",
)  # fmt: skip


def csv_row(result: "StillScore", calibration: "Calibration | None" = None) -> dict[str, object]:
    """One CSV row of ``sealshot score``; empty cells where there is no face or no quality (or no calibration)."""
    row: dict[str, object] = {column: "" for column in SCORE_COLUMNS}
    found = len(result.face) > 0
    row.update(path=str(result.path), status=result.status.value, face_found=found, faces=result.faces, method=result.method)
    if found:
        row["detector_score"] = f"{float(result.face.scores[0]):.4f}"
        row.update(zip(("x1", "y1", "x2", "y2"), (f"{v:.1f}" for v in result.face.boxes[0])))
    if result.quality is not None:
        row["quality"] = f"{result.quality:.6g}"
        if calibration is not None:
            row["quality_0_100"] = f"{calibration.one(result.quality):.1f}"
    if result.reason is not None:
        row["reason"] = result.reason.value
    return row


def writable_file(path: Path) -> Path:
    """``path`` if a file can be written there (its folder is created); else an ``InputError`` saying why."""
    if path.is_dir():
        raise InputError(f"--out {path} is a folder; give the path of a CSV file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out {path}: cannot create its folder ({error.strerror or error})") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"--out {path}: not writable")
    return path


def score_command(
    images: Annotated[list[Path], typer.Argument(help="Image files and/or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write, one row per image.")],
    quality: Annotated[Optional[str], typer.Option("--quality", help="Quality method (see `sealshot score --list`); default: the package default.")] = None,
    min_face_size: Annotated[float, typer.Option(help="MTCNN minimum face size in pixels.")] = MTCNNConfig.min_face_size,
    calibration: Annotated[
        Optional[Path], typer.Option(help="calibration file from `sealshot calibrate` (default: the method's shipped one)")
    ] = None,
) -> None:
    """Score still images: detect, align and assess the largest face of each with a quality method."""
    from sealshot.detect.stills import image_files
    from sealshot.quality.registry import DEFAULT_METHOD, available, get_quality
    from sealshot.quality.stills import score_stills

    from sealshot.quality.calibration import calibration_for

    method_name = quality or DEFAULT_METHOD
    get_quality(method_name)
    mapping = calibration_for(method_name, calibration)
    paths = image_files(images)
    if not paths:
        raise InputError("no images found in " + ", ".join(map(str, images)))
    writable_file(out)
    if out.resolve() in {Path(path).resolve() for path in paths}:
        raise InputError(f"--out {out} is one of the images to score; it would be overwritten")

    counts: Counter[str] = Counter()
    with Progress(
        TextColumn(f"[bold]score ({method_name})"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("score", total=len(paths))

        def on_image(result: "StillScore") -> None:
            counts[result.status.value] += 1
            progress.advance(task)

        results = score_stills(paths, method_name, MTCNNConfig(min_face_size=min_face_size), on_image)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCORE_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_row(result, mapping) for result in results)
    summary = ", ".join(f"{n} {status}" for status in ("ok", "no_face", "unreadable", "failed") if (n := counts[status]))
    console.print(f"{len(results)} images ({summary}) -> {out}; methods available: {', '.join(available())}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("score")(score_command)
