"""``cameras.toml``: the cameras ``sealshot serve`` runs, checked with errors that name the key and line.

    metrics = "127.0.0.1:9108"        # serve-wide settings ...
    vault = "/var/lib/sealshot/vault" # ... and defaults shared by every camera
    recipient = "/etc/sealshot/authority.pub"

    [[camera]]
    id = "lobby"
    source = "rtsp://10.0.0.5/stream1"

    [[camera]]
    source = "tcp://127.0.0.1:9000"
    quality = "sharpness"
    vault = "/var/lib/sealshot/vault-2"

Relative paths are taken from the config file's folder. Each camera key may also be set at the top,
as the default of every camera. The defaults of the detector and tracker keys are those of ``run``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

from sealshot.config import CAMERA_ID, MAX_CAMERA_ID_LENGTH, MAX_CLIP_SECONDS, NOT_IN_CAMERA_ID, PipelineConfig, fit_camera_id
from sealshot.detect.config import DETECTORS, MTCNNConfig, YuNetConfig
from sealshot.errors import InputError
from sealshot.quality.registry import DEFAULT_METHOD
from sealshot.track.config import TrackerConfig
from sealshot.vault.location import POSTGRES_SCHEMES
from sealshot.vault.recipient import load_recipient
from sealshot.video.sources import STREAM_SCHEMES

_DETECTOR, _TRACKER, _PIPELINE = MTCNNConfig(), TrackerConfig(), PipelineConfig()


@dataclass(frozen=True)
class CameraSettings:
    """One camera as its process needs it (picklable: it crosses into a spawned process)."""

    camera_id: str
    source: str
    vault: str
    recipient: Path
    report_dir: Path
    camera_key: Path | None = None
    quality: str = DEFAULT_METHOD
    threads: int = 1
    """PyTorch intra-op threads (the models)."""
    opencv_threads: int = 1
    decoder_threads: int = 1
    """FFmpeg decoder threads."""
    keep_frames: int = 1
    """Newest decoded frames kept for a live source; older ones are dropped (and counted)."""
    detector: str = _PIPELINE.face_detector
    """``mtcnn`` or ``yunet`` (``run --detector``); with ``yunet`` the MTCNN keys below do not apply."""
    mtcnn_points: bool = False
    """With ``yunet``: align faces on MTCNN O-Net's five points (``run --mtcnn-points``)."""
    min_face: float = _DETECTOR.min_face_size
    thresholds: tuple[float, float, float] = _DETECTOR.thresholds
    detect_max_side: int | None = 1280
    """Longer side frames are downscaled to before full detection (a camera host has no time for 4K)."""
    detect_every: int = _PIPELINE.detect_every
    max_unseen: float = _TRACKER.max_unseen_s
    min_detections: int = _TRACKER.min_detections
    min_peak_score: float = _TRACKER.min_peak_score
    timeline_points: int = 200
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0
    read_timeout_s: float = 5.0
    """A live stream that sends nothing for this long is taken as lost and reconnected."""
    max_behind_s: float = 1.0
    """When decoding falls this far behind live (a loaded host), packets are skipped to the next keyframe."""
    clip_seconds: float = _PIPELINE.clip_seconds
    """Seal a clip of each person's region around the best frame, this many seconds long; 0: none."""

    @property
    def is_live(self) -> bool:
        return self.source.lower().startswith(STREAM_SCHEMES)

    def pipeline(self) -> PipelineConfig:
        config = PipelineConfig(
            camera_id=self.camera_id,
            detector=MTCNNConfig(min_face_size=self.min_face, thresholds=self.thresholds, detect_max_side=self.detect_max_side),
            yunet=YuNetConfig(mtcnn_points=self.mtcnn_points),
            tracker=TrackerConfig(max_unseen_s=self.max_unseen, min_detections=self.min_detections, min_peak_score=self.min_peak_score),
            detect_every=self.detect_every,
            timeline_points=self.timeline_points,
            keep_closed_tracks=False,
            clip_seconds=self.clip_seconds,
        )
        return config.using_yunet() if self.detector == "yunet" else config


