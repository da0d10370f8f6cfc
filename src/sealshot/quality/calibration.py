"""Calibrated 0–100 quality: one monotone mapping per method from its raw score, shipped as data.

The calibrated score reads the same for every method: 100 × the estimated probability that the
crop verifies against a good reference of the same person at FMR = 1e-3 (averaged over the
comparators used to fit it). The mapping is a monotone logistic fit of that outcome on the raw score
(``fit_calibration``), stored as knots ``raw → score`` in a JSON file and applied by linear
interpolation, flat beyond the end knots; it is non-decreasing in the raw score and lies in
[0, 100] by construction, whatever the file's origin (``Calibration`` checks its knots).

The shipped files (``weights/calibration/<method>.json``) were fitted on a CelebA subset (never
LFW) by ``bench/calibrate.py``; ``sealshot calibrate`` fits one on a user's own labelled folder,
and ``run``/``score`` take it with ``--calibration FILE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sealshot.errors import InputError

CALIBRATION_DIR = Path(__file__).resolve().parent / "weights" / "calibration"
FORMAT = "sealshot-quality-calibration-v1"
MAX_KNOTS = 64
NOT_USABLE_BELOW = 50.0
"""Calibrated score under which a sealed crop is flagged "probably not usable" (less likely to verify than not)."""


class CalibrationError(InputError):
    """A calibration file cannot be read, or belongs to another method."""


@dataclass(frozen=True)
class Calibration:
    """Knots of a non-decreasing map from a method's raw score to 0–100."""

    method: str
    raw: tuple[float, ...]
    score: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raw, score = np.asarray(self.raw, np.float64), np.asarray(self.score, np.float64)
        if len(raw) == 0 or len(raw) != len(score) or not (np.isfinite(raw).all() and np.isfinite(score).all()):
            raise CalibrationError(f"calibration of {self.method!r}: knots missing or not finite")
        if np.any(np.diff(raw) <= 0) or np.any(np.diff(score) < 0) or score.min() < 0 or score.max() > 100:
            raise CalibrationError(f"calibration of {self.method!r}: knots must rise in raw and never fall in score, within [0, 100]")

    def __call__(self, raw: float | np.ndarray) -> np.ndarray:
        """Calibrated score(s) in [0, 100]; NaN stays NaN (a failure to assess has no calibrated score)."""
        values = np.asarray(raw, np.float64)
        out = np.interp(values, self.raw, self.score)
        return np.where(np.isnan(values), np.nan, out)

    def one(self, raw: float | None) -> float | None:
        if raw is None or not np.isfinite(raw):
            return None
        return float(self(raw))

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "method": self.method, "raw": list(self.raw), "score": list(self.score), "meta": self.meta}

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=1) + "\n")
        return path


def fit_calibration(method: str, raw: np.ndarray, verified: np.ndarray, meta: dict[str, Any] | None = None) -> Calibration:
    """A monotone logistic fit of ``verified`` (0–1 per crop, e.g. the share of comparators it verified
    under) on the raw score: P = sigmoid(a + b·z), b ≥ 0, z the raw score standardised by its median and
    inter-quantile range; maximum likelihood with SciPy (L-BFGS-B, b bounded below by 0).

    Why logistic, not isotonic: calibration sets are mostly good crops, and an isotonic fit is flat
    beyond its data, so a far darker or blurrier crop than any in the set would keep the score of the
    worst one seen; the logistic keeps falling. Stored as ``MAX_KNOTS`` knots from well below the
    set's 0.5th percentile (4 × its 0.5–99.5 % range) to above its 99.5th."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    raw, verified = np.asarray(raw, np.float64), np.asarray(verified, np.float64)
    keep = np.isfinite(raw) & np.isfinite(verified)
    raw, verified = raw[keep], np.clip(verified[keep], 0.0, 1.0)
    if len(raw) < 10 or np.ptp(raw) == 0:
        raise CalibrationError(f"calibration of {method!r}: {len(raw)} scored crops with an outcome (and distinct scores), at least 10 needed")
    low, centre, high = np.percentile(raw, [0.5, 50, 99.5])
    scale = max(high - low, 1e-12)
    z = (raw - centre) / scale

    def loss(params: np.ndarray) -> float:
        logits = params[0] + params[1] * z
        return float(-np.mean(verified * log_expit(logits) + (1 - verified) * log_expit(-logits)))

    fitted = minimize(loss, np.array([0.0, 1.0]), method="L-BFGS-B", bounds=[(None, None), (0.0, None)])
    intercept, slope = (float(v) for v in fitted.x)
    knots = np.linspace(low - 4 * scale, high + scale, MAX_KNOTS)
    scores = 100.0 * expit(intercept + slope * (knots - centre) / scale)
    info = {"model": "monotone logistic", "intercept": intercept, "slope": slope, "centre": float(centre), "scale": float(scale)}
    return Calibration(method, tuple(map(float, knots)), tuple(float(v) for v in np.clip(scores, 0, 100)), (meta or {}) | info)


def load_calibration(path: Path, method: str | None = None) -> Calibration:
    """A calibration file written by ``sealshot calibrate`` (or shipped); with ``method``, it must be that method's."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise CalibrationError(f"cannot read calibration {path}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"{path} is not a sealshot quality calibration ({FORMAT})")
    if method is not None and data["method"] != method:
        raise CalibrationError(f"{path} calibrates {data['method']!r}, not {method!r}")
    return Calibration(data["method"], tuple(data["raw"]), tuple(data["score"]), data.get("meta", {}))


def shipped_calibration_path(method: str) -> Path:
    return CALIBRATION_DIR / f"{method}.json"


def calibration_for(method: str, path: Path | None = None) -> Calibration | None:
    """The calibration of ``method``: from ``path`` when given, else the shipped one, else None (uncalibrated)."""
    if path is not None:
        return load_calibration(path, method)
    shipped = shipped_calibration_path(method)
    return load_calibration(shipped, method) if shipped.is_file() else None
