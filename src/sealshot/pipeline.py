"""The camera pipeline: frames in, one sealed best crop per person out.

detect (full MTCNN every ``detect_every`` frames, R/O-Net refinement on the
tracker's predictions in between) → align → score quality (batched per frame)
→ track → keep the best crop per track → seal it when the track ends.
A scene cut (``track.cuts``: a hard cut, a cross-fade, a wipe or a fade through black) ends every track before the
frame is detected; faces in the rest of a cross-fade or a wipe are followed but not scored (a blend of two pictures,
or a face half one person, half the other).
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import cv2
import numpy as np

from sealshot.config import PipelineConfig
from sealshot.detect import crop_box
from sealshot.detect.ahead import DetectionsAhead
from sealshot.detect.lanes import Lanes, split_evenly
from sealshot.detect.types import Detections, FaceDetector
from sealshot.errors import VaultError
from sealshot.ledger import Box, FrameResult, TrackedFace, TrackLedger, TrackSummary
from sealshot.quality import Assessment, FaceBatch, FailureReason, QualityMethod, assess
from sealshot.quality.calibration import calibration_for
from sealshot.select import Candidate, ClipBuffer, EncodedFrame, clip_side, encode_clip_frame
from sealshot.select.scoring import ScoringSchedule
from sealshot.track import FaceTracker, Track
from sealshot.track.appearance import appearance_descriptors
from sealshot.track.cuts import ShotCutDetector, small_frame
from sealshot.video import Frame

__all__ = ["CameraPipeline", "FrameResult", "PipelineConfig", "SnapshotSink", "StageTimer", "TrackSummary", "TrackedFace"]


class SnapshotSink(Protocol):
    """Where snapshots go: in production the vault's ``CameraSealer``."""

    def seal(self, crop: np.ndarray, metadata: Mapping[str, Any], clip: Sequence[EncodedFrame] = ()) -> str:
        """Store the crop and its metadata durably; return the snapshot's id. Raises ``VaultError`` on failure.
        ``clip`` (only passed when ``PipelineConfig.clip_seconds`` is on) goes into the same sealed file."""
        ...

    def retention_ended(self, seen_at_utc: float) -> float | None:
        """The store's retention period, in days, when a snapshot seen at ``seen_at_utc`` has already outlived it
        (the vault's purge would delete it at once); the pipeline then does not seal it. None while it may be kept."""
        ...

    def close(self) -> None:
        """Release the store; called once, after the last ``seal``."""
        ...


