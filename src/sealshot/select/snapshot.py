"""The one thing sealshot keeps of a person: a ``Snapshot``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Snapshot:
    """The best crop of one track, with what is needed to find it again under a warrant.

    ``crop`` is RGB uint8 (the face box with a margin, at source resolution). It
    exists only in memory until the vault seals it.
    """

    camera_id: str
    track_id: int
    crop: np.ndarray
    quality: float
    quality_method: str
    frame_index: int
    timestamp: float
    first_seen: float
    last_seen: float
    box: tuple[float, float, float, float]
    detections: int
    started_at_utc: float
    """Wall-clock UNIX time of the stream's frame 0; ``started_at_utc + timestamp`` is when it was seen."""
    started_at_source: str | None = None
    """How ``started_at_utc`` was found ("container", "mtime-minus-duration", "option", "wall-clock"), so that
    whoever opens the snapshot knows how far to trust its times."""
    quality_0_100: float | None = None
    """The calibrated quality (``sealshot.quality.calibration``): 100 × the estimated probability that the crop
    verifies against a good reference at FMR = 1e-3; None without a calibration or a raw score."""
    probably_not_usable: bool | None = None
    """``quality_0_100`` fell below the run's threshold: sealed anyway (the best of a poor track), but flagged."""

    @property
    def seen_at_utc(self) -> float:
        """When the person was seen, as the vault records it (and counts its retention from)."""
        return self.started_at_utc + self.timestamp

    def metadata(self) -> dict[str, object]:
        """Everything but the pixels: safe to index and to log."""
        return {
            "camera_id": self.camera_id,
            "track_id": self.track_id,
            "quality": self.quality,
            "quality_method": self.quality_method,
            "quality_0_100": self.quality_0_100,
            "probably_not_usable": self.probably_not_usable,
            "frame_index": self.frame_index,
            "timestamp": self.timestamp,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "seen_at_utc": self.seen_at_utc,
            "first_seen_utc": self.started_at_utc + self.first_seen,
            "last_seen_utc": self.started_at_utc + self.last_seen,
            "started_at_source": self.started_at_source,
            "box": list(self.box),
            "detections": self.detections,
            "crop_shape": list(self.crop.shape),
        }
