"""Structured logs: one JSON object per line on stderr, one line per event (no keys, shares or pixels)."""

from __future__ import annotations

import json
import logging
import sys
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """``{"ts": ..., "level": ..., "event": ..., "camera": ..., "message": ..., <extra fields>}``."""

    def __init__(self, camera: str | None = None) -> None:
        super().__init__()
        self.camera = camera

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "log"),
        }
        if self.camera is not None:
            line["camera"] = self.camera
        line["message"] = record.getMessage()
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and k != "event"})
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json.dumps(line, default=str)


def configure(camera: str | None = None, level: int = logging.INFO) -> None:
    """Send every log record of this process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(camera))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
