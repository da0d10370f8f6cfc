"""A warrant's scope (cameras and a time window) and the time notation the vault commands accept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sealshot.errors import InputError


def parse_time(text: str) -> float:
    """ISO-8601 (``2024-05-01T12:00:00Z``; no zone means UTC) or UNIX seconds, to UNIX seconds; a time a user
    typed, so anything else is an ``InputError`` (exit 2)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InputError(f"{text!r} is neither an ISO-8601 time nor UNIX seconds") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()


@dataclass(frozen=True)
class Scope:
    """Which snapshots a warrant covers: cameras (empty: all) and a closed time window on ``seen_at_utc``."""

    cameras: tuple[str, ...] = ()
    start_utc: float | None = None
    end_utc: float | None = None

    def __post_init__(self) -> None:
        if self.start_utc is not None and self.end_utc is not None and self.start_utc > self.end_utc:
            raise InputError(f"the scope starts ({iso(self.start_utc)}) after it ends ({iso(self.end_utc)})")

    def contains(self, camera_id: object, seen_at_utc: object) -> bool:
        if self.cameras and camera_id not in self.cameras:
            return False
        if not isinstance(seen_at_utc, (int, float)) or isinstance(seen_at_utc, bool):
            return self.start_utc is None and self.end_utc is None
        if self.start_utc is not None and seen_at_utc < self.start_utc:
            return False
        return self.end_utc is None or seen_at_utc <= self.end_utc

    def to_json(self) -> dict[str, Any]:
        return {
            "cameras": list(self.cameras),
            "from_utc": self.start_utc,
            "to_utc": self.end_utc,
            "from": iso(self.start_utc) if self.start_utc is not None else None,
            "to": iso(self.end_utc) if self.end_utc is not None else None,
        }