class StageTimer:
    """Accumulated wall time per pipeline stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def milliseconds_per(self, count: int) -> dict[str, float]:
        return {stage: 1000.0 * total / max(count, 1) for stage, total in self.seconds.items()}


class CameraPipeline:
    """Processes one source's frames in order. Call ``process`` per frame, then ``finish``.

    A failure of the sink (``VaultError``) is recorded on the track it hit and raised after the
    frame's other ended tracks were attempted; ``finish`` still tries every open track.
    """

    def __init__(
        self,
        config: PipelineConfig,
        quality: QualityMethod,
        sink: SnapshotSink,
        started_at_utc: float,
        detector: FaceDetector | None = None,
        started_at_source: str | None = None,
        on_track_closed: Callable[[TrackSummary], None] | None = None,
    ) -> None:
        """``started_at_utc`` is the UNIX time of frame 0 (``FrameSource.started_at_utc``) and
        ``started_at_source`` how it was found; both go into every snapshot's metadata.
        ``on_track_closed`` gets each track's summary once it is sealed, discarded or given up on
        (``sealshot serve`` writes it out); with ``config.keep_closed_tracks`` off the track is then
        forgotten, so that memory does not grow with run time."""
        self.config = config
        self.quality = quality
        self.sink = sink
        self.started_at_utc = started_at_utc
        self.started_at_source = started_at_source
        self.calibration = calibration_for(quality.name, config.calibration)
        self.lanes = Lanes(config.lanes)
        detector = detector or config.create_detector()
        # A detector shared between pipelines (one per source of a run) is not changed: this pipeline's view of it
        # runs on this pipeline's lanes, which ``finish`` closes.
        self.detector = detector.on_lanes(self.lanes) if self.lanes.count > 1 else detector
        self._ahead = DetectionsAhead(self.detector) if self.lanes.count > 1 and config.detect_ahead > 0 else None
        self._reading_ahead = False
        """Whether ``process_stream`` is reading ahead (full detections then run beside the frames before them)."""
        self.tracker = FaceTracker(config.tracker)
        self._scoring = ScoringSchedule(config.score_every)
        cut_threshold = config.tracker.cut_threshold
        self.cuts = ShotCutDetector(cut_threshold) if cut_threshold is not None else None
        self.cut_frames: list[int] = []
        """Indices of the frames that started a new shot."""
        self.full_detections = 0
        """Frames the full detector ran on (the rest were refined from the tracks, or skipped for lack of motion)."""
        self.full_detections_ahead = 0
        """Of ``full_detections``, those started ahead on their own thread (``process_stream``)."""
        self._last_full: tuple[int, np.ndarray, int] | None = None
        """Index, small grey copy and face count of the frame of the last full detection."""
        self._faces_in_last_frame = 0
        self.frames_processed = 0
        self._timer = StageTimer()
        self._ledgers: dict[int, TrackLedger] = {}
        self._on_track_closed = on_track_closed
        self._sealed_total = 0

    @property
    def live_track_count(self) -> int:
        """Tracks the tracker still follows."""
        return len(self.tracker)

    @property
    def sealed_count(self) -> int:
        return self._sealed_total

    def clip_buffer_sizes(self) -> dict[int, tuple[int, int]]:
        """Frames and bytes each open track holds for its clip (``PipelineConfig.clip_seconds``): what its memory costs."""
        return {track_id: (len(ledger.clip), ledger.clip.byte_count) for track_id, ledger in self._ledgers.items() if ledger.clip is not None and ledger.is_open}

    def track_summaries(self) -> list[TrackSummary]:
        """Every track seen so far (only the open ones when ``keep_closed_tracks`` is off), in the
        order they started; no pixels."""
        return [ledger.summary() for ledger in self._ledgers.values()]

    def stage_timings(self) -> dict[str, float]:
        """Milliseconds per processed frame spent in each stage."""
        return self._timer.milliseconds_per(self.frames_processed)

    def process_stream(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, FrameResult]]:
        """``process`` on each frame in order, yielding each with its result; with several lanes it reads up to
        ``config.detect_ahead`` frames ahead, so that the next due full detection runs beside the frames before it
        (``sealshot.detect.ahead``). The results are those of ``process``. Call ``finish`` afterwards."""
        ahead = self.config.detect_ahead if self._ahead is not None else 0
        self._reading_ahead = ahead > 0
        upcoming: deque[Frame] = deque()
        source = iter(frames)
        while True:
            try:
                frame = next(source)
            except StopIteration:
                break
            except Exception:  # a failing source: the frames read before it are still processed, as without reading ahead
                while upcoming:
                    yield self._process_next(upcoming)
                raise
            upcoming.append(frame)
            if len(upcoming) > ahead:
                yield self._process_next(upcoming)
        while upcoming:
            yield self._process_next(upcoming)

    def _process_next(self, upcoming: deque[Frame]) -> tuple[Frame, FrameResult]:
        self._start_due_detection(upcoming)
        frame = upcoming.popleft()
        return frame, self.process(frame)

    def _start_due_detection(self, upcoming: Sequence[Frame]) -> None:
        """Start the full detection of the frame where the next one falls due, if it is among ``upcoming`` (the
        next frame to process first). Motion may put it off, and a cut bring one forward: its frame then runs the
        detector itself, and what was started is dropped."""
        if self._ahead is None or self._last_full is None:
            return
        due = self._last_full[0] + max(1, self.config.detect_every)
        position = due - (self.frames_processed + 1)
        if self.config.detect_every == 1 and not self.detector.shares_lanes:
            # Every frame is due and no lane can help with it: start the next one beside the frame about to be processed.
            # A detector that shares its work (MTCNN) runs faster on all the lanes (1080p every frame: 5.1 fps, not 2.9).
            position, due = 1, self.frames_processed + 2
        if 0 < position < len(upcoming):  # at 0 the caller would only wait for it: the lanes share it instead
            self._ahead.start(due, upcoming[position].image)

    def process(self, frame: Frame) -> FrameResult:
        self.frames_processed += 1
        with self._timer.measure("cuts"):
            small = small_frame(frame.image)
            cut = self.cuts is not None and self.cuts.update(small, frame.timestamp)
        if cut:
            self.cut_frames.append(frame.index)
            self._last_full = None
            with self._timer.measure("seal"):
                self._close_all(self.tracker.finish(), self.cuts.transition_began if self.cuts is not None else None)
        elif self.cuts is not None and (self.cuts.light_changed or self.cuts.fading or self.cuts.transition_under_way):
            # The same scene under other light (a step, or a fade under way): same people, other colours and quality.
            # So too while a cross-fade or a wipe goes on after its boundary: the colours learnt there mix two pictures.
            self.tracker.forget_appearance()
        with self._timer.measure("detect"):
            detections = self._detect(frame, small)
        if self.cuts is not None and self.cuts.in_black_fade:
            # The faint faces on a fade's black frames are the last of one shot's people and the first of the next's,
            # too dark to tell apart: followed, they made one track of two people (YuNet finds them; MTCNN does not).
            # Everyone is followed on the lit frames either side.
            detections = Detections.empty()
        # The rest of a cross-fade or a wipe mixes two shots' pictures (every track ended at its boundary): its faces
        # are followed, so that nobody seen only there is lost, but not scored, so that a ghost of two people (or a
        # face cut in two by a wipe's edge) is chosen only for a track that has nothing better.
        mid_transition = self.cuts is not None and self.cuts.blending
        with self._timer.measure("align"):
            scored = np.zeros(0, np.int64) if mid_transition else self._faces_to_score(detections, frame.timestamp)
            faces = FaceBatch.from_detections(frame.image, detections[scored])
        with self._timer.measure("quality"):
            unscored = FailureReason.MID_TRANSITION if mid_transition else None
            assessment = self._spread(self._assess(faces), scored, len(detections), unscored)
        with self._timer.measure("track"):
            looks = appearance_descriptors(frame.image, detections.boxes)
            update = self.tracker.update(detections, frame.timestamp, looks, assessment.scores)
        tracked: list[TrackedFace] = []
        clip_faces: list[tuple[TrackLedger, Box, bool]] = []
        scored_rows = set(scored.tolist())
        with self._timer.measure("select"):
            for index, track_id in enumerate(update.tracked.tracker_id.tolist()):
                box: tuple[float, float, float, float] = tuple(float(v) for v in detections.boxes[index])  # type: ignore[assignment]
                quality = float(assessment.scores[index])
                failure = assessment.reasons[index]
                ledger = self._ledgers.get(track_id)
                if ledger is None:
                    ledger = self._ledgers[track_id] = self._new_ledger(track_id, frame.timestamp, box)
                crop = crop_box(frame.image, detections.boxes[index], self.config.crop_margin)
                new_best = ledger.add(Candidate(crop, quality, frame.index, frame.timestamp, box), failure)
                if index in scored_rows:
                    self._scoring.record(track_id, self.frames_processed, new_best)
                if ledger.clip is not None:
                    clip_faces.append((ledger, box, new_best))
                tracked.append(
                    TrackedFace(frame.index, frame.timestamp, track_id, box, float(detections.scores[index]), quality, failure, new_best)
                )
        if clip_faces:
            with self._timer.measure("clip"):
                self._record_clip_frames(frame, clip_faces)
        with self._timer.measure("seal"):
            self._close_all(update.ended)
        self._scoring.keep_only(self.tracker.tracks)
        return FrameResult(frame.index, frame.timestamp, tuple(tracked))

    def _faces_to_score(self, detections: Detections, timestamp: float) -> np.ndarray:
        """Rows of ``detections`` to align and score: all of them unless ``config.score_every`` skips some (only then
        are the tracks' predicted boxes needed to tell whose face each one is)."""
        if not self._scoring.selective:
            return np.arange(len(detections))
        ids, predicted = self.tracker.predicted_boxes(timestamp)
        return np.flatnonzero(self._scoring.wanted(detections.boxes, ids, predicted, self.frames_processed))

    @staticmethod
    def _spread(assessment: Assessment, rows: np.ndarray, count: int, unscored: FailureReason | None = None) -> Assessment:
        """The assessment of the faces ``rows`` of ``count``, the others unknown (NaN with the reason ``unscored``;
        None: not scored this frame, by the scoring schedule)."""
        if len(rows) == count:
            return assessment
        scores = np.full(count, np.nan)
        scores[rows] = assessment.scores
        reasons: list[Any] = [unscored] * count
        for row, reason in zip(rows.tolist(), assessment.reasons):
            reasons[row] = reason
        return Assessment(scores, tuple(reasons))

    def _assess(self, faces: FaceBatch) -> Assessment:
        """The quality of every face; with several lanes, the faces are shared out between them (a face's score
        does not depend on the others scored with it), unless the detections ahead keep the other lanes busy
        (``process_stream``): the few faces of a frame then cost less CPU in one batch (720p arcade, two lanes:
        27.2 CPU ms per frame instead of 28.8, decoding aside)."""
        if self.lanes.count == 1 or len(faces) < 2 or self._reading_ahead:
            return assess(self.quality, faces)
        parts = self.lanes.map(lambda rows: assess(self.quality, faces[rows]), split_evenly(len(faces), self.lanes.count))
        return Assessment(np.concatenate([part.scores for part in parts]), tuple(reason for part in parts for reason in part.reasons))

    def _new_ledger(self, track_id: int, first_seen: float, box: Box) -> TrackLedger:
        if self.config.clip_seconds <= 0:
            return TrackLedger(track_id, first_seen, self.config.timeline_points)
        clip = ClipBuffer(self.config.clip_seconds, self.config.clip_max_frames, self.config.clip_max_bytes)
        return TrackLedger(track_id, first_seen, self.config.timeline_points, clip, clip_side(box, *self.config.clip_side_range))

    def _record_clip_frames(self, frame: Frame, faces: list[tuple[TrackLedger, Box, bool]]) -> None:
        """One JPEG of each tracked person's region into its track's clip buffer (in memory only)."""
        for ledger, box, new_best in faces:
            assert ledger.clip is not None
            encoded = encode_clip_frame(frame.image, box, ledger.clip_side, frame.index, frame.timestamp, self.config.clip_jpeg_quality)
            ledger.clip.add(encoded, new_best)

    def finish(self) -> None:
        """End of stream, shutdown or a failed sink: try to seal the best shot of every open track."""
        try:
            with self._timer.measure("seal"):
                self._close_all(self.tracker.finish())
                # Tracks whose closing was cut short by an earlier failure, so that nobody seen is dropped unreported.
                self._seal_all([ledger for ledger in self._ledgers.values() if ledger.is_open])
        finally:
            self.lanes.close()
            if self._ahead is not None:
                self._ahead.close()

    def _detect(self, frame: Frame, small: np.ndarray) -> Detections:
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        # Counted in processed frames, not frame indices: a live source drops frames, and its indices skip.
        if self._full_detection_due(self.frames_processed, grey):
            started = self._ahead.take(self.frames_processed) if self._ahead is not None else None
            self.full_detections_ahead += started is not None
            detections = started if started is not None else self.detector.detect([frame.image])[0]
            self._last_full = (self.frames_processed, grey, len(detections))
            self.full_detections += 1
        elif not self.tracker.tracks:
            detections = Detections.empty()
        else:
            _, predicted = self.tracker.predicted_boxes(frame.timestamp)
            centre = (predicted[:, :2] + predicted[:, 2:]) / 2
            half = (predicted[:, 2:] - predicted[:, :2]) / 2
            candidates = np.concatenate([np.c_[centre - half * expand, centre + half * expand] for expand in self.config.refine_expand])
            detections = self.detector.refine(frame.image, candidates)
            detections = detections[np.flatnonzero(detections.scores >= self.config.refine_min_score)]
        self._faces_in_last_frame = len(detections)
        return detections

    def _full_detection_due(self, processed: int, grey: np.ndarray) -> bool:
        """Every ``detect_every`` frames (and at once after a cut), unless nothing moved since the last one and
        every face it found is still being followed."""
        if self._last_full is None:
            return True
        last_processed, last_grey, last_faces = self._last_full
        if processed - last_processed < max(1, self.config.detect_every):
            return False
        if self.config.motion_threshold is None or last_grey.shape != grey.shape or self._faces_in_last_frame < last_faces:
            return True
        change = cv2.resize(cv2.absdiff(grey, last_grey), (12, 7), interpolation=cv2.INTER_AREA)
        return float(change.max()) > self.config.motion_threshold

    def _close_all(self, ended: list[Track], transition_began: float | None = None) -> None:
        """Seal the ended tracks, or discard those that are no person (``transition_began``: the tracks end at a
        cross-fade's or a wipe's boundary, whose first half may have begun then)."""
        to_seal = []
        for track in ended:
            ledger = self._ledgers.get(track.track_id)
            if ledger is None or not ledger.is_open:
                continue
            reason = self.tracker.is_false_alarm(track) or self._only_mid_transition(ledger) or self._only_before_boundary(ledger, transition_began)
            if reason:
                ledger.mark_discarded(reason)
                self._retire(ledger)
            else:
                to_seal.append(ledger)
        self._seal_all(to_seal)

    @staticmethod
    def _only_mid_transition(ledger: TrackLedger) -> str | None:
        """Why a track seen only inside a cross-fade or a wipe is not sealed: each of its faces mixes two shots' pictures,
        and the people of both are followed before and after it (a boundary found where there was none still
        leaves everyone followed through the window to a track of their own)."""
        if ledger.detections and ledger.failures[FailureReason.MID_TRANSITION] == ledger.detections:
            return "seen only inside a cross-fade or a wipe (a mix of two shots' pictures)"
        return None

    @staticmethod
    def _only_before_boundary(ledger: TrackLedger, transition_began: float | None) -> str | None:
        """Why a track that started inside the first half of a cross-fade or a wipe, and ends at its boundary, is not
        sealed: its faces mix the two shots' pictures as much as those after the boundary (``_only_mid_transition``),
        but were scored, the boundary not yet found. A cross-fade's changing colours split the old shot's person there
        into a second track, sealed twice (a sweep of cross-fades of 0.48 s: 35 snapshots for 32 people); the people of
        both shots are followed before and after the transition to tracks of their own."""
        if transition_began is not None and ledger.first_seen > transition_began:
            return "seen only inside a cross-fade or a wipe (a mix of two shots' pictures), before its boundary was found"
        return None

    def _seal_all(self, ledgers: list[TrackLedger]) -> None:
        """Seal each; if the sink fails, every one is still attempted and the first failure raised."""
        first_failure: VaultError | None = None
        for ledger in ledgers:
            try:
                self._seal(ledger)
            except VaultError as error:
                first_failure = first_failure or error
        if first_failure is not None:
            raise first_failure

    def _seal(self, ledger: TrackLedger) -> None:
        elsewhere = self._owned_elsewhere(ledger)
        if elsewhere is not None:
            ledger.mark_declined(elsewhere)
            self._retire(ledger)
            return
        snapshot = ledger.snapshot(self.config.camera_id, self.quality.name, self.started_at_utc, self.started_at_source)
        if snapshot is None:
            return
        retention_days = self.sink.retention_ended(snapshot.seen_at_utc)
        if retention_days is not None:  # an old recording: keeping it would break the retention promise
            ledger.mark_retention_ended(retention_days)
            self._retire(ledger)
            return
        if self.calibration is not None:
            calibrated = self.calibration.one(snapshot.quality)
            flagged = None if calibrated is None else calibrated < self.config.not_usable_below
            snapshot = dataclasses.replace(snapshot, quality_0_100=calibrated, probably_not_usable=flagged)
        clip = ledger.clip.clip() if ledger.clip is not None else ()
        try:
            if clip:
                metadata = snapshot.metadata() | {"clip_frames": len(clip), "clip_first": clip[0].timestamp, "clip_last": clip[-1].timestamp}
                snapshot_id = self.sink.seal(snapshot.crop, metadata, clip=clip)
            else:  # the call every sink understands, and the same sealed bytes as before clips existed
                snapshot_id = self.sink.seal(snapshot.crop, snapshot.metadata())
        except VaultError as error:
            ledger.mark_seal_failed(str(error))
            self._retire(ledger)
            raise
        except OSError as error:  # a sink that let a disk error through (disk full, folder gone)
            ledger.mark_seal_failed(f"sealing track {ledger.track_id} failed: {error}")
            self._retire(ledger)
            raise VaultError(ledger.seal_error) from error
        ledger.mark_sealed(snapshot, snapshot_id)
        self._sealed_total += 1
        self._retire(ledger)

    def _owned_elsewhere(self, ledger: TrackLedger) -> str | None:
        """Why another part of the source seals this track (``PipelineConfig.owned_frames``), or None if it is ours."""
        owned = self.config.owned_frames
        if owned is None or ledger.first_frame is None:
            return None
        start, end = owned
        if start <= ledger.first_frame and (end is None or ledger.first_frame < end):
            return None
        side = "before" if ledger.first_frame < start else "after"
        return f"first seen in frame {ledger.first_frame}, {side} the frames [{start}, {'end' if end is None else end}) this part seals"

    def _retire(self, ledger: TrackLedger) -> None:
        """A track that has ended for good: report it, and forget it unless the run keeps every track."""
        if self._on_track_closed is not None:
            self._on_track_closed(ledger.summary())
        if not self.config.keep_closed_tracks:
            self._ledgers.pop(ledger.track_id, None)
