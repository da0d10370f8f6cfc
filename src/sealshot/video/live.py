"""Live network streams in real time: decode on a thread, keep only the newest frame, reconnect.

A live camera does not wait for us. ``LiveStream`` decodes every packet as it arrives (an H.264
decoder needs them all) but keeps only the newest ``keep`` decoded frames; a frame replaced before
the pipeline took it is counted as dropped. The lag between a frame's arrival and its processing is
therefore bounded by one pipeline step, whatever the load. Frames are converted to RGB only when
the pipeline takes them, so dropped frames cost decoding only.

When the stream ends, stalls (no data for ``read_timeout_s``) or cannot be opened, the thread
reconnects with capped exponential back-off and jitter, logging each attempt. Timestamps run on one
clock across reconnections: a connection's frames are placed at the wall time of its first frame
plus their own presentation times, so a gap in the stream is a gap in time, and the tracker ends the
tracks it interrupted.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import av

from sealshot.video.sources import Frame, StartTimeSource, upright

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential back-off with jitter: attempt n waits ``initial_s * factor**n`` (at most
    ``max_s``), times a random factor in [1 - jitter, 1 + jitter] so that cameras do not retry in step."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.25

    def delay(self, attempt: int) -> float:
        base = min(self.max_s, self.initial_s * self.factor ** max(0, attempt))
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)


@dataclass
class LiveCounters:
    """What the decoder thread has seen; read by the pipeline's thread for metrics (ints only, no lock needed)."""

    frames_decoded: int = 0
    packets_received: int = 0
    """Video packets read from the stream (one per frame)."""
    frames_decoded_dropped: int = 0
    """Decoded frames replaced by a newer one before the pipeline took them."""
    frames_taken: int = 0
    connections: int = 0
    reconnections: int = 0
    """Successful connections after the first."""
    failed_attempts: int = 0
    last_error: str | None = None
    packets_skipped: int = 0
    """Packets not decoded at all because decoding fell more than ``max_behind_s`` behind live."""

    @property
    def frames_dropped(self) -> int:
        """Frames that arrived but were never processed: replaced while the pipeline was busy, skipped
        undecoded to catch up with live, or not decoded as non-reference frames while behind."""
        return max(0, self.packets_received - self.frames_taken - 1)


