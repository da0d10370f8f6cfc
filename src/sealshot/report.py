"""What a run tells its operator, without pixels: the JSON report and the quality timeline plot."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sealshot.errors import InputError, ModelError, SealshotError, SourceError, VaultError  # noqa: E402
from sealshot.ledger import TrackSummary  # noqa: E402
from sealshot.video.annotate import track_colour  # noqa: E402


_START_TIME_ORIGINS = {
    "container": "the file's creation time",
    "mtime-minus-duration": "the file's modification time minus its duration",
    "option": "--start-time",
    "wall-clock": "the clock",
}


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
    started_at_utc: float | None = None
    """UNIX time of the source's frame 0, which every sealed ``seen_at_utc`` counts from."""
    started_at_source: str | None = None
    """How ``started_at_utc`` was found: "container", "mtime-minus-duration", "option" or "wall-clock"."""
    skipped: list[str] = field(default_factory=list)
    """Files of an image folder that could not be read, skipped while the others were processed."""
    failure: SealshotError | None = field(default=None, repr=False)
    """The error behind ``error``, for a caller that needs its kind or exit code."""

    def fail(self, error: SealshotError) -> None:
        """Record the error that ended this source, unless an earlier one already did."""
        if self.failure is None:
            self.failure, self.error = error, str(error)

    @property
    def error_kind(self) -> str | None:
        """"source", "vault", "input" or "model" (the error classes of ``sealshot.errors``)."""
        if self.failure is None:
            return None
        kinds = {SourceError: "source", VaultError: "vault", InputError: "input", ModelError: "model"}
        return next((kind for cls, kind in kinds.items() if isinstance(self.failure, cls)), "error")

    @property
    def sealed_count(self) -> int:
        return sum(1 for t in self.tracks if t.snapshot_id)

    @property
    def retention_ended_count(self) -> int:
        """People seen but not kept because the vault's retention period had already ended for them."""
        return sum(1 for t in self.tracks if t.retention_ended_days is not None)

    def retention_warning(self) -> str | None:
        """What the operator is told when people were seen but not kept because their retention had already ended."""
        if not self.retention_ended_count:
            return None
        periods = [t.retention_ended_days for t in self.tracks if t.retention_ended_days is not None]
        return retention_ended_warning(self.source, self.retention_ended_count, periods, self.started_at_utc, self.started_at_source)

    def to_json(self) -> dict[str, object]:
        started = self.started_at_utc
        return {
            "source": self.source,
            "camera_id": self.camera_id,
            "quality_method": self.quality_method,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
            "error": self.error,
            "interrupted": self.interrupted,
            "snapshots": self.sealed_count,
            "stage_ms_per_frame": {k: round(v, 2) for k, v in self.stage_ms_per_frame.items()},
            "tracks": [t.to_json() for t in sorted(self.tracks, key=lambda t: t.track_id)],
            "error_kind": self.error_kind,
            "started_at_utc": started,
            "started_at_iso": None if started is None else _iso(started),
            "started_at_source": self.started_at_source,
            "unsealed": sum(1 for t in self.tracks if t.seal_error),
            "retention_ended": self.retention_ended_count,
        } | ({"skipped": list(self.skipped)} if self.skipped else {})


def _iso(utc: float) -> str:
    return datetime.fromtimestamp(utc, timezone.utc).isoformat()


def retention_ended_warning(
    source: str, count: int, retention_days: Iterable[float], started_at_utc: float | None, started_at_source: str | None
) -> str:
    """The line telling the operator that ``count`` people of ``source`` were seen but not kept, their retention
    period having ended before they were sealed (an old recording, or a wrong start time)."""
    periods = " or ".join(f"{days:g}" for days in sorted(set(retention_days)))
    started = "an unknown time" if started_at_utc is None else _iso(started_at_utc)
    found_by = _START_TIME_ORIGINS.get(started_at_source or "", "an unknown means")
    return (
        f"{Path(source).name}: {count} person(s) seen but not kept: the vault keeps snapshots {periods} days and they were "
        f"seen longer ago than that (the recording is taken to start at {started}, by {found_by}); nothing of them was written"
    )


def write_report(path: Path, reports: list[SourceReport]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sources": [r.to_json() for r in reports]}, indent=2))


def timeline_suffixes() -> tuple[str, ...]:
    """File types ``plot_quality_timeline`` can write (matplotlib's formats: .png, .svg, .pdf, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(f".{name}" for name in FigureCanvasBase.get_supported_filetypes()))


def plot_quality_timeline(report: SourceReport, path: Path) -> None:
    """Quality over time for each sealed track, the chosen crop marked (the paper's figure 8).

    Curves and points only, no image of a face: written with the default file mode."""
    tracks = [t for t in report.tracks if t.snapshot_id]
    figure, axis = plt.subplots(figsize=(10, 5))
    for track in sorted(tracks, key=lambda t: t.track_id):
        times = [t for t, q in track.timeline if math.isfinite(q)]
        values = [q for _, q in track.timeline if math.isfinite(q)]
        colour = tuple(c / 255 for c in track_colour(track.track_id))
        axis.plot(times, values, "-", color=colour, linewidth=1.2, label=f"track {track.track_id}")
        if track.chosen_timestamp is not None and track.chosen_quality is not None and math.isfinite(track.chosen_quality):
            axis.plot([track.chosen_timestamp], [track.chosen_quality], "o", color=colour, markersize=9, markeredgecolor="black")
            if track.chosen_quality_0_100 is not None:
                flag = " probably not usable" if track.probably_not_usable else ""
                axis.annotate(
                    f"{track.chosen_quality_0_100:.0f}/100{flag}", (track.chosen_timestamp, track.chosen_quality),
                    textcoords="offset points", xytext=(6, 6), fontsize=8, color=colour,
                )  # fmt: skip
    axis.set_xlabel("time in the source (s)")
    axis.set_ylabel(f"quality ({report.quality_method}; higher is better)")
    axis.set_title(f"Face quality per track — {Path(report.source).name} (circle: the sealed crop, calibrated 0–100 beside it)")
    axis.grid(alpha=0.3)
    if tracks:
        axis.legend(fontsize=8, ncol=2, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
