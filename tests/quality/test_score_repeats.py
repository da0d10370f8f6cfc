"""Scores repeat exactly: `sealshot score` twice on the same images gives byte-identical CSVs for every method,
even with another thread count in between (SER-FIQ once differed in the 6th digit from run to run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from sealshot.cli import app
from sealshot.quality import available


@pytest.fixture(scope="module")
def two_faces(lfw_dir: Path) -> list[str]:
    return [str(sorted((lfw_dir / "images" / person).glob("*.jpg"))[0]) for person in ("Aaron_Peirsol", "Alvaro_Uribe")]


@pytest.mark.parametrize("method", available())
def test_score_twice_gives_byte_identical_csv(method: str, two_faces: list[str], tmp_path: Path) -> None:
    outputs = []
    threads = torch.get_num_threads()
    try:
        for run, thread_count in enumerate((1, 2)):
            torch.set_num_threads(thread_count)
            out = tmp_path / f"run{run}.csv"
            result = CliRunner().invoke(app, ["score", *two_faces, "--quality", method, "--out", str(out)])
            assert result.exit_code == 0, result.output
            outputs.append(out.read_bytes())
    finally:
        torch.set_num_threads(threads)
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 3
