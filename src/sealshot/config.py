"""Settings of the camera pipeline and of a run. Each default is stated here once; the command line
reads its option defaults from these classes. Importing this module loads neither PyTorch nor SciPy."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sealshot.detect.config import DETECTORS, MTCNNConfig, YuNetConfig
from sealshot.errors import InputError
from sealshot.quality.calibration import NOT_USABLE_BELOW
from sealshot.track.config import TrackerConfig

if TYPE_CHECKING:
    from sealshot.detect.types import FaceDetector

MAX_CAMERA_ID_LENGTH = 64
CAMERA_ID = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_CAMERA_ID_LENGTH}}}")
"""What a camera id may be (the vault checks the same rule on what it seals)."""
NOT_IN_CAMERA_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_HASH_SUFFIX_LENGTH = 8
MAX_CLIP_SECONDS = 30.0
"""Longest clip a snapshot may carry (``PipelineConfig.clip_seconds``)."""


def fit_camera_id(name: str, source: str) -> str:
    """``name`` if short enough, else its start and a hash of ``source`` (distinct names stay distinct)."""
    if len(name) <= MAX_CAMERA_ID_LENGTH:
        return name
    digest = hashlib.sha256(source.encode()).hexdigest()[:_HASH_SUFFIX_LENGTH]
    return f"{name[: MAX_CAMERA_ID_LENGTH - _HASH_SUFFIX_LENGTH - 1]}-{digest}"


@dataclass
class PipelineConfig:
    camera_id: str = "camera-1"
    face_detector: str = "mtcnn"
    """Which detector runs (``sealshot.detect.config.DETECTORS``): ``mtcnn``, the paper's, with ``detector``'s
    settings; or ``yunet``, with ``yunet``'s (``using_yunet`` also sets the pipeline settings it is meant to run with)."""
    detector: MTCNNConfig = field(default_factory=MTCNNConfig)
    yunet: YuNetConfig = field(default_factory=YuNetConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    detect_every: int = 10
    """Run the full detector every N frames; in between only refine the tracks' predicted boxes."""
    motion_threshold: float | None = 6.0
    """A due full detection is put off while no block of a small grey copy of the frame (a 12×7 grid) changed by more
    than this many grey levels (of 255) on average since the last one: nobody new can have appeared. None: always detect."""
    lanes: int = 1
    """Threads one frame's work is split across (P-Net's pyramid levels, R/O-Net's candidates of a full detection, the
    faces to score; ``sealshot.detect.lanes``), each running PyTorch single-threaded: the same results, on ``lanes``
    cores. 1: everything on the caller's thread, with PyTorch's own intra-op threads (``torch.set_num_threads``).
    Through ``CameraPipeline.process_stream``, 2 or more also run the due full detections ahead (``detect_ahead``)."""
    detect_ahead: int = 12
    """With two or more lanes, ``CameraPipeline.process_stream`` reads this many frames ahead and starts the next due
    full detection on a thread of its own as soon as its frame is read (the same detections, computed while the
    frames before it are processed); 0: each full detection runs when its frame comes up. Costs the memory of this
    many decoded frames."""
    score_every: int = 1
    """A tracked face is scored for quality at least every this many frames, and on every frame while its scores
    keep setting its track's best (a new track's face at once); the faces in between are neither aligned nor scored
    (``sealshot.select.scoring``). 1 (the default): every face of every frame. 3 saves about 3 ms of CPU per frame
    on the arcade clip but lowers the chosen crops' rank among the person's faces (talking heads: 0.99 to 0.82)."""
    refine_expand: tuple[float, ...] = (1.0, 1.3)
    """Between full detections each track's predicted box is offered to R-Net at each of these sizes (the box's side
    times each), and O-Net refines what R-Net keeps of them (overlapping candidates merge). The box itself suits R-Net,
    which was trained on tight crops; 1.3 covers a face that moved more than predicted. With 1.3 alone (the earlier
    default) the arcade clip's walkers were followed on 10 % fewer frames (720p, 105 frames: 421 faces, now 465) and a
    narrow face (a picture squeezed to the wrong aspect ratio, tests/test_pipeline.py) was lost on most frames
    between full detections; ``bench/tracking.py``: arcade MOTA 0.74 to 0.80, IDF1 0.83 to 0.87."""
    refine_min_score: float = 0.9
    """A face refined between full detections is kept only if O-Net scores it at least this (full detections keep the
    paper's 0.7): offered the box where a face is expected, O-Net also passes half of one. On the two-people-crossing
    composite a face half hidden by the other's tile scored 0.80 and joined that track (the one track over two people
    in ``bench/tracking.py``), and a fading face at 0.7-0.9 started a second track. On the arcade clip and the talking
    heads 96-100 % of the faces refined score 0.9 or more (median 0.99)."""
    crop_margin: float = 0.3
    timeline_points: int = 2000
    """At most this many (time, quality) points are kept per track; a longer track keeps every 2nd, 4th, ... point."""
    keep_closed_tracks: bool = True
    """Keep each ended track's summary for the final report (``run``); off for a camera that runs for
    months (``serve``), which writes each one out when it ends and forgets it."""
    calibration: Path | None = None
    """Calibration file of the quality method (``sealshot calibrate``); None: the method's shipped one, if any."""
    not_usable_below: float = NOT_USABLE_BELOW
    """A sealed crop whose calibrated quality is below this is flagged "probably not usable" (and still sealed)."""
    owned_frames: tuple[int, int | None] | None = None
    """Seal only the tracks first seen in frames ``[start, end)`` (end None: to the source's end); the others are
    declined (``TrackSummary.declined``), not sealed: a batch chunk's warm-up and overlap frames belong to its
    neighbours, which seal the people first seen there. None: every track is sealed."""
    clip_seconds: float = 0.0
    """Seal, beside each best crop, a clip of the person's region this many seconds long, centred on the best
    frame (JPEG frames, HPKE-sealed in the same file); 0: no clip (the default); at most ``MAX_CLIP_SECONDS``."""
    clip_max_frames: int = 150
    """At most this many encoded frames are held per live track for its clip (lead-in included)."""
    clip_max_bytes: int = 4_000_000
    """At most this many bytes of encoded frames are held per live track for its clip."""
    clip_side_range: tuple[int, int] = (64, 256)
    """A track's clip frames are square, twice its first face's size, kept within this range of pixels."""
    clip_jpeg_quality: int = 80
    """JPEG quality (0-100) of the clip's frames."""

    def using_yunet(self) -> "PipelineConfig":
        """These settings with YuNet as the detector, run as ``YuNetConfig`` says (on every frame, its own false-alarm
        level) where ``detect_every`` and the tracker's ``min_peak_score`` are still MTCNN's defaults; a value set
        otherwise is kept. A due detection is never put off for lack of motion: refining the tracks would cost as much
        as YuNet on the whole frame."""
        default, tracker = PipelineConfig(), self.tracker
        detect_every = self.yunet.detect_every if self.detect_every == default.detect_every else self.detect_every
        if tracker.min_peak_score == default.tracker.min_peak_score:
            tracker = replace(tracker, min_peak_score=self.yunet.min_peak_score)
        return replace(self, face_detector="yunet", detect_every=detect_every, tracker=tracker, motion_threshold=None)

    def create_detector(self) -> "FaceDetector":
        """A new detector of ``face_detector``'s kind with its settings (loads its weights, and PyTorch or ONNX Runtime)."""
        from sealshot.detect.registry import create_detector

        return create_detector(self.face_detector, self.detector, self.yunet)

    def __post_init__(self) -> None:
        """``InputError`` naming the setting when a value cannot work."""
        if self.face_detector not in DETECTORS:
            raise InputError(f"face_detector must be one of {', '.join(DETECTORS)}, not {self.face_detector!r}")
        for name, count in (("detect_every", self.detect_every), ("lanes", self.lanes), ("timeline_points", self.timeline_points)):
            if count < 1:
                raise InputError(f"{name} must be at least 1, not {count!r}")
        if self.motion_threshold is not None and self.motion_threshold < 0:
            raise InputError(f"motion_threshold must be 0 or more grey levels (None: always detect), not {self.motion_threshold!r}")
        if not self.refine_expand or not all(expand > 0 for expand in self.refine_expand):
            raise InputError(f"refine_expand must be one or more box sizes above 0, not {self.refine_expand!r}")
        if not 0.0 <= self.refine_min_score <= 1.0:
            raise InputError(f"refine_min_score must be a detector score from 0 to 1, not {self.refine_min_score!r}")
        if not 0.0 <= self.clip_seconds <= MAX_CLIP_SECONDS:
            raise InputError(f"clip_seconds must be from 0 (no clip) to {MAX_CLIP_SECONDS:g}, not {self.clip_seconds!r}")


@dataclass
class RunConfig:
    """One run over one or more sources (``sealshot run``, or ``sealshot.runner.run_sources``)."""

    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    """Its ``camera_id`` is replaced per source (see ``camera`` and ``sealshot.runner.camera_id_for``)."""
    camera: str | None = None
    """Camera id of the source (numbered ``-1``, ``-2``, ... when there are several); None: from each source's name."""
    preview: Path | None = None
    """Annotated preview video (numbered per source when there are several): the one output with face pixels."""
    timeline: Path | None = None
    """Quality-over-time plot per source (numbered likewise); no pixels."""
    max_frames: int | None = None
    start_time_utc: float | None = None
    """UNIX time of frame 0 of every recorded source (file or folder), instead of what its metadata suggests."""
    show_progress: bool = True
    threads: int = 2
    """``run --threads``: lanes of the camera pipeline (``PipelineConfig.lanes``), each running PyTorch single-threaded;
    2 uses both cores of a small host (bench/throughput.py measures this setting). 0: one lane with PyTorch's own pool."""

    def __post_init__(self) -> None:
        """``InputError`` naming the setting when a value cannot work."""
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"max_frames must be at least 1 (None: every frame), not {self.max_frames!r}")
        if self.threads < 0:
            raise InputError(f"threads must be 0 or more, not {self.threads!r}")
