"""The tracker's settings, importable without SciPy or PyTorch (the command line reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrackerConfig:
    max_unseen_s: float = 1.0
    """A track ends once it has gone this long without a matching detection."""
    min_iou: float = 0.1
    max_centre_distance: float = 1.0
    """Largest centre distance, in units of the predicted box's size, that may still match."""
    max_size_ratio: float = 1.6
    """A detection may differ in size from the predicted box by at most this factor."""
    min_detections: int = 2
    """Tracks with fewer matched detections when they end are treated as false alarms."""
    min_peak_score: float = 0.95
    """Tracks whose best detector score never reached this are treated as false alarms
    (MTCNN gives real faces > 0.95 in at least one frame; textures and blurred backgrounds rarely do)."""
