"""`sealshot score` reads every image format OpenCV reads (PGM, 16-bit, alpha, grey) and finds the face
of an image that is already a tight face crop."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from sealshot.cli import app
from sealshot.video.images import read_rgb


def _face_bgr(lfw_dir: Path) -> np.ndarray:
    return cv2.imread(str(lfw_dir / "images" / "Abdullah_Gul" / "Abdullah_Gul_0001.jpg"))


def _tight_crop(image_bgr: np.ndarray) -> np.ndarray:
    """The inner part of the MTCNN box (forehead to chin, cheek to cheek), scaled to 160 px: no margin at all."""
    from sealshot.detect.mtcnn import MTCNNDetector

    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    (x1, y1, x2, y2) = MTCNNDetector().detect([rgb])[0].boxes[0]
    inset_x, inset_y = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
    crop = image_bgr[int(y1 + inset_y) : int(y2 - inset_y / 2), int(x1 + inset_x) : int(x2 - inset_x)]
    return cv2.resize(crop, (160, 160), interpolation=cv2.INTER_CUBIC)


def test_read_rgb_converts_every_layout_to_rgb8(tmp_path: Path) -> None:
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[..., 0], bgr[..., 2] = 200, 10  # blue-ish in BGR order
    grey16 = np.full((8, 8), 65535 // 2, np.uint16)
    bgra = np.dstack([bgr, np.r_[np.full((4, 8), 255), np.zeros((4, 8))].astype(np.uint8)])
    cv2.imwrite(str(tmp_path / "colour.png"), bgr)
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    cv2.imwrite(str(tmp_path / "grey.pgm"), grey16.astype(np.uint8))
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    colour = read_rgb(tmp_path / "colour.png")
    assert colour is not None and colour.dtype == np.uint8 and tuple(colour[0, 0]) == (10, 0, 200)
    grey = read_rgb(tmp_path / "grey16.png")
    assert grey is not None and grey.shape == (8, 8, 3) and grey.dtype == np.uint8 and set(np.unique(grey)) == {127}
    assert read_rgb(tmp_path / "grey.pgm").shape == (8, 8, 3)  # type: ignore[union-attr]
    alpha = read_rgb(tmp_path / "alpha.png")
    assert alpha is not None and tuple(alpha[0, 0]) == (10, 0, 200) and tuple(alpha[7, 7]) == (255, 255, 255)


def test_score_reads_pgm_16bit_alpha_grey_and_tight_crops(lfw_dir: Path, tmp_path: Path) -> None:
    face = _face_bgr(lfw_dir)
    folder = tmp_path / "images"
    folder.mkdir()
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(folder / "grey.pgm"), grey)
    cv2.imwrite(str(folder / "grey.png"), grey)
    cv2.imwrite(str(folder / "deep.png"), face.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "alpha.png"), np.dstack([face, np.full(face.shape[:2], 255, np.uint8)]))
    cv2.imwrite(str(folder / "tight.png"), _tight_crop(face))
    out = tmp_path / "scores.csv"

    result = CliRunner().invoke(app, ["score", str(folder), "--quality", "vae-ratio", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {Path(row["path"]).name: row for row in csv.DictReader(out.open())}
    assert set(rows) == {"grey.pgm", "grey.png", "deep.png", "alpha.png", "tight.png"}
    for name, row in rows.items():
        assert row["status"] == "ok", (name, row)
        assert np.isfinite(float(row["quality"]))
    assert rows["grey.pgm"]["quality"] == rows["grey.png"]["quality"]
    # The tight crop's box is in the file's own pixels: it covers most of the 160 px image.
    x1, y1, x2, y2 = (float(rows["tight.png"][k]) for k in ("x1", "y1", "x2", "y2"))
    assert x2 - x1 > 100 and y2 - y1 > 100 and x1 < 20 and y1 < 20


def test_tight_crop_has_no_face_without_the_padding(lfw_dir: Path) -> None:
    from sealshot.detect.mtcnn import MTCNNDetector
    from sealshot.detect.stills import FacePolicy, find_face

    tight = cv2.cvtColor(_tight_crop(_face_bgr(lfw_dir)), cv2.COLOR_BGR2RGB)
    detector = MTCNNDetector()
    assert len(detector.detect([tight])[0]) == 0  # the case this retry exists for
    found = find_face(detector, tight, FacePolicy.LARGEST)
    assert len(found.face) == 1 and found.padded and found.source.shape[0] > tight.shape[0]