@dataclass(frozen=True)
class ServeConfig:
    cameras: list[CameraSettings]
    metrics: tuple[str, int] | None = ("127.0.0.1", 9108)
    """Where /metrics and /healthz listen; None: nowhere."""
    restart_initial_s: float = 1.0
    restart_max_s: float = 60.0
    stop_timeout_s: float = 60.0
    """How long SIGTERM waits for the cameras to seal their open tracks before they are killed."""
    path: Path = field(default=Path("cameras.toml"))


_PATH_KEYS = {"vault", "recipient", "report_dir", "camera_key"}
_REQUIRED = ("source", "vault", "recipient")
_CAMERA_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "source": str,
    "vault": str,
    "recipient": str,
    "report_dir": str,
    "camera_key": str,
    "quality": str,
    "detector": str,
    "mtcnn_points": bool,
    "threads": int,
    "opencv_threads": int,
    "decoder_threads": int,
    "keep_frames": int,
    "min_face": (int, float),
    "thresholds": list,
    "detect_max_side": int,
    "detect_every": int,
    "max_unseen": (int, float),
    "min_detections": int,
    "min_peak_score": (int, float),
    "timeline_points": int,
    "reconnect_initial_s": (int, float),
    "reconnect_max_s": (int, float),
    "read_timeout_s": (int, float),
    "max_behind_s": (int, float),
    "clip_seconds": (int, float),
}
_SERVE_TYPES: dict[str, type | tuple[type, ...]] = {
    "metrics": str,
    "restart_initial_s": (int, float),
    "restart_max_s": (int, float),
    "stop_timeout_s": (int, float),
}
_POSITIVE = {"threads", "opencv_threads", "decoder_threads", "keep_frames", "detect_every", "timeline_points", "detect_max_side", "min_detections"}
_ABOVE_ZERO = {
    "min_face", "max_unseen", "reconnect_initial_s", "reconnect_max_s", "read_timeout_s", "max_behind_s",
    "restart_initial_s", "restart_max_s", "stop_timeout_s",
}
_FRACTIONS = {"min_peak_score"}


class _Lines:
    """Line numbers of keys and ``[[camera]]`` headers (``tomllib`` gives values only)."""

    _KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[int | None, str], int] = {}
        self.headers: list[int] = []
        camera: int | None = None
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("[["):
                camera = len(self.headers)
                self.headers.append(number)
            elif stripped.startswith("["):
                camera = -1
            elif (match := self._KEY.match(line)) is not None:
                self.keys.setdefault((camera, next(g for g in match.groups() if g)), number)

    def of(self, camera: int | None, key: str | None = None) -> int | None:
        if key is None:
            return self.headers[camera] if camera is not None and camera < len(self.headers) else None
        return self.keys.get((camera, key)) or self.of(camera)


def _where(path: Path, line: int | None, camera: int | None) -> str:
    place = f"{path}:{line}" if line else str(path)
    return f"{place}: [[camera]] #{camera + 1}" if camera is not None else place


