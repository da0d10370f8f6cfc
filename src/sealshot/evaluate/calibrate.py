"""Fitting a method's 0–100 calibration on labelled images (``sealshot calibrate``, ``bench/calibrate.py``).

The outcome of each crop: does it verify against a good reference of the same person at
FMR = 1e-3? Per comparator, the reference of an identity is its image with the highest mean
similarity to the identity's other images (the medoid); the threshold is the one at FMR = 1e-3 over
every pair of images of different identities in the set; the references themselves are left out of
the fit. With several comparators the outcome is the share of them under which the crop verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sealshot.errors import InputError
from sealshot.evaluate.erc import TARGET_FMR, threshold_at_fmr
from sealshot.evaluate.faces import FileFaces, detect_files, embed_image_files, score_image_files
from sealshot.evaluate.lfw import LFW, image_set
from sealshot.quality.calibration import Calibration, fit_calibration
from sealshot.recognize import DEFAULT_COMPARATORS


@dataclass(frozen=True)
class Outcomes:
    """Per image: the share of comparators under which it verified (NaN: no face, or a reference)."""

    verified: np.ndarray
    thresholds: dict[str, float]


def verification_outcomes(embeddings: dict[str, np.ndarray], labels: np.ndarray, found: np.ndarray, fmr: float = TARGET_FMR) -> Outcomes:
    labels = np.asarray(labels)
    usable = np.flatnonzero(found)
    totals = np.zeros(len(labels))
    counted = np.zeros(len(labels))
    thresholds: dict[str, float] = {}
    for name, vectors in embeddings.items():
        similarity = vectors[usable] @ vectors[usable].T
        same = labels[usable][:, None] == labels[usable][None, :]
        upper = np.triu(np.ones_like(same), k=1).astype(bool)
        impostors = similarity[upper & ~same]
        if len(impostors) == 0:
            raise InputError("calibration needs at least two identities")
        threshold = threshold_at_fmr(impostors, fmr)
        thresholds[name] = threshold
        for label in np.unique(labels[usable]):
            members = np.flatnonzero(labels[usable] == label)
            if len(members) < 2:
                continue
            inner = similarity[np.ix_(members, members)]
            reference = members[int(np.argmax((inner.sum(axis=1) - 1.0) / (len(members) - 1)))]
            for member in members:
                if member != reference:
                    totals[usable[member]] += float(similarity[member, reference] >= threshold)
                    counted[usable[member]] += 1
    verified = np.where(counted == len(embeddings), totals / np.maximum(counted, 1), np.nan)
    return Outcomes(verified, thresholds)


@dataclass(frozen=True)
class CalibrationInputs:
    """What calibrating any method on one labelled set needs, computed once: the faces and which crops verify."""

    faces: FileFaces
    outcomes: Outcomes


def calibration_inputs(
    paths: Sequence[Path], labels: np.ndarray, comparators: Sequence[str] = DEFAULT_COMPARATORS, cache_dir: Path | None = None
) -> CalibrationInputs:
    """Detect the faces of labelled images and decide, under each comparator, which crops verify."""
    faces = detect_files(paths, cache_dir)
    embeddings = {name: embed_image_files(name, paths, cache_dir)[0] for name in comparators}
    return CalibrationInputs(faces, verification_outcomes(embeddings, labels, faces.found))


def fit_method(
    method: str,
    paths: Sequence[Path],
    labels: np.ndarray,
    inputs: CalibrationInputs,
    comparators: Sequence[str] = DEFAULT_COMPARATORS,
    cache_dir: Path | None = None,
    source: str = "",
) -> tuple[Calibration, np.ndarray]:
    """``method``'s calibration on prepared inputs, and the raw scores it was fitted to."""
    raw = score_image_files(method, paths, cache_dir, faces=inputs.faces).scores
    outcomes = inputs.outcomes
    meta = {
        "fitted_on": source,
        "images": len(paths),
        "identities": int(len(np.unique(labels))),
        "crops_fitted": int((np.isfinite(raw) & np.isfinite(outcomes.verified)).sum()),
        "verified_share": float(np.nanmean(outcomes.verified)),
        "comparators": list(comparators),
        "fmr": TARGET_FMR,
        "thresholds": outcomes.thresholds,
        "target": "100 x P(crop verifies against its identity's medoid image at FMR 1e-3), mean over comparators",
    }
    return fit_calibration(method, raw, outcomes.verified, meta), raw


def calibrate_images(
    method: str,
    paths: Sequence[Path],
    labels: np.ndarray,
    comparators: Sequence[str] = DEFAULT_COMPARATORS,
    cache_dir: Path | None = None,
    source: str = "",
) -> Calibration:
    """Fit ``method``'s calibration on labelled images (one face each, cached like the benchmark)."""
    inputs = calibration_inputs(paths, labels, comparators, cache_dir)
    return fit_method(method, paths, labels, inputs, comparators, cache_dir, source)[0]


def calibrate_folder(method: str, root: Path, comparators: Sequence[str] = DEFAULT_COMPARATORS, cache_dir: Path | None = None) -> Calibration:
    """``calibrate_images`` on a folder in LFW layout (one sub-folder of images per identity)."""
    images = image_set(LFW(root))
    return calibrate_images(method, images.paths, images.labels, comparators, cache_dir, source=str(root))
