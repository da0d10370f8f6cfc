"""The tracker's settings, importable without SciPy or PyTorch (the command line reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from sealshot.errors import InputError


@dataclass
class TrackerConfig:
    max_unseen_s: float = 1.5
    """A track ends once it has gone this long without a matching detection (a scene cut ends it at once)."""
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
    max_appearance_distance: float = 0.8
    """Largest Hellinger distance between a track's colour histograms (face and the region below it) and a
    detection's that may still match; a larger change means another person, so a new track starts."""
    appearance_momentum: float = 0.7
    """Weight of a track's previous histograms when a matched detection updates them (clothes and light drift)."""
    reattach_speed: float = 3.0
    """A track lost for a moment may re-attach this many box sizes per second of absence beyond
    ``max_centre_distance`` (walking on behind an occlusion), if its appearance still matches."""
    reattach_max_appearance_distance: float = 0.6
    """The stricter appearance test for such a re-attachment (the motion evidence is weaker)."""
    quality_collapse_sigmas: float = 4.0
    """A match whose face quality falls this many standard deviations below the track's mean so far is refused
    when the appearance is not clearly the same (half of ``max_appearance_distance`` or more) and the track was
    followed without a break, nor in its first 0.3 s back from one (a face coming out from behind someone may score
    low for a good reason)."""
    quality_collapse_min_faces: int = 5
    """The quality test needs this many faces on the track before it is trusted."""
    cut_threshold: float | None = 27.0
    """Mean HSV change between consecutive small frames that counts as a scene cut and ends every track
    (PySceneDetect's ``ContentDetector`` default); None turns cut detection off."""

    def __post_init__(self) -> None:
        """``InputError`` naming the setting when a value cannot work (a negative ``max_unseen_s`` ends every
        track at once and seals nobody, silently)."""
        if not self.max_unseen_s > 0:
            raise InputError(f"max_unseen_s must be more than 0 seconds, not {self.max_unseen_s!r}")
        if self.min_detections < 1:
            raise InputError(f"min_detections must be at least 1, not {self.min_detections!r}")
        for name, value in (("min_iou", self.min_iou), ("min_peak_score", self.min_peak_score)):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be from 0 to 1, not {value!r}")
        if self.cut_threshold is not None and not self.cut_threshold > 0:
            raise InputError(f"cut_threshold must be more than 0 (None: no cut detection), not {self.cut_threshold!r}")
