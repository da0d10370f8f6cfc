"""The detector's settings, importable without PyTorch (the command line reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sealshot.errors import InputError


DETECTORS = ("mtcnn", "yunet")
"""The face detectors a pipeline may run (``PipelineConfig.face_detector``, ``run --detector``): MTCNN, the paper's
(the default), and YuNet, faster and run on every frame (``YuNetConfig``)."""
DetectorName = Enum("DetectorName", {name: name for name in DETECTORS}, type=str)  # type: ignore[misc]
"""``DETECTORS`` as choices for the commands' ``--detector``."""


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


@dataclass
class YuNetConfig:
    """The optional YuNet detector (``sealshot.detect.yunet``, ``run --detector yunet``) and the pipeline settings it
    runs with there.

    YuNet finds a face and its five points in one pass of a 75,856-parameter network, about 5 ms for a 640-pixel frame
    on one core (ONNX Runtime): cheap enough to run on every frame, so that a new face is found on the frame it appears
    and not at the next full detection. Its scores sit lower than MTCNN's O-Net (real faces 0.7-0.93), hence its own
    false-alarm level.
    """

    max_side: int = 640
    """Frames whose longer side exceeds this are downscaled to it (area interpolation) before detection; YuNet finds
    faces from about 10 pixels at that scale (20 pixels of a 720p frame, 30 of a 1080p one)."""
    score_threshold: float = 0.6
    """Detections scoring below this are dropped (OpenCV's ``FaceDetectorYN`` default is 0.9; 0.6 keeps faces in
    profile and blurred by motion, which the tracker's peak test below then sorts from false alarms)."""
    nms_iou: float = 0.3
    denoise_from: float | None = 7.0
    """Noise level (σ of pixel noise, 0-255, estimated at the detection scale) from which a frame is smoothed before
    detection, by a Gaussian kernel of 3, 5 or 7 pixels as the noise reaches 3, 6 or 9: clean footage measures 0.2-1.2
    (a 1080p frame's noise is mostly averaged away by the downscaling); None: never smoothed."""
    mtcnn_points: bool = False
    """Align each face on the five points of MTCNN's O-Net, run on YuNet's box (R- and O-Net, as between MTCNN's full
    detections), instead of YuNet's own, wherever O-Net confirms the face (IoU 0.5 with YuNet's box). YuNet's points
    are less precise and the quality models were fitted on O-Net-aligned faces: on the arcade clip the chosen crops'
    median quality gap to every-frame MTCNN's falls from 0.118 to -0.037 (worst 0.41 to 0.10), for 4-7 ms of CPU
    a frame more (``run --mtcnn-points``; ``bench/throughput.py``)."""
    detect_every: int = 1
    """``PipelineConfig.detect_every`` under ``--detector yunet``: every frame."""
    min_peak_score: float = 0.7
    """``TrackerConfig.min_peak_score`` under ``--detector yunet``: a track whose YuNet score never reached this is a
    false alarm (the arcade clip's fast walker in profile peaks at 0.86, MTCNN's 0.95 is out of YuNet's range)."""

    def __post_init__(self) -> None:
        if self.max_side < 32:
            raise InputError(f"max_side must be at least 32 pixels, not {self.max_side!r}")
        for name, value in (("score_threshold", self.score_threshold), ("nms_iou", self.nms_iou), ("min_peak_score", self.min_peak_score)):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be from 0 to 1, not {value!r}")
        if self.denoise_from is not None and not self.denoise_from > 0:
            raise InputError(f"denoise_from must be more than 0 (None: never smooth), not {self.denoise_from!r}")
        if self.detect_every < 1:
            raise InputError(f"detect_every must be at least 1, not {self.detect_every!r}")
