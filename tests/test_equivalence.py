"""What a user sees is unchanged by refactoring: ``run``, ``score`` and ``eval erc`` against a recorded reference.

The reference ``tests/golden/equivalence.json`` was recorded with ``bench/equivalence.py --record``
before the package was restructured (issue 10); any change to sealed tracks, scores or ERC tables fails here.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO_ROOT, shared_path

pytestmark = pytest.mark.slow


def _equivalence_module():
    spec = importlib.util.spec_from_file_location("equivalence", REPO_ROOT / "bench" / "equivalence.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_score_and_erc_match_the_recorded_reference() -> None:
    shared_path("lfw", "pairs.txt")
    pytest.importorskip("dlib", reason="the ERC reference uses the dlib comparator (the evaluate extra)")
    equivalence = _equivalence_module()
    expected = json.loads((REPO_ROOT / "tests" / "golden" / "equivalence.json").read_text())
    found = equivalence.differences(expected, equivalence.record())
    assert not found, "\n".join(found[:30])


def test_the_comparison_itself_notices_a_change() -> None:
    equivalence = _equivalence_module()
    reference = {"run": [{"track_id": 1, "chosen_quality": -3897.9454216989197, "chosen_frame": 20}], "score": {"vae": [{"quality": "12.5"}]}}
    assert equivalence.differences(reference, json.loads(json.dumps(reference))) == []
    assert equivalence.differences(reference, reference | {"run": [{"track_id": 1, "chosen_quality": -3898.5, "chosen_frame": 20}]})
    assert equivalence.differences(reference, reference | {"score": {"vae": [{"quality": "12.51"}]}})
    # Another CPU's last bits (bench/equivalence.py, ABSOLUTE_TOLERANCE) are no change.
    assert not equivalence.differences(reference, reference | {"run": [{"track_id": 1, "chosen_quality": -3897.92, "chosen_frame": 20}]})
    assert not equivalence.differences({"q": 0.175122}, {"q": 0.174887})
    assert equivalence.differences(reference, reference | {"run": [{"track_id": 2, "chosen_quality": -3897.9454216989197, "chosen_frame": 20}]})
    assert equivalence.differences(reference, reference | {"score": {"vae": [{"quality": "12.6"}]}})
    assert equivalence.differences(reference, reference | {"run": []})


def test_a_byte_of_png_or_a_swap_of_near_tied_scores_is_no_change_but_more_is() -> None:
    equivalence = _equivalence_module()
    ratio = {"score": {"vae-ratio": [{"quality": "-1883.55", "quality_0_100": "88.3"}]}}
    one_byte_off = {"score": {"vae-ratio": [{"quality": "-1877.97", "quality_0_100": "88.4"}]}}
    assert not equivalence.differences(ratio, one_byte_off)
    assert equivalence.differences(ratio, {"score": {"vae-ratio": [{"quality": "-1865.0", "quality_0_100": "88.3"}]}})
    # Each field has its own tolerance: the calibrated value may not move as far as the score in nats.
    assert equivalence.differences(ratio, {"score": {"vae-ratio": [{"quality": "-1883.55", "quality_0_100": "89.3"}]}})
    # The wider tolerance is only vae-ratio's: the same move of a VAE log RP is a change.
    assert equivalence.differences({"score": {"vae": [{"quality": "-1883.55"}]}}, {"score": {"vae": [{"quality": "-1877.97"}]}})
    curve = "/erc/erc/dlib/large/fmr0.001/curves/cr-distilled"
    erc = {"erc": {"erc": {"dlib": {"large": {"fmr0.001": {"curves": {"cr-distilled": {"fnmr": [0.0330], "pauc_30": 1.520}}}}}}}}
    swapped = json.loads(json.dumps(erc).replace("0.033", "0.0274").replace("1.52", "1.4958"))
    assert not equivalence.differences(erc, swapped)
    assert equivalence.differences(erc, json.loads(json.dumps(erc).replace("0.033", "0.05")))
    assert equivalence.differences(erc, json.loads(json.dumps(erc).replace("1.52", "1.40")))
    assert equivalence.tolerance(f"{curve}/thresholds[3]") == (equivalence.RELATIVE_TOLERANCE, equivalence.ABSOLUTE_TOLERANCE)
