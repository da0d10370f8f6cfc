"""What a run tells its operator, without pixels: the JSON report and the quality timeline plot."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sealshot.pipeline import TrackSummary  # noqa: E402
from sealshot.video.annotate import track_colour  # noqa: E402


@dataclass
class SourceReport:
    source: str
    camera_id: str
    quality_method: str
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    tracks: list[TrackSummary] = field(default_factory=list)
    stage_ms_per_frame: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "camera_id": self.camera_id,
            "quality_method": self.quality_method,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
            "error": self.error,
            "interrupted": self.interrupted,
            "snapshots": sum(1 for t in self.tracks if t.snapshot_id),
            "stage_ms_per_frame": {k: round(v, 2) for k, v in self.stage_ms_per_frame.items()},
            "tracks": [t.to_json() for t in sorted(self.tracks, key=lambda t: t.track_id)],
        }


def write_report(path: Path, reports: list[SourceReport]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sources": [r.to_json() for r in reports]}, indent=2))


def plot_quality_timeline(report: SourceReport, path: Path) -> None:
    """Quality over time for each sealed track, the chosen crop marked (the paper's figure 8)."""
    tracks = [t for t in report.tracks if t.snapshot_id]
    figure, axis = plt.subplots(figsize=(10, 5))
    for track in sorted(tracks, key=lambda t: t.track_id):
        times = [t for t, q in track.timeline if math.isfinite(q)]
        values = [q for _, q in track.timeline if math.isfinite(q)]
        colour = tuple(c / 255 for c in track_colour(track.track_id))
        axis.plot(times, values, "-", color=colour, linewidth=1.2, label=f"track {track.track_id}")
        if track.chosen_timestamp is not None and track.chosen_quality is not None and math.isfinite(track.chosen_quality):
            axis.plot([track.chosen_timestamp], [track.chosen_quality], "o", color=colour, markersize=9, markeredgecolor="black")
    axis.set_xlabel("time in the source (s)")
    axis.set_ylabel(f"quality ({report.quality_method}; higher is better)")
    axis.set_title(f"Face quality per track — {Path(report.source).name} (circle: the sealed crop)")
    axis.grid(alpha=0.3)
    if tracks:
        axis.legend(fontsize=8, ncol=2, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
