"""The bundled sample clip (see README.md beside it for its provenance)."""

from importlib import resources
from pathlib import Path

SAMPLE_CLIP_NAME = "arcade-walkers-1080p-crf29.mp4"


def sample_clip() -> Path:
    """Path of the bundled 1080p sample clip (the package is installed unzipped)."""
    return Path(str(resources.files(__name__) / SAMPLE_CLIP_NAME))
