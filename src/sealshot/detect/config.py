"""The detector's settings, importable without PyTorch (the command line reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from sealshot.errors import InputError


@dataclass
class MTCNNConfig:
    """Detector parameters a user may tune.

    ``detect_max_side`` downscales frames whose longer side exceeds it before
    detection (boxes are mapped back to full resolution); faces then need to be
    at least ``min_face_size`` pixels *at the detection scale*.
    """

    min_face_size: float = 20.0
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    scale_factor: float = 0.709
    detect_max_side: int | None = 960
    chained_pyramid: bool = False
    """Average each level of P-Net's pyramid from the level before it (the first from the frame itself): about 17 ms
    less per full detection of a 720p or 1080p frame on one core (about 1.7 ms per frame at ``detect_every`` 10), and
    slightly different detections. Off by default: with it, ``sealshot batch`` on the 540p test clip missed a person
    ``run`` seals (tests/batch, a chunk saw him first in its warm-up); the arcade and talking-head recall and the
    tracking benchmark were unharmed. False: every level from the (reduced) frame, as the paper's cascade does."""
    largest_side: int = 4096
    """Frames whose longer side exceeds this are always downscaled to it before full detection, whatever
    ``detect_max_side`` says: a 12000-pixel still would otherwise take minutes and gigabytes."""

    def __post_init__(self) -> None:
        """``InputError`` naming the setting when a value cannot work (a zero face size divides by zero, a
        threshold above 1 finds nothing, silently)."""
        if not self.min_face_size > 0:
            raise InputError(f"min_face_size must be more than 0 pixels, not {self.min_face_size!r}")
        if len(self.thresholds) != 3 or not all(0.0 <= t <= 1.0 for t in self.thresholds):
            raise InputError(f"thresholds must be three detector scores from 0 to 1 (P-, R-, O-Net), not {tuple(self.thresholds)!r}")
        if not 0.0 < self.scale_factor < 1.0:
            raise InputError(f"scale_factor must be between 0 and 1, not {self.scale_factor!r}")
        for name, side in (("detect_max_side", self.detect_max_side), ("largest_side", self.largest_side)):
            if side is not None and side < 1:
                raise InputError(f"{name} must be at least 1 pixel, not {side!r}")
