"""CLI commands of the `quality` area; `register(app)` adds them to the `sealshot` app."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Callable, Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)

SCORE_COLUMNS = ("path", "status", "face_found", "faces", "quality", "method", "x1", "y1", "x2", "y2", "detector_score")


def score_images(
    paths: list[Path],
    method_name: str,
    min_face_size: float = 20.0,
    on_image: Optional[Callable[[dict[str, object]], None]] = None,
) -> list[dict[str, object]]:
    """One row per image: the quality of its largest face, or why there is none.

    ``status`` is ``ok``, ``no_face``, ``unreadable`` or ``failed`` (the method
    could not assess the face; quality is then empty).
    """
    from sealshot.detect import MTCNNConfig, MTCNNDetector
    from sealshot.quality import FaceBatch, assess, get_quality
    from sealshot.train.faces import read_rgb

    method = get_quality(method_name)
    detector = MTCNNDetector(MTCNNConfig(min_face_size=min_face_size))
    rows: list[dict[str, object]] = []
    for path in paths:
        row: dict[str, object] = {column: "" for column in SCORE_COLUMNS}
        row.update(path=str(path), method=method_name, face_found=False, faces=0)
        image = read_rgb(path)
        if image is None:
            row["status"] = "unreadable"
        else:
            detections = detector.detect([image])[0]
            row["faces"] = len(detections)
            if len(detections) == 0:
                row["status"] = "no_face"
            else:
                largest = detections[int(np.argmax(detections.widths * detections.heights))]
                quality = float(assess(method, FaceBatch.from_detections(image, largest)).scores[0])
                row.update(face_found=True, detector_score=f"{float(largest.scores[0]):.4f}")
                row.update(zip(("x1", "y1", "x2", "y2"), (f"{v:.1f}" for v in largest.boxes[0])))
                if math.isnan(quality):
                    row["status"] = "failed"
                else:
                    row.update(status="ok", quality=f"{quality:.6g}")
        rows.append(row)
        if on_image:
            on_image(row)
    return rows


def score_command(
    images: Annotated[list[Path], typer.Argument(help="Image files and/or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write, one row per image.")],
    quality: Annotated[Optional[str], typer.Option("--quality", help="Quality method (see `sealshot score --list`); default: the package default.")] = None,
    min_face_size: Annotated[float, typer.Option(help="MTCNN minimum face size in pixels.")] = 20.0,
) -> None:
    """Score still images: detect, align and assess the largest face of each with a quality method."""
    from sealshot.quality.registry import DEFAULT_METHOD, UnknownQualityMethod, available, get_quality
    from sealshot.train.faces import IMAGE_SUFFIXES

    method_name = quality or DEFAULT_METHOD
    try:
        get_quality(method_name)
    except UnknownQualityMethod as error:
        raise typer.BadParameter(str(error), param_hint="--quality") from None

    paths: list[Path] = []
    for item in images:
        if item.is_dir():
            paths.extend(sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif item.exists():
            paths.append(item)
        else:
            raise typer.BadParameter(f"no such file or folder: {item}", param_hint="IMAGES")
    if not paths:
        raise typer.BadParameter("no images found", param_hint="IMAGES")

    counts = {"ok": 0, "no_face": 0, "unreadable": 0, "failed": 0}
    with Progress(
        TextColumn(f"[bold]score ({method_name})"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("score", total=len(paths))

        def on_image(row: dict[str, object]) -> None:
            counts[str(row["status"])] += 1
            progress.advance(task)

        rows = score_images(paths, method_name, min_face_size, on_image)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCORE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    console.print(f"{len(rows)} images ({summary}) -> {out}; methods available: {', '.join(available())}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("score")(score_command)
