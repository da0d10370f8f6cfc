"""Best-shot selection: ranking a track's crops, and the Snapshot that is sealed."""

from sealshot.select.best_shot import BestShot, Candidate, rank
from sealshot.select.snapshot import Snapshot

__all__ = ["BestShot", "Candidate", "Snapshot", "rank"]
