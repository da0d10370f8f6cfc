"""A network source for real: the sample clip served over HTTP by a server on loopback."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator

import av
import pytest

from sealshot.video import VideoSourceError, open_source


def _remux_to_mpegts(source: Path, target: Path) -> None:
    """Live HTTP streams are MPEG-TS (or HLS of it): no seeking back for an index at the end."""
    with av.open(str(source)) as reader, av.open(str(target), "w", format="mpegts") as writer:
        stream_in = reader.streams.video[0]
        stream_out = writer.add_stream_from_template(stream_in)
        for packet in reader.demux(stream_in):
            if packet.dts is None:
                continue
            packet.stream = stream_out
            writer.mux(packet)


@pytest.fixture()
def http_server(sample_clip: Path, tmp_path: Path) -> Iterator[str]:
    _remux_to_mpegts(sample_clip, tmp_path / "live.ts")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_stream_decodes_with_timestamps(http_server: str) -> None:
    source = open_source(f"{http_server}/live.ts")
    assert not source.rereadable and source.started_at_source == "wall-clock"
    frames = [frame for frame, _ in zip(source, range(30))]
    assert len(frames) == 30
    assert frames[0].image.shape == (1080, 1920, 3)
    assert frames[0].timestamp == 0.0
    assert frames[29].timestamp == pytest.approx(29 / 25, abs=1e-3)


def test_missing_stream_is_a_clear_error(http_server: str) -> None:
    with pytest.raises(VideoSourceError, match="cannot open"):
        open_source(f"{http_server}/nothing-here.mp4")


def test_a_stream_that_stalls_ends_with_a_message_saying_so(sample_clip: Path, tmp_path: Path) -> None:
    """A camera that stops sending (a dead link, a frozen encoder) used to end `run` with FFmpeg's
    'Immediate exit requested'; the frames read before are kept."""
    import socket

    from sealshot.video.sources import PyAVSource

    _remux_to_mpegts(sample_clip, tmp_path / "live.ts")
    head = (tmp_path / "live.ts").read_bytes()[:400_000]
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve_then_stall() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(head)
            stop.wait(30)  # the connection stays open, silent

    thread = threading.Thread(target=serve_then_stall, daemon=True)
    thread.start()
    try:
        source = PyAVSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", is_stream=True, timeout_s=1.0)
        frames = 0
        with pytest.raises(VideoSourceError, match=r"no data for 1 s after \d+ frames \(the stream stalled or its connection dropped\)"):
            for _ in source:
                frames += 1
        assert frames > 0
    finally:
        stop.set()
        listener.close()
