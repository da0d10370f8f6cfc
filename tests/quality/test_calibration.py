"""Calibrated 0–100 scores: monotone in the raw score, within [0, 100], shipped as data, refitted by `sealshot calibrate`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.quality import DEFAULT_METHOD
from sealshot.quality.calibration import CalibrationError, calibration_for, fit_calibration, load_calibration, shipped_calibration_path
from sealshot.recognize import installed_comparators


def _assert_monotone_and_bounded(calibration, low: float, high: float) -> None:
    raw = np.linspace(low, high, 2001)
    calibrated = calibration(raw)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated.min() >= 0 and calibrated.max() <= 100


def test_fit_is_monotone_bounded_and_follows_the_outcome() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 1, 5000)
    verified = (rng.random(5000) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    calibration = fit_calibration("synthetic", raw, verified)
    _assert_monotone_and_bounded(calibration, -10, 10)
    assert calibration(-3.0) < 15 and calibration(3.0) > 85 and 35 < calibration(0.0) < 65
    assert np.isnan(calibration(np.nan))


@pytest.mark.parametrize("method", sorted({DEFAULT_METHOD, "vae-ratio", "vae"}))
def test_shipped_calibration_is_monotone_and_within_0_100(method: str) -> None:
    calibration = calibration_for(method)
    assert calibration is not None, f"no shipped calibration for {method} at {shipped_calibration_path(method)}"
    assert calibration.meta["fitted_on"].startswith("CelebA")  # never LFW
    span = calibration.raw[-1] - calibration.raw[0]
    _assert_monotone_and_bounded(calibration, calibration.raw[0] - span, calibration.raw[-1] + span)
    assert calibration.score[-1] - calibration.score[0] > 20  # it separates poor from good crops


def test_a_calibration_file_of_another_method_or_not_one_is_refused(tmp_path: Path) -> None:
    path = fit_calibration("size", np.arange(20.0), np.r_[np.zeros(10), np.ones(10)]).save(tmp_path / "size.json")
    assert load_calibration(path, "size").method == "size"
    with pytest.raises(CalibrationError, match="not 'vae'"):
        load_calibration(path, "vae")
    (tmp_path / "junk.json").write_text(json.dumps({"raw": [1]}))
    with pytest.raises(CalibrationError, match="not a sealshot quality calibration"):
        load_calibration(tmp_path / "junk.json")


def _sealshot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sealshot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif("facenet" not in installed_comparators(), reason="the evaluate extra (FaceNet) is not installed")
def test_calibrate_command_writes_a_file_that_score_accepts(lfw_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    for person in ("Abdullah_Gul", "Alejandro_Toledo", "Alvaro_Uribe"):
        (folder / person).mkdir(parents=True)
        for source in sorted((lfw_dir / "images" / person).glob("*.jpg"))[:6]:
            cv2.imwrite(str(folder / person / f"{source.stem}.png"), cv2.imread(str(source)))
    out = tmp_path / "size-calibration.json"
    result = _sealshot(
        "calibrate", "--method", "size", "--images", str(folder), "--out", str(out), "--comparators", "facenet",
        "--cache", str(tmp_path / "cache"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    calibration = load_calibration(out, "size")
    assert calibration.meta["identities"] == 3 and calibration.meta["crops_fitted"] >= 12

    scores = tmp_path / "scores.csv"
    result = _sealshot("score", str(folder / "Abdullah_Gul"), "--quality", "size", "--calibration", str(out), "--out", str(scores), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(scores.open()))
    assert len(rows) == 6
    for row in rows:
        assert 0 <= float(row["quality_0_100"]) <= 100
        assert float(row["quality_0_100"]) == pytest.approx(float(calibration(float(row["quality"]))), abs=0.06)

    wrong = _sealshot("score", str(folder / "Abdullah_Gul"), "--quality", "vae", "--calibration", str(out), "--out", str(scores), cwd=tmp_path)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr and "not 'vae'" in wrong.stderr
