"""`sealshot eval erc` on a user's own LFW-layout folder: no pairs.txt, identity folders at the top, any image format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from sealshot.recognize import installed_comparators

PEOPLE = ("Abdullah_Gul", "Alejandro_Toledo", "Alvaro_Uribe")


def _lfw_layout_folder(lfw_dir: Path, root: Path) -> Path:
    """Six images each of three people, identity folders directly under ``root``, half of them re-encoded as grey PGM."""
    for person in PEOPLE:
        (root / person).mkdir(parents=True)
        for k, source in enumerate(sorted((lfw_dir / "images" / person).glob("*.jpg"))[:6]):
            image = cv2.imread(str(source))
            if k % 2:
                cv2.imwrite(str(root / person / f"{source.stem}.pgm"), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
            else:
                cv2.imwrite(str(root / person / source.name), image)
    return root


def _sealshot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sealshot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(set(installed_comparators()) != {"facenet", "dlib"}, reason="the evaluate extra (FaceNet, dlib) is not installed")
def test_eval_erc_on_a_folder_without_pairs_txt(lfw_dir: Path, tmp_path: Path) -> None:
    folder = _lfw_layout_folder(lfw_dir, tmp_path / "mine")
    result = _sealshot(
        "eval", "erc", "--lfw", str(folder), "--methods", "size,sharpness", "--out", str(tmp_path / "erc"),
        "--cache", str(tmp_path / "cache"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    erc = json.loads((tmp_path / "erc" / "erc.json").read_text())
    assert erc["pool"]["images"] == 18 and erc["pool"]["has_pairs"] is False and erc["faces_found"] >= 16
    assert erc["accuracy"] == {}
    for comparator in ("facenet", "dlib"):
        assert set(erc["erc"][comparator]) == {"large"}
        assert erc["selection"][comparator]["trials"] >= 16
        assert set(erc["selection"][comparator]["methods"]) == {"size", "sharpness", "RANDOM"}
    assert "no View 2" in (tmp_path / "erc" / "erc.md").read_text()


def test_eval_erc_names_a_folder_without_identities(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = _sealshot("eval", "erc", "--lfw", str(tmp_path / "empty"), "--methods", "size", "--out", str(tmp_path / "erc"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no identity folders" in result.stderr
