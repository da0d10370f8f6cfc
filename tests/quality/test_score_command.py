"""`sealshot score` on a folder with a face, a non-face image and a corrupt file: one row each, no crash."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from sealshot.cli import app


def test_score_folder_with_face_non_face_and_corrupt_file(lfw_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(sorted((lfw_dir / "images").glob("*/*.jpg"))[0], folder / "face.jpg")
    gradient = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))
    cv2.imwrite(str(folder / "gradient.png"), cv2.merge([gradient, gradient[::-1], gradient]))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not really a JPEG")
    out = tmp_path / "scores.csv"

    result = CliRunner().invoke(app, ["score", str(folder), "--quality", "vae", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {Path(row["path"]).name: row for row in csv.DictReader(out.open())}
    assert set(rows) == {"face.jpg", "gradient.png", "corrupt.jpg"}

    face = rows["face.jpg"]
    assert face["status"] == "ok" and face["face_found"] == "True" and int(face["faces"]) >= 1
    assert np.isfinite(float(face["quality"])) and face["method"] == "vae"
    assert rows["gradient.png"]["status"] == "no_face" and rows["gradient.png"]["quality"] == ""
    assert rows["corrupt.jpg"]["status"] == "unreadable" and rows["corrupt.jpg"]["face_found"] == "False"


def test_score_rejects_an_unknown_method(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    result = CliRunner().invoke(app, ["score", str(image), "--quality", "no-such-method", "--out", str(tmp_path / "s.csv")])
    assert result.exit_code != 0
    assert "unknown quality method" in result.output
