"""The operator's summaries, from metadata: what the next purge deletes and when, counts per day, the timeline."""

from __future__ import annotations

from sealshot.console.views import counts_per_day, purge_plan, timeline_svg
from sealshot.vault.store import IndexRow

DAY = 86400.0
NOW = 1_800_000_000.0


def row(snapshot_id: str, camera: str, seen: float) -> IndexRow:
    return IndexRow(snapshot_id, camera, 0, seen, seen, seen, seen, 0.5, "size", 0, f"{snapshot_id}.seal", "0" * 64, 10)


def test_purge_plan_counts_and_timeline() -> None:
    rows = [row("a", "lobby", NOW - 31 * DAY), row("b", "lobby", NOW - 29 * DAY), row("c", "door<script>", NOW - 29 * DAY + 60), row("d", "lobby", NOW - DAY)]
    plan = purge_plan(rows, retention_days=30, now=NOW)
    assert [r.snapshot_id for r in plan.due_now] == ["a"]
    assert plan.next_expiry_utc == NOW + DAY and [r.snapshot_id for r in plan.next_batch] == ["b", "c"]
    assert purge_plan([], 30, NOW).next_expiry_utc is None
    assert [count for _, count in counts_per_day(rows)] == [1, 2, 1]
    svg = str(timeline_svg(rows))
    assert svg.count("<circle") == 4 and "<script>" not in svg and "door&lt;script&gt;" in svg
