"""Video input (files, folders, streams, webcams) and video output (annotated previews)."""

from sealshot.video.sources import FALLBACK_FPS, Frame, FrameSource, StartTimeSource, VideoSourceError, open_source, parse_utc

__all__ = ["FALLBACK_FPS", "Frame", "FrameSource", "StartTimeSource", "VideoSourceError", "open_source", "parse_utc"]
