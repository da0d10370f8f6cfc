"""Video input (files, folders, streams, webcams) and video output (annotated previews)."""

from sealshot.video.sources import Frame, FrameSource, VideoSourceError, open_source

__all__ = ["Frame", "FrameSource", "VideoSourceError", "open_source"]
