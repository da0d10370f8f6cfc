"""The optional clip of a sealed snapshot: JPEG frames of the person's region around the best frame.

A snapshot sealed with a clip has ``content_type`` ``CLIP_CONTENT_TYPE`` in its header, and its HPKE
plaintext is a small container instead of the bare PNG::

    CLIP_MAGIC (8 bytes) | index length (4 bytes, big endian) | index (canonical JSON) | PNG | JPEG frames

The index gives the PNG's size and, per frame, its source frame index, time (seconds in the source),
the region it shows (source pixels) and its size. Frame times and regions are sealed with the pixels;
the plaintext header says only that there is a clip and how many frames (in the metadata). Opening
remuxes the JPEG frames, unchanged, into an MJPEG MP4 with their own times (no re-encoding: what was
sealed is what is shown).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, Sequence

from sealshot.vault.encoding import canonical_json, load_json_object
from sealshot.vault.errors import VaultError

CLIP_CONTENT_TYPE = "application/vnd.sealshot.snapshot+clip"
CLIP_MAGIC = b"SEALCLP1"
JPEG_START = b"\xff\xd8"
MAX_CLIP_INDEX = 1024 * 1024
CLIP_VIDEO_SUFFIX = ".clip.mp4"
_FALLBACK_FRAME_SECONDS = 0.04


class ClipFrameLike(Protocol):
    """What a camera hands over per clip frame (``sealshot.select.EncodedFrame``)."""

    frame_index: int
    timestamp: float
    region: tuple[float, float, float, float]
    data: bytes


@dataclass(frozen=True)
class ClipFrame:
    """One opened clip frame: the JPEG as it was sealed, and where and when it was taken."""

    frame_index: int
    timestamp: float
    region: tuple[float, float, float, float]
    data: bytes


def pack_snapshot(png: bytes, clip: Sequence[ClipFrameLike]) -> bytes:
    """The plaintext of a snapshot with a clip: the PNG and the JPEG frames, in time order."""
    frames = sorted(clip, key=lambda frame: frame.timestamp)
    for frame in frames:
        if not isinstance(frame.data, bytes) or not frame.data.startswith(JPEG_START):
            raise VaultError(f"clip frame {frame.frame_index} is not a JPEG image")
    index = {
        "png_size": len(png),
        "codec": "jpeg",
        "frames": [
            {"frame_index": int(f.frame_index), "timestamp": float(f.timestamp), "region": [float(v) for v in f.region], "size": len(f.data)}
            for f in frames
        ],
    }
    index_bytes = canonical_json(index)
    return b"".join([CLIP_MAGIC, struct.pack(">I", len(index_bytes)), index_bytes, png, *(f.data for f in frames)])


def unpack_snapshot(plaintext: bytes, source: str) -> tuple[bytes, tuple[ClipFrame, ...]]:
    """The PNG and the clip frames of a decrypted snapshot with a clip; ``VaultError`` naming ``source`` if malformed."""
    what = f"sealed file {source}"
    start = len(CLIP_MAGIC) + 4
    if len(plaintext) < start or not plaintext.startswith(CLIP_MAGIC):
        raise VaultError(f"{what}: decrypted content is not a snapshot with a clip")
    (length,) = struct.unpack(">I", plaintext[len(CLIP_MAGIC) : start])
    if length > MAX_CLIP_INDEX or start + length > len(plaintext):
        raise VaultError(f"{what}: the clip's index is truncated")
    index = load_json_object(plaintext[start : start + length], f"{what} clip index")
    offset = start + length
    try:
        png_size = int(index["png_size"])
        png = plaintext[offset : offset + png_size]
        offset += png_size
        frames = []
        for entry in index["frames"]:
            size = int(entry["size"])
            data = plaintext[offset : offset + size]
            offset += size
            region = tuple(float(v) for v in entry["region"])
            if len(data) != size or not data.startswith(JPEG_START) or len(region) != 4:
                raise ValueError("frame")
            frames.append(ClipFrame(int(entry["frame_index"]), float(entry["timestamp"]), region, data))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as error:
        raise VaultError(f"{what}: the clip is malformed") from error
    if len(png) != png_size or offset != len(plaintext):
        raise VaultError(f"{what}: the clip's sizes do not add up")
    return png, tuple(frames)


def clip_video(frames: Sequence[ClipFrame]) -> bytes:
    """An MP4 (MJPEG) of the clip's frames at their own times, built in memory: the sealed JPEGs, not re-encoded."""
    import av
    import cv2
    import numpy as np

    first = cv2.imdecode(np.frombuffer(frames[0].data, np.uint8), cv2.IMREAD_UNCHANGED) if frames else None
    if first is None:
        raise VaultError("the clip has no readable frame")
    steps = [b.timestamp - a.timestamp for a, b in zip(frames, frames[1:]) if b.timestamp > a.timestamp]
    frame_seconds = min(steps) if steps else _FALLBACK_FRAME_SECONDS
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("mjpeg", rate=Fraction(round(1 / frame_seconds * 1000), 1000))
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuvj420p"
        container.start_encoding()
        time_base = stream.time_base
        assert time_base is not None
        previous = -1
        for frame in frames:
            packet = av.Packet(frame.data)
            packet.stream = stream
            packet.time_base = time_base
            pts = max(previous + 1, round((frame.timestamp - frames[0].timestamp) / time_base))
            packet.pts = packet.dts = previous = pts
            packet.duration = max(1, round(frame_seconds / time_base))
            container.mux(packet)
    return buffer.getvalue()
