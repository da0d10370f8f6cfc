"""sealshot: keep one sealed best face crop per person, and nothing else."""

__version__ = "0.1.0"