class LiveStream:
    """A network stream (``tcp://``, ``http://``, ``rtsp://`` ...) read in real time, newest frame first.

    Use ``start()``, then ``next_frame(timeout)`` (None when no new frame arrived in time) and
    ``down_for()``; ``stop()`` ends the thread. Iterating yields frames until ``stop()``.
    """

    rereadable = False
    stills = False
    frame_count: int | None = None

    def __init__(
        self,
        url: str,
        *,
        keep: int = 1,
        backoff: Backoff | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        decoder_threads: int = 1,
        max_behind_s: float = 1.0,
    ) -> None:
        self.name = url
        self.url = url
        self.fps: float | None = None
        self.started_at_utc = time.time()
        self.started_at_source: StartTimeSource = "wall-clock"
        self.counters = LiveCounters()
        self._backoff = backoff or Backoff()
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._decoder_threads = decoder_threads
        self.max_behind_s = max_behind_s
        self._newest: collections.deque[tuple[int, float, float, av.VideoFrame]] = collections.deque(maxlen=max(1, keep))
        self._ready = threading.Condition()
        self._stopping = threading.Event()
        self._connected = False
        self._down_since: float | None = time.monotonic()
        self._last_timestamp = -1.0
        self._thread = threading.Thread(target=self._run, name=f"sealshot-live-{url}", daemon=True)

    # -- the pipeline's side -------------------------------------------------------------------

    def start(self) -> "LiveStream":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected

    def down_for(self) -> float:
        """Seconds since the stream was last connected (0 while connected)."""
        since = self._down_since
        return 0.0 if since is None else time.monotonic() - since

    def next_frame(self, timeout_s: float = 0.5) -> Frame | None:
        """The oldest kept frame (with ``keep=1``: the newest one), or None if none arrived within the timeout."""
        with self._ready:
            if not self._newest and not self._stopping.is_set():
                self._ready.wait(timeout_s)
            if not self._newest:
                return None
            index, timestamp, arrived_at, decoded = self._newest.popleft()
            self.counters.frames_taken += 1
        return Frame(index=index, timestamp=timestamp, image=upright(decoded), arrived_at=arrived_at)

    def __iter__(self) -> Iterator[Frame]:
        if not self._thread.is_alive() and not self._stopping.is_set():
            self.start()
        while not self._stopping.is_set():
            frame = self.next_frame()
            if frame is not None:
                yield frame

    # -- the decoder thread --------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                container = av.open(self.url, options=self._options(), timeout=self._timeouts)
            except (av.error.FFmpegError, OSError) as error:
                self._failed(f"cannot connect to {self.url}: {error}", attempt)
                attempt += 1
                continue
            attempt = 0
            try:
                self._read(container)
            except (av.error.FFmpegError, OSError) as error:
                self.counters.last_error = f"stream {self.url} failed: {error}"
                logger.warning("stream lost", extra={"event": "stream_lost", "source": self.url, "error": str(error)})
            else:
                if not self._stopping.is_set():
                    self.counters.last_error = f"stream {self.url} ended"
                    logger.warning("stream ended", extra={"event": "stream_lost", "source": self.url, "error": "end of stream"})
            finally:
                container.close()
                if self._connected:
                    self._connected = False
                    self._down_since = time.monotonic()

    def _options(self) -> dict[str, str]:
        # rw_timeout (microseconds) makes FFmpeg's own I/O notice a dead peer, beside PyAV's read timeout.
        options = {"rw_timeout": str(int(self._timeouts[1] * 1e6))}
        if self.url.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        return options

    def _failed(self, message: str, attempt: int) -> None:
        self.counters.failed_attempts += 1
        self.counters.last_error = message
        wait = self._backoff.delay(attempt)
        logger.warning(
            "cannot connect; retrying", extra={"event": "connect_failed", "source": self.url, "error": message, "retry_in_s": round(wait, 2)}
        )
        self._stopping.wait(wait)

    def _read(self, container: av.container.InputContainer) -> None:
        if not container.streams.video:
            raise OSError(f"{self.url} contains no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threading would add a frame of latency per thread
        stream.codec_context.thread_count = self._decoder_threads
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else self.fps
        origin: float | None = None
        offset = 0.0
        catching_up = False
        for packet in container.demux(stream):
            if self._stopping.is_set():
                return
            if packet.size == 0:
                continue
            self.counters.packets_received += 1
            seconds = float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base is not None else None
            if origin is None:
                self._on_connected()
                origin, offset = (seconds or 0.0), time.time() - self.started_at_utc
            # How far behind live this packet is; when decoding itself cannot keep up (a loaded host),
            # skip cheap-to-lose frames first, and past max_behind_s every packet up to the next keyframe.
            behind = (time.time() - self.started_at_utc) - (offset + seconds - origin) if seconds is not None else 0.0
            if catching_up and packet.is_keyframe and behind < self.max_behind_s:
                catching_up = False
            elif not catching_up and behind >= self.max_behind_s:
                catching_up = True
                logger.info("decoder behind live; skipping to the next keyframe", extra={"event": "catching_up", "behind_s": round(behind, 2)})
            if catching_up:
                self.counters.packets_skipped += 1
                continue
            stream.codec_context.skip_frame = "NONREF" if behind >= self.max_behind_s / 4 else "DEFAULT"
            for decoded in packet.decode():
                if decoded.pts is not None and decoded.time_base is not None:
                    timestamp = offset + float(decoded.pts * decoded.time_base) - origin
                else:
                    timestamp = time.time() - self.started_at_utc
                self._offer(decoded, timestamp)

    def _offer(self, decoded: av.VideoFrame, timestamp: float) -> None:
        timestamp = max(timestamp, self._last_timestamp + 1e-3)  # never backwards, even across reconnections
        self._last_timestamp = timestamp
        with self._ready:
            if len(self._newest) == self._newest.maxlen:
                self.counters.frames_decoded_dropped += 1
            self._newest.append((self.counters.frames_decoded, timestamp, time.monotonic(), decoded))
            self.counters.frames_decoded += 1
            self._ready.notify()

    def _on_connected(self) -> None:
        self.counters.connections += 1
        if self.counters.connections > 1:
            self.counters.reconnections += 1
        logger.info(
            "stream connected",
            extra={"event": "reconnected" if self.counters.connections > 1 else "connected", "source": self.url, "down_s": round(self.down_for(), 2)},
        )
        self._connected = True
        self._down_since = None

