"""Small single-purpose annotators for preview frames (in the spirit of supervision's)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
CHOSEN_COLOUR = (0, 255, 0)


def track_colour(track_id: int) -> tuple[int, int, int]:
    return _PALETTE[track_id % len(_PALETTE)]


@dataclass(frozen=True)
class BoxLabel:
    box: tuple[float, float, float, float]
    track_id: int
    quality: float
    chosen: bool = False


def draw_box(image: np.ndarray, label: BoxLabel) -> None:
    """A box in the track's colour with its id and live quality; the chosen crop in thick green."""
    x1, y1, x2, y2 = (int(round(v)) for v in label.box)
    colour = CHOSEN_COLOUR if label.chosen else track_colour(label.track_id)
    thickness = max(2, image.shape[0] // 270) * (2 if label.chosen else 1)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
    quality = "n/a" if math.isnan(label.quality) else f"{label.quality:.2f}"
    text = f"#{label.track_id} q={quality}" + (" BEST" if label.chosen else "")
    scale = max(0.5, image.shape[0] / 1400)
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    top = max(0, y1 - th - baseline - 4)
    cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + baseline + 4), colour, -1)
    cv2.putText(image, text, (x1 + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)


def draw_caption(image: np.ndarray, text: str) -> None:
    scale = max(0.5, image.shape[0] / 1200)
    cv2.putText(image, text, (10, int(30 * scale) + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)


def annotate(image: np.ndarray, labels: list[BoxLabel], caption: str | None = None) -> np.ndarray:
    out = image.copy()
    for label in labels:
        draw_box(out, label)
    if caption:
        draw_caption(out, caption)
    return out
