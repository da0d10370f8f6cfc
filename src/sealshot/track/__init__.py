"""Tracking faces across frames.

Names are loaded on first use, so that ``sealshot.track.config`` imports without SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealshot.track.config import TrackerConfig
    from sealshot.track.tracker import FaceTracker, Track, TrackedDetections, TrackUpdate

_HOMES = {"TrackerConfig": "config", "FaceTracker": "tracker", "Track": "tracker", "TrackedDetections": "tracker", "TrackUpdate": "tracker"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
