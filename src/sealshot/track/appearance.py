"""A non-identifying appearance cue: colour histograms of a face box and of the region below it.

It tells a red jumper from a grey coat and a lit face from a shadowed one, which is enough to keep a
track from jumping between people whose boxes touch, and to re-attach a track after an occlusion.
It is not face recognition: it cannot tell two people in similar clothes apart, is only kept in
memory on a live track (never sealed, stored or logged), and is dropped when the track ends.
"""

from __future__ import annotations

import cv2
import numpy as np

BINS = (8, 4, 4)
"""Hue, saturation and value bins of each region's histogram."""
REGION_SIZE = BINS[0] * BINS[1] * BINS[2]
DESCRIPTOR_SIZE = 2 * REGION_SIZE
HEAD_GROWTH = 0.25
"""The head region is the face box grown by this fraction of its width on each side (hair, hat, what is just behind)."""
PATCH = 24
"""Regions are shrunk to this many pixels a side before counting: cheap, and robust to blur."""


def _histogram(image: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    height, width = image.shape[:2]
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return np.zeros(REGION_SIZE, np.float32)
    patch = cv2.resize(image[y1:y2, x1:x2], (PATCH, PATCH), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), [0, 180, 0, 256, 0, 256]).reshape(-1)
    return histogram / max(float(histogram.sum()), 1.0)


def appearance_descriptors(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(N, DESCRIPTOR_SIZE)`` float32: per box, the HSV histogram of the head and of the body region below it."""
    descriptors = np.zeros((len(boxes), DESCRIPTOR_SIZE), np.float32)
    for row, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64)[:, :4].round().astype(int).tolist()):
        width, height = x2 - x1, y2 - y1
        grow = round(HEAD_GROWTH * width)
        face = _histogram(image, x1 - grow, y1 - grow, x2 + grow, y2 + grow // 2)
        # The neck and shoulders: as wide as 1.5 faces, from just below the chin, one face high.
        below = _histogram(image, x1 - width // 4, y2 + height // 4, x2 + width // 4, y2 + height + height // 4)
        descriptors[row] = np.concatenate([face, below])
    return descriptors


def appearance_distance(tracks: np.ndarray, detections: np.ndarray) -> np.ndarray:
    """Hellinger distance in [0, 1] between each track's and each detection's histograms: the larger of the
    two regions' distances (either a different head or different clothes means a different person).

    A region with no pixels (a face at the frame's bottom edge) is left out.
    """
    if len(tracks) == 0 or len(detections) == 0:
        return np.zeros((len(tracks), len(detections)))
    result = np.zeros((len(tracks), len(detections)))
    for part in (slice(0, REGION_SIZE), slice(REGION_SIZE, 2 * REGION_SIZE)):
        a, b = tracks[:, part].astype(np.float64), detections[:, part].astype(np.float64)
        present = (a.sum(axis=1)[:, None] > 0.5) & (b.sum(axis=1)[None, :] > 0.5)
        overlap = (np.sqrt(a)[:, None, :] * np.sqrt(b)[None, :, :]).sum(axis=2)
        result = np.maximum(result, np.sqrt(np.clip(1.0 - overlap, 0.0, 1.0)) * present)
    return result
