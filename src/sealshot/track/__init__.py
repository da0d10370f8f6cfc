"""Tracking faces across frames."""

from sealshot.track.tracker import FaceTracker, Track, TrackerConfig, TrackUpdate

__all__ = ["FaceTracker", "Track", "TrackUpdate", "TrackerConfig"]
