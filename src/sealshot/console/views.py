"""Pictures and summaries for the pages, computed from metadata only (no pixels)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Sequence

from markupsafe import Markup

from sealshot.vault.store import IndexRow

PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568")


def utc(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class CameraHealth:
    camera_id: str
    snapshots: int
    first_seen_utc: float
    last_seen_utc: float
    last_sealed_utc: float
    registered: bool

    @property
    def status(self) -> str:
        if not self.registered:
            return "not in the verified log"
        quiet_h = (time.time() - self.last_sealed_utc) / 3600
        return "sealing" if quiet_h < 24 else f"quiet for {quiet_h / 24:.0f} days"


def camera_health(rows: Sequence[IndexRow], registered: set[str]) -> list[CameraHealth]:
    by_camera: dict[str, list[IndexRow]] = {}
    for row in rows:
        by_camera.setdefault(row.camera_id, []).append(row)
    return [
        CameraHealth(camera, len(own), min(r.seen_at_utc for r in own), max(r.seen_at_utc for r in own),
                     max(r.sealed_at_utc for r in own), camera in registered)  # fmt: skip
        for camera, own in sorted(by_camera.items())
    ]


def counts_per_day(rows: Sequence[IndexRow]) -> list[tuple[str, int]]:
    return sorted(Counter(day(row.seen_at_utc) for row in rows).items())


@dataclass(frozen=True)
class PurgePlan:
    due_now: list[IndexRow]  # what `purge` run now deletes
    next_expiry_utc: float | None  # when the next snapshot not yet due expires
    next_batch: list[IndexRow]  # the snapshots expiring on that day


def purge_plan(rows: Sequence[IndexRow], retention_days: float, now: float | None = None) -> PurgePlan:
    now = time.time() if now is None else now
    keep_s = retention_days * 86400.0
    due = [row for row in rows if row.seen_at_utc < now - keep_s]
    later = sorted((row for row in rows if row.seen_at_utc >= now - keep_s), key=lambda r: r.seen_at_utc)
    if not later:
        return PurgePlan(due, None, [])
    first = later[0].seen_at_utc + keep_s
    batch = [row for row in later if day(row.seen_at_utc + keep_s) == day(first)]
    return PurgePlan(due, first, batch)


def timeline_svg(rows: Sequence[IndexRow], width: int = 900, lane: int = 34) -> Markup:
    """One lane per camera, one dot per sealed snapshot at its seen time."""
    cameras = sorted({row.camera_id for row in rows})
    if not rows:
        return Markup('<p class="muted">No sealed snapshots.</p>')
    start, end = min(r.seen_at_utc for r in rows), max(r.seen_at_utc for r in rows)
    span = max(end - start, 1.0)
    left, right = 130, 20
    height = lane * len(cameras) + 40
    parts = [f'<svg class="timeline" role="img" aria-label="sealed snapshots per camera over time" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for index, camera in enumerate(cameras):
        y = 20 + index * lane
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<text x="0" y="{y + 5}" font-size="13" fill="#1a202c">{escape(camera[:18])}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="#cbd5e0"/>')
        for row in rows:
            if row.camera_id == camera:
                x = left + (row.seen_at_utc - start) / span * (width - left - right)
                parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{colour}" opacity="0.8"><title>{escape(camera)} {utc(row.seen_at_utc)}</title></circle>')
    axis_y = height - 10
    parts.append(f'<text x="{left}" y="{axis_y}" font-size="11" fill="#4a5568">{utc(start)}</text>')
    parts.append(f'<text x="{width - right}" y="{axis_y}" font-size="11" fill="#4a5568" text-anchor="end">{utc(end)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def per_day_svg(counts: Sequence[tuple[str, int]], width: int = 520, bar: int = 22) -> Markup:
    """A horizontal bar per day: how many snapshots were sealed of people seen that day."""
    if not counts:
        return Markup("")
    most = max(count for _, count in counts)
    left, right = 90, 40
    height = bar * len(counts) + 8
    parts = [f'<svg class="per-day" role="img" aria-label="snapshots per day" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for index, (label, count) in enumerate(counts):
        y = 4 + index * bar
        length = max(2.0, count / most * (width - left - right))
        parts.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#1a202c">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{bar - 6}" fill="#2b6cb0"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + 15}" font-size="12" fill="#4a5568">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
