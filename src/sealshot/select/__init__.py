"""Best-shot selection: ranking a track's crops, and the Snapshot that is sealed."""

from sealshot.select.best_shot import BestShot, Candidate, rank
from sealshot.select.clip import ClipBuffer, EncodedFrame, clip_side, encode_clip_frame
from sealshot.select.snapshot import Snapshot

__all__ = ["BestShot", "Candidate", "ClipBuffer", "EncodedFrame", "Snapshot", "clip_side", "encode_clip_frame", "rank"]
