"""Best-shot selection."""

from sealshot.select.best_shot import BestShotSelector, Candidate
from sealshot.select.snapshot import Snapshot

__all__ = ["BestShotSelector", "Candidate", "Snapshot"]
