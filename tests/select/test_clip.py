"""The clip buffer of a track: a window around the best frame, re-centred when the best changes, never above its caps."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sealshot.select import ClipBuffer, EncodedFrame, clip_side, encode_clip_frame
from sealshot.select.clip import clip_region

FPS = 25.0


def _frame(index: int, size: int = 100) -> EncodedFrame:
    return EncodedFrame(index, index / FPS, (0.0, 0.0, 10.0, 10.0), b"\xff\xd8" + bytes(size))


def test_the_clip_is_the_window_around_the_best_frame() -> None:
    buffer = ClipBuffer(seconds=2.0, max_frames=1000, max_bytes=10**9)
    for index in range(200):
        buffer.add(_frame(index), is_best=index == 100)
    times = [frame.timestamp for frame in buffer.clip()]
    assert times[0] == 75 / FPS and times[-1] == 125 / FPS and len(times) == 51  # best ± 1 s
    # Besides the window only the last second is held (the lead-in of a best frame yet to come).
    assert len(buffer) == 51 + 26 and buffer.byte_count == 77 * 102


def test_a_new_best_frame_re_centres_the_window_with_its_lead_in() -> None:
    buffer = ClipBuffer(seconds=2.0, max_frames=1000, max_bytes=10**9)
    for index in range(200):
        buffer.add(_frame(index), is_best=index in (20, 160))
    clip = buffer.clip()
    assert clip[0].frame_index == 135 and clip[-1].frame_index == 185 and len(clip) == 51


def test_before_any_best_frame_there_is_no_clip() -> None:
    buffer = ClipBuffer(seconds=2.0, max_frames=1000, max_bytes=10**9)
    for index in range(10):
        buffer.add(_frame(index), is_best=False)
    assert buffer.clip() == ()


@settings(max_examples=60, deadline=None)
@given(
    seconds=st.floats(0.1, 8.0),
    max_frames=st.integers(1, 40),
    max_bytes=st.integers(50, 5000),
    steps=st.lists(st.tuples(st.booleans(), st.integers(1, 400)), min_size=1, max_size=150),
)
def test_the_caps_are_never_exceeded_and_the_best_frame_is_kept(seconds: float, max_frames: int, max_bytes: int, steps: list[tuple[bool, int]]) -> None:
    buffer = ClipBuffer(seconds, max_frames, max_bytes)
    best: EncodedFrame | None = None
    for index, (is_best, size) in enumerate(steps):
        frame = _frame(index, size)
        buffer.add(frame, is_best)
        best = frame if is_best else best
        assert len(buffer) <= max_frames or len(buffer) == 1
        assert buffer.byte_count <= max_bytes or len(buffer) == 1
        if best is not None:
            assert best in buffer.clip()
            assert all(abs(f.timestamp - best.timestamp) <= seconds / 2 for f in buffer.clip())
    buffer.release()
    assert len(buffer) == 0 and buffer.byte_count == 0 and buffer.clip() == ()


def test_a_clip_frame_is_the_padded_square_around_the_face_at_the_track_size() -> None:
    image = np.zeros((200, 300, 3), np.uint8)
    image[80:120, 130:170] = (255, 0, 0)  # the "face": a red 40 px square
    box = (130.0, 80.0, 170.0, 120.0)
    side = clip_side(box, 64, 256)
    assert side == 80  # twice the face, in steps of 16
    frame = encode_clip_frame(image, box, side, 7, 0.28, 90)
    assert frame.region == clip_region(box) == (110.0, 60.0, 190.0, 140.0)
    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert decoded.shape == (80, 80, 3)
    assert decoded[30:50, 30:50, 0].mean() > 230 and decoded[30:50, 30:50, 1:].mean() < 25  # the face, centred
    assert decoded[:10, :10].mean() < 25  # the margin around it
    # A face at the frame's edge: the part of the square outside the frame is black, the size stays.
    edge = encode_clip_frame(image, (0.0, 0.0, 40.0, 40.0), side, 8, 0.32, 90)
    assert cv2.imdecode(np.frombuffer(edge.data, np.uint8), cv2.IMREAD_COLOR).shape == (80, 80, 3)
    assert clip_side((0.0, 0.0, 10.0, 10.0), 64, 256) == 64 and clip_side((0.0, 0.0, 900.0, 900.0), 64, 256) == 256
