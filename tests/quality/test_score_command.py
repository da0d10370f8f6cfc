"""`sealshot score` on a folder with a face, a non-face image and a corrupt file: one row each, no crash."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
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
    assert [rows[name]["reason"] for name in ("face.jpg", "gradient.png", "corrupt.jpg")] == ["", "no_face", "unreadable"]


def test_score_stills_is_the_library_behind_the_command(lfw_dir: Path) -> None:
    from sealshot.quality import FailureReason, StillStatus, score_stills

    face = sorted((lfw_dir / "images").glob("*/*.jpg"))[0]
    seen = []
    (result,) = score_stills([face], "size", on_image=seen.append)
    assert seen == [result] and result.status is StillStatus.OK and result.reason is None
    assert len(result.face) == 1 and result.faces >= 1
    assert result.quality == pytest.approx(0.5 * float(np.log(result.face.widths[0] * result.face.heights[0])))
    assert FailureReason.NO_FACE.value == StillStatus.NO_FACE.value  # the CSV's status and reason agree


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_score_refuses_a_folder_as_out_before_scoring(lfw_dir: Path, tmp_path: Path) -> None:
    face = sorted((lfw_dir / "images").glob("*/*.jpg"))[0]
    result = CliRunner().invoke(app, ["score", str(face), "--quality", "vae", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "is a folder" in line and str(tmp_path) in line
    assert "score (vae)" not in result.output  # no progress: nothing was scored


def test_score_refuses_an_out_whose_folder_cannot_be_created(lfw_dir: Path, tmp_path: Path) -> None:
    face = sorted((lfw_dir / "images").glob("*/*.jpg"))[0]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(app, ["score", str(face), "--out", str(blocker / "scores.csv")])
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "cannot create its folder" in line and not (blocker / "scores.csv").exists()


def test_score_rejects_an_unknown_method(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    result = CliRunner().invoke(app, ["score", str(image), "--quality", "no-such-method", "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert "unknown quality method" in result.output


def test_score_refuses_an_out_that_is_one_of_its_images(tmp_path: Path) -> None:
    """`score a.jpg --out a.jpg` replaced the photo with the CSV."""
    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    before = image.read_bytes()
    for given in ([str(image)], [str(tmp_path)]):
        result = CliRunner().invoke(app, ["score", *given, "--quality", "size", "--out", str(image)])
        assert result.exit_code == 2, result.output
        (line,) = _error_lines(result.output)
        assert "is one of the images to score" in line
    assert image.read_bytes() == before