def _check(path: Path, lines: _Lines, camera: int | None, table: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    for key, value in table.items():
        if key not in types:
            close = difflib.get_close_matches(key, list(types), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(types))})"
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: unknown key {key!r}{hint}")
        expected = types[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            kind = {str: "a string", int: "an integer", list: "a list", bool: "true or false"}.get(expected, "a number")  # type: ignore[call-overload]
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: {key} must be {kind}, not {value!r}")
        if key in _POSITIVE and value < 1:
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: {key} must be at least 1, not {value!r}")
        if key in _ABOVE_ZERO and not value > 0:
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: {key} must be more than 0, not {value!r}")
        if key in _FRACTIONS and not 0 <= value <= 1:
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: {key} must be from 0 to 1, not {value!r}")
        if key == "clip_seconds" and not 0 <= value <= MAX_CLIP_SECONDS:
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: clip_seconds must be from 0 (no clip) to {MAX_CLIP_SECONDS:g}, not {value!r}")
        if key == "detector" and value not in DETECTORS:
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: detector must be one of {', '.join(DETECTORS)}, not {value!r}")
        if key == "thresholds" and (
            len(value) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in value)
        ):
            raise InputError(f"{_where(path, lines.of(camera, key), camera)}: thresholds must be three numbers from 0 to 1 (P-, R-, O-Net)")


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def load_config(path: Path, metrics: str | None = None, quality_methods: Collection[str] | None = None) -> ServeConfig:
    """Read and check ``path``; ``InputError`` naming the file, line and key on any mistake.
    ``metrics`` ("HOST:PORT" or "off") overrides the file's; ``quality_methods``, when given, are the
    names a ``quality`` key may take."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InputError(f"{path}: cannot read the camera configuration ({error.strerror or error})") from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from error
    lines = _Lines(text)
    base = path.parent
    entries = document.pop("camera", None)
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: no camera: add at least one [[camera]] table with a source")
    serve = {k: document.pop(k) for k in list(document) if k in _SERVE_TYPES}
    _check(path, lines, None, serve, _SERVE_TYPES)
    _check(path, lines, None, document, _CAMERA_TYPES)
    if "id" in document or "source" in document:
        key = "id" if "id" in document else "source"
        raise InputError(f"{path}:{lines.of(None, key)}: {key} belongs in a [[camera]] table, not at the top")
    cameras: list[CameraSettings] = []
    for number, entry in enumerate(entries):
        _check(path, lines, number, entry, _CAMERA_TYPES)
        merged = {**document, **entry}
        for key in _REQUIRED:
            if key not in merged:
                raise InputError(f"{_where(path, lines.of(number), number)}: missing key {key!r} (set it in the camera or at the top of the file)")
        quality = merged.get("quality", CameraSettings.quality)
        if quality_methods is not None and quality not in quality_methods:
            line = lines.of(number if "quality" in entry else None, "quality") if "quality" in merged else lines.of(number)
            raise InputError(f"{_where(path, line, number)}: unknown quality method {quality!r}; available: {', '.join(sorted(quality_methods))}")
        camera_id = merged.pop("id", None) or _camera_id_from(merged["source"])
        if not CAMERA_ID.fullmatch(camera_id):
            raise InputError(f"{_where(path, lines.of(number, 'id'), number)}: id {camera_id!r}: use 1-{MAX_CAMERA_ID_LENGTH} letters, digits, '.', '_' or '-'")
        if any(c.camera_id == camera_id for c in cameras):
            raise InputError(f"{_where(path, lines.of(number, 'id'), number)}: camera id {camera_id!r} is used twice")
        values: dict[str, Any] = {k: (_path(base, v) if k in _PATH_KEYS else v) for k, v in merged.items()}
        if not merged["vault"].startswith(POSTGRES_SCHEMES):
            values["vault"] = str(values["vault"])
        else:
            values["vault"] = merged["vault"]  # a URL, not a path relative to the configuration
        values.setdefault("report_dir", base / "reports")
        if values["report_dir"].exists() and not values["report_dir"].is_dir():
            line = lines.of(number if "report_dir" in entry else None, "report_dir")
            raise InputError(f"{_where(path, line, number)}: report_dir {values['report_dir']} is a file, not a folder")
        if "thresholds" in values:
            values["thresholds"] = tuple(float(v) for v in values["thresholds"])
        source = values.pop("source")
        if not source.lower().startswith(STREAM_SCHEMES) and not source.isdigit():
            source = str(_path(base, source))
        cameras.append(CameraSettings(camera_id=camera_id, source=source, **values))
    options: dict[str, Any] = {k: float(v) for k, v in serve.items() if k != "metrics"}
    address = metrics if metrics is not None else serve.get("metrics")
    if address is not None:
        try:
            options["metrics"] = None if address == "off" else parse_address(address)
        except ValueError as error:
            where = "--metrics" if metrics is not None else f"{path}:{lines.of(None, 'metrics')}: metrics"
            raise InputError(f"{where}: {error}; use e.g. 127.0.0.1:9108, or off") from error
    return ServeConfig(cameras=cameras, path=path, **options)


def check_recipients(config: ServeConfig) -> None:
    """Read each camera's recipient file: one that is not the authority's public key (its private key above
    all) is an ``InputError`` naming the camera, before any camera starts."""
    for camera in config.cameras:
        try:
            load_recipient(camera.recipient)
        except InputError as error:
            raise InputError(f"{config.path}: camera {camera.camera_id!r}: {error}") from error


def _path(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _camera_id_from(source: str) -> str:
    """A valid id from any source name (as ``sealshot.runner.camera_id_for`` does; a URL gives its host, port and path)."""
    stem = source.split("://", 1)[1].split("?")[0] if "://" in source else Path(source).stem
    return fit_camera_id(NOT_IN_CAMERA_ID.sub("-", stem).strip("-") or "camera", source)

